/**
 * eth_getLogs over a block range that a public RPC may refuse to serve in one call: asks for the
 * whole range first and, when the node says the range or result is too large, splits it in halves
 * until each part is served. Local chains answer the first call. The one getLogs splitter: the
 * watcher's ingest fetches its ranges through it too (and sizes its next range from what was
 * refused, ingest/rangeSize.ts). Logs come back as the node sent them with the three quantities
 * the callers read made numbers (viem's formatLog copies every log once more, a cold start's
 * history is a lot of logs).
 */
import type { Address, Hex, Log, PublicClient } from "viem";

export interface LogQuery {
  address: Address | Address[];
  /** topics[0..3]; null matches anything, a list matches any of its topics. */
  topics?: (Hex | Hex[] | null)[];
  fromBlock: bigint;
  toBlock: bigint;
}

const TOO_LARGE = /range|too many|limit|exceed|10000|query returned more than|response size/i;

/** Normalizes a raw JSON-RPC log (hex quantities) into viem's Log shape. */
/** Makes a raw JSON-RPC log's quantities numbers, in place (the object is the reply's own). */
function normalizeLog(l: Log): Log {
  const raw = l as unknown as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === "string" ? BigInt(v) : (v as bigint));
  raw.blockNumber = num(raw.blockNumber);
  raw.logIndex = Number(num(raw.logIndex));
  raw.transactionIndex = Number(num(raw.transactionIndex));
  return l;
}

export interface SplitOptions {
  /** Ranges spanning fewer blocks than this are not split further (default 1). */
  minSpan?: bigint;
  /** Told the span (blocks) of each range the node refused as too large. */
  onRefused?: (span: bigint) => void;
}

/**
 * All logs matching `q`, oldest first, splitting the range when the node refuses it as too large.
 * @example const logs = await getLogsSplitting(pc, { address, topics: [null, id], fromBlock: 0n, toBlock: await pc.getBlockNumber() })
 */
export async function getLogsSplitting(publicClient: PublicClient, q: LogQuery, opts: SplitOptions = {}): Promise<Log[]> {
  try {
    const logs = (await publicClient.request({
      method: "eth_getLogs",
      params: [{ address: q.address, topics: q.topics, fromBlock: `0x${q.fromBlock.toString(16)}`, toBlock: `0x${q.toBlock.toString(16)}` }],
    })) as unknown as Log[];
    for (const l of logs) normalizeLog(l);
    return logs;
  } catch (err) {
    const message = collectMessages(err);
    if (q.toBlock - q.fromBlock < (opts.minSpan ?? 1n) || !TOO_LARGE.test(message)) throw err;
    opts.onRefused?.(q.toBlock - q.fromBlock + 1n);
    const mid = q.fromBlock + (q.toBlock - q.fromBlock) / 2n;
    const left = await getLogsSplitting(publicClient, { ...q, toBlock: mid }, opts);
    const right = await getLogsSplitting(publicClient, { ...q, fromBlock: mid + 1n }, opts);
    return left.concat(right);
  }
}

function collectMessages(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; e && i < 10; i++) {
    const x = e as { message?: string; details?: string; cause?: unknown };
    parts.push(String(x.message ?? ""), String(x.details ?? ""));
    e = x.cause;
  }
  return parts.join(" ");
}
