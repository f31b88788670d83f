/**
 * The one JSON shape of a node, for `hypha get nodes -o json|yaml` and GET /v1/nodes alike: the
 * on-chain state as a name (Active, Unbonding, Jailed), amounts as decimal wei strings, and the
 * agent's liveness next to it (its /healthz answered just now, or not), since a node the chain
 * calls Active may have no agent running.
 */
import type { Address, Hex, PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import { listNodes, type NodeView } from "../chain/nodes";

export interface NodeResource {
  id: number;
  state: "Active" | "Unbonding" | "Jailed";
  operator: Address;
  agent: Address;
  endpoint: string;
  /** Whether the agent's GET /healthz answered within the probe timeout, and when that was checked. */
  liveness: { reachable: boolean; checkedAt: string };
  capacity: { cpuMillis: number; memoryMiB: number; diskMiB: number; slots: number };
  free: { cpuMillis: number; memoryMiB: number; diskMiB: number; slots: number };
  placed: number;
  pricePerSecond: string;
  stake: string;
  unbondingSince: string | null;
  measurement: Hex;
}

/** @example nodeState({ jailed: false, unbondingSince: 0n }) // "Active" */
export function nodeState(n: Pick<NodeView, "jailed" | "unbondingSince">): NodeResource["state"] {
  if (n.jailed) return "Jailed";
  if (n.unbondingSince > 0n) return "Unbonding";
  return "Active";
}

/** Pure: the resource of a node view and its probe result. */
export function toNodeResource(n: NodeView, reachable: boolean, checkedAt: Date): NodeResource {
  return {
    id: n.id,
    state: nodeState(n),
    operator: n.operator,
    agent: n.agent,
    endpoint: n.endpoint,
    liveness: { reachable, checkedAt: checkedAt.toISOString() },
    capacity: { cpuMillis: n.cpuMillis, memoryMiB: n.memoryMiB, diskMiB: n.diskMiB, slots: n.slots },
    free: { cpuMillis: n.freeCpuMillis, memoryMiB: n.freeMemoryMiB, diskMiB: n.freeDiskMiB, slots: n.freeSlots },
    placed: n.placed,
    pricePerSecond: String(n.pricePerSecond),
    stake: String(n.stake),
    unbondingSince: n.unbondingSince > 0n ? String(n.unbondingSince) : null,
    measurement: n.measurement,
  };
}

/** Whether `GET <endpoint>/healthz` answers 2xx within `timeoutMs`. */
export async function probeAgent(endpoint: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint.replace(/\/+$/, "")}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Every registered node as a resource, each agent probed in parallel.
 * @example (await readNodeResources(pc, addresses)).filter((n) => !n.liveness.reachable)
 */
export async function readNodeResources(publicClient: PublicClient, addresses: HyphaAddresses, probe: (endpoint: string) => Promise<boolean> = probeAgent): Promise<NodeResource[]> {
  const nodes = await listNodes(publicClient, addresses);
  const reachable = await Promise.all(nodes.map((n) => probe(n.endpoint)));
  const now = new Date();
  return nodes.map((n, i) => toNodeResource(n, reachable[i], now));
}
