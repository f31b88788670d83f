/**
 * The legal lifecycle moves of deployments and replicas (DESIGN.md "Lifecycle"), and a pure check
 * that a sequence of status-change events follows them without gaps.
 */
import { DeploymentStatus, ReplicaStatus, deploymentMoves, replicaMoves } from "../chain/lifecycle";

export { deploymentMoves, replicaMoves };

export interface StatusChange {
  from: number;
  to: number;
  /** Where it happened, for messages ("block 12"). */
  where: string;
}

/**
 * Problems in a sequence of status changes: an illegal move, or a `from` that is not the previous
 * `to` (a missing event). Empty when the history is legal.
 * @example checkSequence("deployment", [{ from: 0, to: 1, where: "block 5" }], 0) // []
 */
export function checkSequence(kind: "deployment" | "replica", changes: StatusChange[], initial: number): string[] {
  const names = kind === "deployment" ? DeploymentStatus : ReplicaStatus;
  const moves = (kind === "deployment" ? deploymentMoves : replicaMoves) as Record<string, readonly string[]>;
  const problems: string[] = [];
  let current = initial;
  for (const c of changes) {
    const from = names[c.from] ?? `#${c.from}`;
    const to = names[c.to] ?? `#${c.to}`;
    if (c.from !== current) problems.push(`${c.where}: ${from} -> ${to}, but it was ${names[current] ?? current} (an event is missing)`);
    if (!(moves[from] ?? []).includes(to)) problems.push(`${c.where}: ${from} -> ${to} is not a legal ${kind} transition`);
    current = c.to;
  }
  return problems;
}
