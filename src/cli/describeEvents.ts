/**
 * The Events section of `hypha describe`, kubectl-style (TYPE, REASON, AT, FROM, MESSAGE): every
 * on-chain event of the deployment in order, then what is true now off-chain: why pending replicas
 * find no node (FailedScheduling, recomputed with the watcher's placement rule) and what each
 * node's agent says of its replica (image missing, exit code, OOM, a Tampered file). Pure.
 */
import { deploymentStatusName, replicaStatusName, type DeploymentEvent } from "../chain/deployments";
import { AttestedStatus } from "../chain/lifecycle";
import type { AgentReplicaStatus } from "./agentStatus";
import { formatTokens } from "./amounts";

export interface EventRow {
  type: "Normal" | "Warning";
  reason: string;
  /** "block N", or "now" for off-chain facts. */
  at: string;
  from: string;
  message: string;
}

const attestedName = (n: number) => Object.entries(AttestedStatus).find(([, v]) => v === n)?.[0] ?? String(n);

/** One row per chain event worth telling (payments are left to the escrow figures). */
export function chainEventRows(events: DeploymentEvent[]): EventRow[] {
  const rows: EventRow[] = [];
  for (const e of events) {
    const { eventName, args: a } = e;
    const at = `block ${e.blockNumber}`;
    const row = (type: EventRow["type"], reason: string, from: string, message: string) => rows.push({ type, reason, at, from, message });
    switch (eventName) {
      case "IntentSubmitted":
        row("Normal", "Submitted", "deployer", `intent signed by ${a.deployer}`);
        break;
      case "ReplicaScheduled":
        row("Normal", "Scheduled", "orchestrator", `replica ${a.replicaIndex} placed on node ${a.nodeId} (attempt ${a.attempt})`);
        break;
      case "ReplicaStatusChanged": {
        const from = replicaStatusName(Number(a.from));
        const to = replicaStatusName(Number(a.to));
        const bad = to === "Failed" || to === "Tampered";
        const reason = to === "Running" ? "Started" : to === "Pending" ? "Rescheduling" : to;
        row(
          bad ? "Warning" : "Normal",
          reason,
          a.nodeId ? `node ${a.nodeId}` : "contract",
          `replica ${a.replicaIndex} ${from} -> ${to}${to === "Pending" ? " (placed again on the next round)" : ""}`,
        );
        break;
      }
      case "Attested": {
        const s = attestedName(Number(a.status));
        row(
          s === "Failed" || s === "Tampered" ? "Warning" : "Normal",
          `Attested${s}`,
          `node ${a.nodeId}`,
          `replica ${a.replicaIndex} attempt ${a.attempt} attested ${s} by agent ${a.signer}`,
        );
        break;
      }
      case "DeploymentStatusChanged": {
        const to = deploymentStatusName(Number(a.to));
        row(to === "Failed" ? "Warning" : "Normal", to, "contract", `deployment ${deploymentStatusName(Number(a.from))} -> ${to}`);
        break;
      }
      case "JobFinalized":
        row("Normal", "QuorumReached", "contract", `job result ${a.outputHash} agreed by ${a.agreeing} replica(s)`);
        break;
      case "JobUndecided":
        row("Warning", "NoMajority", "contract", "the replicas' outputs reached no strict majority");
        break;
      case "Scaled":
        row("Normal", "Scaled", "deployer", `${a.from} -> ${a.to} replicas`);
        break;
      case "Terminated":
        row(
          "Normal",
          "Terminated",
          String(a.by),
          `${formatTokens(BigInt(a.paidToNodes as bigint))} paid to nodes, ${formatTokens(BigInt(a.refunded as bigint))} refunded`,
        );
        break;
      default:
        break;
    }
  }
  return rows;
}

/**
 * Rows for what is true now: FailedScheduling per pending replica, and the agents' messages.
 * @example nowRows(new Map([[0, "no node fits: 3 not enough cpu"]]), new Map(), new Map())
 */
export function nowRows(pending: Map<number, string>, agents: Map<number, AgentReplicaStatus | "unreachable">, nodeOf: Map<number, number>): EventRow[] {
  const rows: EventRow[] = [];
  for (const [index, reason] of [...pending].sort((x, y) => x[0] - y[0]))
    rows.push({ type: "Warning", reason: "FailedScheduling", at: "now", from: "scheduler", message: `replica ${index}: ${reason}` });
  for (const [index, s] of [...agents].sort((x, y) => x[0] - y[0])) {
    const from = `node ${nodeOf.get(index) ?? "?"} agent`;
    if (s === "unreachable")
      rows.push({ type: "Warning", reason: "AgentUnreachable", at: "now", from, message: `replica ${index}: the node's agent does not answer` });
    else if (s.message)
      rows.push({
        type: /fail|tamper|oom|missing|not found|error|exit/i.test(`${s.status} ${s.message}`) ? "Warning" : "Normal",
        reason: s.status,
        at: "now",
        from,
        message: `replica ${index}: ${s.message}${s.restarts ? ` (restarts ${s.restarts})` : ""}`,
      });
  }
  return rows;
}
