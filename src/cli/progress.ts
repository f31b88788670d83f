/**
 * `--wait`: follows a deployment on-chain and prints one line per state change until it is
 * Running (services) or Completed (jobs), or Failed / Terminated / timed out (failure).
 */
import type { Hex, PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import { ChainError } from "../chain/chainError";
import { deploymentStatusName, readDeploymentEvents, replicaStatusName, type DeploymentEvent } from "../chain/deployments";
import { AttestedStatus } from "../chain/eip712";

/**
 * One progress line for an event, or undefined for events that are not state changes.
 * @example describeEvent({ eventName: "ReplicaScheduled", args: { replicaIndex: 0, nodeId: 2, attempt: 1 }, blockNumber: 9n, ... })
 * // "block 9  replica 0 scheduled on node 2 (attempt 1)"
 */
export function describeEvent(e: DeploymentEvent): string | undefined {
  const a = e.args;
  const at = `block ${e.blockNumber}`;
  switch (e.eventName) {
    case "IntentSubmitted":
      return `${at}  intent submitted by ${a.deployer}`;
    case "DeploymentStatusChanged":
      return `${at}  deployment ${deploymentStatusName(Number(a.from))} -> ${deploymentStatusName(Number(a.to))}`;
    case "ReplicaScheduled":
      return `${at}  replica ${a.replicaIndex} scheduled on node ${a.nodeId} (attempt ${a.attempt})`;
    case "ReplicaStatusChanged":
      return `${at}  replica ${a.replicaIndex} ${replicaStatusName(Number(a.from))} -> ${replicaStatusName(Number(a.to))} (node ${a.nodeId})`;
    case "Attested": {
      const status = Object.entries(AttestedStatus).find(([, v]) => v === Number(a.status))?.[0] ?? a.status;
      return `${at}  replica ${a.replicaIndex} attested ${status} by node ${a.nodeId}`;
    }
    case "JobFinalized":
      return `${at}  job result ${a.outputHash} final (${a.agreeing} agreeing)`;
    case "Scaled":
      return `${at}  scaled ${a.from} -> ${a.to} replicas`;
    case "Terminated":
      return `${at}  terminated by ${a.by}`;
    default:
      return undefined;
  }
}

const SUCCESS = ["Running", "Completed"];
const FAILURE = new Set(["Failed", "Terminated"]);

/**
 * Polls the deployment's events and prints each new state change until a final state.
 * @example await followDeployment(pc, addresses, id, { print: console.log, timeoutMs: 300_000 })
 */
export async function followDeployment(
  publicClient: PublicClient,
  addresses: HyphaAddresses,
  id: Hex,
  opts: { print: (line: string) => void; timeoutMs: number; pollMs?: number; /** statuses that end the wait successfully (default Running, Completed) */ until?: string[] },
): Promise<string> {
  const success = new Set(opts.until ?? SUCCESS);
  const deadline = Date.now() + opts.timeoutMs;
  let seen = 0;
  let status = "Requested";
  for (;;) {
    const events = await readDeploymentEvents(publicClient, addresses, id);
    for (const e of events.slice(seen)) {
      const line = describeEvent(e);
      if (line) opts.print(line);
      if (e.eventName === "DeploymentStatusChanged") status = deploymentStatusName(Number(e.args.to));
    }
    seen = events.length;
    if (success.has(status)) return status;
    if (FAILURE.has(status)) throw new ChainError(`deployment ${id} ended ${status}`, { exitCode: 2 });
    if (Date.now() > deadline) {
      throw new ChainError(`deployment ${id} is still ${status} after ${Math.round(opts.timeoutMs / 1000)} s`, {
        exitCode: 2,
        details: "is the watcher running (hypha up / hypha watcher)? follow it with: hypha describe deployment ID",
      });
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
