/**
 * Reads a deployment's intent back from the chain. Storage keeps only a packed summary; the full
 * intent and its signature are in the IntentSubmitted log, indexed by the deployment id.
 */
import { encodeEventTopics, parseEventLogs, type Hex, type PublicClient } from "viem";
import { deploymentRegistryAbi } from "./abi";
import type { HyphaAddresses } from "./addresses";
import { ChainError, toChainError } from "./chainError";
import { getLogsSplitting } from "./logs";
import type { DeploymentIntent } from "./eip712";

export interface SubmittedIntent {
  intent: DeploymentIntent;
  signature: Hex;
  relayer: Hex;
  blockNumber: bigint;
  transactionHash: Hex;
}

/**
 * The intent submitted under `id`, with its signature and where it was recorded. Throws a
 * ChainError (exit code 1) naming the id when no such deployment exists.
 * @example const { intent } = await readIntent(pc, addresses, id);
 */
export async function readIntent(publicClient: PublicClient, addresses: HyphaAddresses, id: Hex): Promise<SubmittedIntent> {
  let logs;
  try {
    const [topic] = encodeEventTopics({ abi: deploymentRegistryAbi, eventName: "IntentSubmitted" });
    const raw = await getLogsSplitting(publicClient, {
      address: addresses.deploymentRegistry,
      topics: [topic, id],
      fromBlock: addresses.deployBlock,
      toBlock: await publicClient.getBlockNumber(),
    });
    logs = parseEventLogs({ abi: deploymentRegistryAbi, eventName: "IntentSubmitted", logs: raw, strict: true });
  } catch (err) {
    throw toChainError(err, `reading the intent of deployment ${id}`);
  }
  const log = logs[0];
  if (!log) throw new ChainError(`unknown deployment ${id}: no IntentSubmitted event on this chain`, { exitCode: 1 });
  const raw = log.args.intent!;
  return {
    intent: { ...raw } as DeploymentIntent,
    signature: log.args.signature as Hex,
    relayer: log.args.relayer as Hex,
    blockNumber: log.blockNumber!,
    transactionHash: log.transactionHash!,
  };
}
