/**
 * Waits for a sent transaction's receipt by polling, and tells a transaction still pending at the
 * deadline from one the chain does not know (dropped, or never broadcast): the one wait both the
 * sender (after each send) and the outbox's resume (after a restart) use.
 */
import type { Hex, PublicClient, TransactionReceipt } from "viem";

/** Mined (with its receipt), still pending when the time ran out, or unknown to the chain. */
export type ReceiptWait = { state: "mined"; receipt: TransactionReceipt } | { state: "pending" } | { state: "unknown" };

/**
 * Polls every `pollMs` until the receipt comes, the node no longer knows the transaction, or
 * `timeoutMs` passed. RPC errors count as "not yet" (the next poll asks again).
 * @example const w = await awaitReceipt(client, hash, { timeoutMs: 30_000, pollMs: 100 }); if (w.state === "mined") w.receipt.status
 */
export async function awaitReceipt(client: PublicClient, hash: Hex, opts: { timeoutMs: number; pollMs: number }): Promise<ReceiptWait> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const receipt = await client.getTransactionReceipt({ hash }).catch(() => null);
    if (receipt) return { state: "mined", receipt };
    const pending = await client.getTransaction({ hash }).catch(() => null);
    if (!pending) return { state: "unknown" };
    if (Date.now() > deadline) return { state: "pending" };
    await new Promise((r) => setTimeout(r, opts.pollMs));
  }
}
