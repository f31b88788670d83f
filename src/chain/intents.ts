/**
 * Reads a deployment's intent back from the chain. Storage keeps only a packed summary; the full
 * intent and its signature are in the IntentSubmitted log, indexed by the deployment id.
 */
import { encodeEventTopics, getAddress, parseEventLogs, type Hex, type PublicClient } from "viem";
import { deploymentRegistryAbi } from "./abi";
import type { HyphaAddresses } from "./addresses";
import { ChainRefusedError, toChainError } from "./chainError";
import { getLogsSplitting } from "./logs";
import type { DeploymentIntent } from "./eip712";

export interface SubmittedIntent {
  intent: DeploymentIntent;
  signature: Hex;
  /** The account that sent the submitting transaction; only when asked for (`{ relayer: true }`). */
  relayer?: Hex;
  blockNumber: bigint;
  transactionHash: Hex;
}

/** First window of a search backwards from a known later block; each next window is twice as wide. */
const FIRST_WINDOW = 2048n;

/**
 * The intent submitted under `id`, with its signature and where it was recorded. Throws a
 * ChainRefusedError (errorName UnknownDeployment) naming the id when no such deployment exists.
 *
 * With `before` (a block at or after the submission, e.g. where a replica was placed), the search
 * goes backwards in windows of 2048, 4096, ... blocks, so finding a recent intent costs one small
 * eth_getLogs however long the chain is; without it, the whole range from the contracts' block.
 * @example const { intent } = await readIntent(pc, addresses, id);
 */
export async function readIntent(
  publicClient: PublicClient,
  addresses: HyphaAddresses,
  id: Hex,
  opts: { before?: bigint; relayer?: boolean } = {},
): Promise<SubmittedIntent> {
  let logs;
  try {
    const [topic] = encodeEventTopics({ abi: deploymentRegistryAbi, eventName: "IntentSubmitted" });
    const floor = BigInt(addresses.deployBlock);
    const head = await publicClient.getBlockNumber();
    let to = opts.before !== undefined && opts.before < head ? opts.before : head;
    let window = opts.before !== undefined ? FIRST_WINDOW : to - floor + 1n;
    if (window < 1n) window = 1n;
    for (;;) {
      const from = to - window + 1n > floor ? to - window + 1n : floor;
      const raw = await getLogsSplitting(publicClient, { address: addresses.deploymentRegistry, topics: [topic, id], fromBlock: from, toBlock: to });
      logs = parseEventLogs({ abi: deploymentRegistryAbi, eventName: "IntentSubmitted", logs: raw, strict: true });
      if (logs.length > 0 || from === floor) break;
      to = from - 1n;
      window *= 2n;
    }
  } catch (err) {
    throw toChainError(err, `reading the intent of deployment ${id}`);
  }
  const log = logs[0];
  if (!log) throw new ChainRefusedError(`unknown deployment ${id}: no IntentSubmitted event on this chain`, { errorName: "UnknownDeployment" });
  const raw = log.args.intent!;
  // The relayer is the submitting transaction's sender: one more read, done only when asked for.
  let relayer: Hex | undefined;
  if (opts.relayer) {
    try {
      relayer = getAddress((await publicClient.getTransaction({ hash: log.transactionHash! })).from);
    } catch (err) {
      throw toChainError(err, `reading the transaction that submitted deployment ${id}`);
    }
  }
  return {
    intent: { ...raw } as DeploymentIntent,
    signature: log.args.signature as Hex,
    ...(relayer ? { relayer } : {}),
    blockNumber: log.blockNumber!,
    transactionHash: log.transactionHash!,
  };
}
