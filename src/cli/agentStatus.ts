/**
 * What the agents say about a deployment's replicas right now (local status such as
 * CrashLoopBackOff, restart count): off-chain facts that `hypha describe` shows beside the on-chain
 * state. Best effort: an agent that does not answer within a second is reported as unreachable.
 */
import type { Hex } from "viem";

export interface AgentReplicaStatus {
  status: string;
  restarts: number;
  message: string | null;
}

/**
 * Asks each node's agent (`GET <endpoint>/v1/replicas`) about replicas of `id`; the result maps a
 * replica index to the latest run the agent of the node it is placed on reports.
 * @example await agentReplicaStatus(id, [{ index: 0, nodeId: 1 }], new Map([[1, "http://127.0.0.1:7801"]]))
 */
export async function agentReplicaStatus(
  id: Hex,
  replicas: Array<{ index: number; nodeId: number }>,
  endpoints: Map<number, string>,
): Promise<Map<number, AgentReplicaStatus | "unreachable">> {
  const out = new Map<number, AgentReplicaStatus | "unreachable">();
  const nodeIds = [...new Set(replicas.map((r) => r.nodeId).filter((n) => n > 0))];
  await Promise.all(
    nodeIds.map(async (nodeId) => {
      const endpoint = endpoints.get(nodeId);
      let runs: Array<{ deploymentId: string; replicaIndex: number; attempt: number; status: string; restarts: number; message: string | null }> | undefined;
      try {
        const res = endpoint ? await fetch(`${endpoint.replace(/\/+$/, "")}/v1/replicas`, { signal: AbortSignal.timeout(1_000) }) : undefined;
        runs = res?.ok ? ((await res.json()) as { replicas: typeof runs }).replicas : undefined;
      } catch {
        runs = undefined;
      }
      for (const r of replicas.filter((x) => x.nodeId === nodeId)) {
        if (!runs) {
          out.set(r.index, "unreachable");
          continue;
        }
        const latest = runs
          .filter((x) => x.deploymentId.toLowerCase() === id.toLowerCase() && x.replicaIndex === r.index)
          .sort((a, b) => b.attempt - a.attempt)[0];
        if (latest) out.set(r.index, { status: latest.status, restarts: latest.restarts, message: latest.message });
      }
    }),
  );
  return out;
}
