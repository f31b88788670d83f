/**
 * What happened to a deployment, told from chain data alone: the contract's status says only
 * "Terminated" for a job that reached its quorum, a deployment that failed, one its deployer
 * deleted and one whose budget ran out; the status history, the Terminated event's `by` and
 * amounts, the job result and the replicas' last states tell them apart. Pure: the caller reads
 * the events and views (see src/api/deploymentResource.ts); CLI, API and console print the result.
 */
import { zeroHash, type Address, type Hex } from "viem";
import type { DeploymentEvent } from "./deployments";
import { DeploymentStatus, ReplicaStatus } from "./lifecycle";
import { deploymentStatusMoves } from "./deploymentStatusMoves";

/**
 * The phase a user sees. In progress: Requested, Scheduled, Running. Ended: Succeeded (a job's
 * result reached its quorum), Failed (a replica failed with no retries left, or a job's replicas
 * finished without a majority), Deleted (terminated by its deployer), OutOfBudget (its escrow was
 * spent and someone settled it), Cancelled (the intent was cancelled before submission).
 */
export const DEPLOYMENT_PHASES = ["Unknown", "Requested", "Scheduled", "Running", "Succeeded", "Failed", "Deleted", "OutOfBudget", "Cancelled"] as const;
export type DeploymentPhase = (typeof DEPLOYMENT_PHASES)[number];

/** Phases after which nothing more happens. */
export const ENDED_PHASES: ReadonlySet<DeploymentPhase> = new Set(["Succeeded", "Failed", "Deleted", "OutOfBudget", "Cancelled"]);

/** kubectl-style reasons (CamelCase) that go with a phase. */
export type OutcomeReason =
  | "Submitted"
  | "Placing"
  | "Starting"
  | "AllReplicasRunning"
  | "JobRunning"
  | "QuorumReached"
  | "ReplicaFailed"
  | "ReplicaTampered"
  | "NoMajority"
  | "DeletedByDeployer"
  | "BudgetExhausted"
  | "Cancelled"
  | "NotFound";

export interface DeploymentOutcome {
  phase: DeploymentPhase;
  reason: OutcomeReason;
  /** One sentence for people. */
  message: string;
  /** The contract's own status name (Requested ... Terminated, Failed). */
  chainStatus: string;
  /** Set once the deployment was terminated: who did it and where the escrow went. */
  terminated?: { by: Address; paidToNodes: bigint; refunded: bigint; block: bigint; transactionHash: Hex };
}

/** A DeploymentEvent without its log index (this module reads no more), still a union on eventName. */
export type OutcomeEvent = DeploymentEvent extends infer E ? (E extends DeploymentEvent ? Omit<E, "logIndex"> : never) : never;

export interface OutcomeInput {
  /** On-chain status number (DeploymentStatus index). */
  status: number;
  /** 0 service, 1 job. */
  kind: number;
  deployer: Address;
  quorum: number;
  /** Desired replica count and how many are placed / running now. */
  replicas: number;
  placed: number;
  running: number;
  /** jobResult(id): zero until a quorum agreed, and for a single-replica job (its result is in JobFinalized). */
  jobResult?: Hex;
  /** Replica status numbers now (for a job without a majority). */
  replicaStatuses?: number[];
  /** The deployment's events in chain order (only DeploymentStatusChanged, Terminated, JobFinalized, JobUndecided and ReplicaStatusChanged are read). */
  events: OutcomeEvent[];
}

const statusName = (n: number): string => DeploymentStatus[n] ?? `Unknown(${n})`;
const replicaName = (n: number) => ReplicaStatus[n] ?? `Unknown(${n})`;

/**
 * Derives what happened to a deployment.
 * @example deploymentOutcome({ status: 5, kind: 1, deployer, quorum: 2, replicas: 3, placed: 0, running: 0, jobResult: "0xb7a5…", events }).phase // "Succeeded"
 */
export function deploymentOutcome(input: OutcomeInput): DeploymentOutcome {
  const chainStatus = statusName(input.status);
  const terminated = terminatedOf(input.events);
  // The status the deployment was in when it ended (Terminated keeps the one before it).
  const endedFrom = chainStatus === "Terminated" ? statusBefore(input.events, "Terminated") : chainStatus;
  const base = { chainStatus, ...(terminated ? { terminated } : {}) };
  const finalized = lastEvent(input.events, "JobFinalized");
  const hasResult = (input.jobResult !== undefined && input.jobResult !== zeroHash) || finalized !== undefined;

  if (chainStatus === "None") return { ...base, phase: "Unknown", reason: "NotFound", message: "no deployment with this id on this chain" };
  if (chainStatus === "Cancelled") return { ...base, phase: "Cancelled", reason: "Cancelled", message: "the intent was cancelled before it was submitted" };
  if (input.kind === 1 && (endedFrom === "Completed" || hasResult)) {
    const result = finalized?.args.outputHash ?? input.jobResult!;
    const agreeing = finalized ? ` by ${finalized.args.agreeing} replica(s)` : "";
    return {
      ...base,
      phase: "Succeeded",
      reason: "QuorumReached",
      message: `job result ${result} agreed${agreeing} (quorum ${input.quorum})${settled(terminated)}`,
    };
  }
  if (endedFrom === "Failed" && lastEvent(input.events, "JobUndecided")) {
    return {
      ...base,
      phase: "Failed",
      reason: "NoMajority",
      message: `the replicas' outputs reached no strict majority (quorum ${input.quorum})${settled(terminated)}`,
    };
  }
  if (endedFrom === "Failed") {
    const failed = lastReplicaFailure(input.events);
    const tampered = failed?.to === "Tampered";
    const what = failed
      ? `replica ${failed.index} ${tampered ? "was Tampered" : "failed"} on node ${failed.nodeId} with no retries left`
      : "a replica failed with no retries left";
    return { ...base, phase: "Failed", reason: tampered ? "ReplicaTampered" : "ReplicaFailed", message: `${what}${settled(terminated)}` };
  }
  if (input.kind === 1 && !hasResult && jobWithoutMajority(input)) {
    return {
      ...base,
      phase: "Failed",
      reason: "NoMajority",
      message: `every replica finished but no ${input.quorum} agreed on one output${settled(terminated)}`,
    };
  }
  if (chainStatus === "Terminated") {
    const by = terminated?.by;
    if (by && by.toLowerCase() === input.deployer.toLowerCase()) {
      return { ...base, phase: "Deleted", reason: "DeletedByDeployer", message: `deleted by its deployer while ${endedFrom}${settled(terminated)}` };
    }
    // The contract lets anyone but the deployer terminate an active deployment only once its budget is spent (run time owed reached the escrow).
    return {
      ...base,
      phase: "OutOfBudget",
      reason: "BudgetExhausted",
      message: `the budget was spent while ${endedFrom}; settled by ${by ?? "someone"}${settled(terminated)}`,
    };
  }
  if (chainStatus === "Requested")
    return { ...base, phase: "Requested", reason: input.placed > 0 ? "Placing" : "Submitted", message: `${input.placed}/${input.replicas} replica(s) placed` };
  if (chainStatus === "Scheduled") return { ...base, phase: "Scheduled", reason: "Starting", message: `${input.running}/${input.replicas} replica(s) running` };
  return {
    ...base,
    phase: "Running",
    reason: input.kind === 1 ? "JobRunning" : "AllReplicasRunning",
    message: input.kind === 1 ? `job running, waiting for ${input.quorum} matching result(s)` : `${input.running}/${input.replicas} replica(s) running`,
  };
}

function settled(t: DeploymentOutcome["terminated"]): string {
  return t ? `; settled at block ${t.block}: ${t.paidToNodes} wei paid to nodes, ${t.refunded} wei refunded` : "";
}

function lastEvent<N extends OutcomeEvent["eventName"]>(events: OutcomeEvent[], name: N): Extract<OutcomeEvent, { eventName: N }> | undefined {
  const isIt = (e: OutcomeEvent): e is Extract<OutcomeEvent, { eventName: N }> => e.eventName === name;
  for (let i = events.length - 1; i >= 0; i--) if (isIt(events[i])) return events[i] as Extract<OutcomeEvent, { eventName: N }>;
  return undefined;
}

function terminatedOf(events: OutcomeEvent[]): DeploymentOutcome["terminated"] {
  const e = lastEvent(events, "Terminated");
  if (!e) return undefined;
  return {
    by: e.args.by,
    paidToNodes: e.args.paidToNodes,
    refunded: e.args.refunded,
    block: e.blockNumber,
    transactionHash: e.transactionHash,
  };
}

/** The `from` of the last status change into `to` (DeploymentStatusChanged, JobFinalized or Terminated). */
function statusBefore(events: OutcomeEvent[], to: string): string {
  const last = deploymentStatusMoves(events)
    .filter((m) => statusName(m.to) === to)
    .at(-1);
  return last ? statusName(last.from) : "Running";
}

function lastReplicaFailure(events: OutcomeEvent[]): { index: number; nodeId: number; to: string } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.eventName !== "ReplicaStatusChanged") continue;
    const to = replicaName(e.args.to);
    if (to === "Failed" || to === "Tampered") return { index: e.args.replicaIndex, nodeId: e.args.nodeId, to };
  }
  return undefined;
}

/** A job none of whose replicas can still report (all Completed or ended) and no result. */
function jobWithoutMajority(input: OutcomeInput): boolean {
  const statuses = input.replicaStatuses;
  if (!statuses || statuses.length === 0) return false;
  const completed = statuses.filter((s) => replicaName(s) === "Completed").length;
  const open = statuses.filter((s) => ["Pending", "Scheduled", "Running"].includes(replicaName(s))).length;
  return open === 0 && completed > 0;
}

/**
 * The outcome a wait ends on, judged after each event in order (a batch may hold Completed and
 * Terminated together): success for the statuses in `until`, failure for any ended phase that is
 * not a success, undefined while in progress.
 * @example waitVerdict(outcome, ["Running"]) // "success" | "failure" | undefined
 */
export function waitVerdict(outcome: DeploymentOutcome, until: readonly string[]): "success" | "failure" | undefined {
  if (until.includes(outcome.phase)) return "success";
  if (ENDED_PHASES.has(outcome.phase)) return "failure";
  return undefined;
}
