/**
 * `--wait`: follows a deployment on-chain and prints one line per state change until it is
 * Running (services) or Succeeded (jobs), or ended otherwise (Failed, Deleted, OutOfBudget: exit
 * code 3 with the reason) or timed out (exit code 2).
 */
import type { Hex, PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import { deploymentOutcome, waitVerdict, type DeploymentOutcome } from "../chain/deploymentOutcome";
import { deploymentStatusMoves } from "../chain/deploymentStatusMoves";
import { deploymentStatusName, readDeploymentEvents, readReplicas, replicaStatusName, type DeploymentEvent } from "../chain/deployments";
import { AttestedStatus } from "../chain/lifecycle";
import { HyphaError } from "../errors";
import { formatTokens } from "./amounts";

/** The deployment waited for ended otherwise (failed, deleted, out of budget) or can never be placed (the CLI exits 3). */
export class DeploymentEndedError extends HyphaError {
  override name = "DeploymentEndedError";
}

/** The deployment did not reach what was waited for in time (the CLI exits 2: is the watcher running?). */
export class WaitTimeoutError extends HyphaError {
  override name = "WaitTimeoutError";
}

/**
 * One progress line for an event, or undefined for events that are not state changes.
 * @example describeEvent({ eventName: "ReplicaScheduled", args: { replicaIndex: 0, nodeId: 2, attempt: 1 }, blockNumber: 9n, ... })
 * // "block 9  replica 0 scheduled on node 2 (attempt 1)"
 */
export function describeEvent(e: DeploymentEvent): string | undefined {
  const { eventName, args: a } = e;
  const at = `block ${e.blockNumber}`;
  switch (eventName) {
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
      return `${at}  terminated by ${a.by} (${formatTokens(BigInt(a.paidToNodes as bigint))} paid to nodes, ${formatTokens(BigInt(a.refunded as bigint))} refunded)`;
    default:
      return undefined;
  }
}

/**
 * What the events up to and including `upTo` say happened (the status at that point, the intent's
 * kind, deployer and quorum from its IntentSubmitted event).
 */
export function outcomeAt(events: DeploymentEvent[], upTo: number, replicaStatuses?: number[]): DeploymentOutcome {
  const prefix = events.slice(0, upTo + 1);
  const submitted = prefix.find((e) => e.eventName === "IntentSubmitted");
  const intent: { kind?: number; quorum?: number; replicas?: number } = submitted?.args.intent ?? {};
  // DeploymentStatusChanged, JobFinalized (-> Completed) and Terminated (-> Terminated) tell the status
  const status = deploymentStatusMoves(prefix).at(-1)?.to ?? (submitted ? 1 : 0);
  const replicaNow = new Map<number, string>();
  for (const e of prefix) {
    if (e.eventName === "ReplicaStatusChanged") replicaNow.set(Number(e.args.replicaIndex), replicaStatusName(Number(e.args.to)));
  }
  const states = [...replicaNow.values()];
  return deploymentOutcome({
    status,
    kind: Number(intent.kind ?? 0),
    deployer: (submitted?.args.deployer ?? "0x0000000000000000000000000000000000000000") as Hex,
    quorum: Number(intent.quorum ?? 1),
    replicas: Number(intent.replicas ?? 0),
    placed: states.filter((x) => x === "Scheduled" || x === "Running").length,
    running: states.filter((x) => x === "Running").length,
    replicaStatuses,
    events: prefix,
  });
}

/**
 * Reads the deployment's events (after each block when `sleep` is a HeadSleeper's, else every `pollMs`) and prints each new state change until the deployment reaches a
 * phase in `until` (default Running for a service, Succeeded for a job) or ends otherwise. Each
 * event is judged in order, so a job that reached its quorum and was settled in the same batch
 * (Completed, then Terminated) is a success. An ended deployment that did not reach `until`
 * throws with its reason (exit code 3); a timeout throws with exit code 2.
 * @example const outcome = await followDeployment(pc, addresses, id, { print: console.log, timeoutMs: 300_000 })
 */
export async function followDeployment(
  publicClient: PublicClient,
  addresses: HyphaAddresses,
  id: Hex,
  opts: {
    print: (line: string) => void;
    timeoutMs: number;
    pollMs?: number;
    /** How to wait between reads (default: `pollMs`); a HeadSleeper ends it at the next block. */
    sleep?: (ms: number) => Promise<void>;
    /** phases that end the wait successfully */
    until?: string[];
    label?: string;
    /** Asked (at most every 3 s) while replicas wait for a node: a reason ends the wait (FailedScheduling, exit 3). */
    unschedulable?: () => Promise<string | undefined>;
  },
): Promise<DeploymentOutcome> {
  const deadline = Date.now() + opts.timeoutMs;
  let nextFitCheck = 0;
  const label = opts.label ? `${opts.label} (${id})` : id;
  let seen = 0;
  let last: DeploymentOutcome | undefined;
  for (;;) {
    // Events and replicas read at one block: replicas read a block later than the events could
    // look all finished while the event that finalized them is not in the list yet.
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const events = await readDeploymentEvents(publicClient, addresses, id, head);
    const submitted = events.find((e) => e.eventName === "IntentSubmitted");
    const isJob = Number((submitted?.args.intent as { kind?: number } | undefined)?.kind ?? 0) === 1;
    const until = opts.until ?? (isJob ? ["Succeeded"] : ["Running"]);
    for (let i = seen; i < events.length; i++) {
      const line = describeEvent(events[i]);
      if (line) opts.print(line);
      last = outcomeAt(events, i);
      const verdict = waitVerdict(last, until);
      if (verdict === "success") return last;
      if (verdict === "failure") throw endedError(label, last, until);
    }
    seen = events.length;
    if (isJob && last?.phase === "Running") {
      // A job whose replicas all finished without a majority ends without a further event.
      const statuses = (await readReplicas(publicClient, addresses, id, head)).map((r) => r.status);
      const now = outcomeAt(events, events.length - 1, statuses);
      if (waitVerdict(now, until) === "failure") throw endedError(label, now, until);
    }
    if (opts.unschedulable && (last?.phase ?? "Requested") === "Requested" && Date.now() >= nextFitCheck) {
      nextFitCheck = Date.now() + 3_000;
      const why = await opts.unschedulable();
      if (why) {
        throw new DeploymentEndedError(`deployment ${label} cannot be placed (FailedScheduling): ${why}`, {
          details:
            "no registered node has the capacity, price and approved measurement it needs, even when empty; it stays Requested (its escrow is refunded when you delete it: hypha delete deployment NAME)",
        });
      }
    }
    if (Date.now() > deadline) {
      throw new WaitTimeoutError(`deployment ${label} is still ${last?.phase ?? "not submitted"} after ${Math.round(opts.timeoutMs / 1000)} s`, {
        details: "is the watcher running (hypha up / hypha watcher)? follow it with: hypha describe deployment ID",
      });
    }
    const pollMs = opts.pollMs ?? 500;
    await (opts.sleep ? opts.sleep(pollMs) : new Promise((r) => setTimeout(r, pollMs)));
  }
}

function endedError(label: string, o: DeploymentOutcome, until: string[]): HyphaError {
  return new DeploymentEndedError(`deployment ${label} ended ${o.phase} (${o.reason}): ${o.message}`, { details: `waited for ${until.join(" or ")}` });
}
