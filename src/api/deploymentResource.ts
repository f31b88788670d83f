/**
 * The one JSON shape of a deployment, for `hypha get|describe -o json|yaml` and the REST API alike:
 * names instead of numbers (phase, chain status, replica statuses, kind), amounts as decimal wei
 * strings, the manifest's name from the public spec blob, and what happened (deploymentOutcome).
 * `toDeploymentResource` is pure; `readDeploymentResources` does the chain and store reads.
 */
import { zeroHash, type Address, type Hex, type PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import { deploymentOutcome, type DeploymentPhase } from "../chain/deploymentOutcome";
import {
  deploymentStatusName,
  readDeployment,
  readEventsOfDeployments,
  readJobResult,
  readReplicas,
  replicaStatusName,
  type DeploymentEvent,
  type DeploymentListEntry,
  type DeploymentView,
  type ReplicaView,
} from "../chain/deployments";
import { StoreClient } from "../image/storeClient";
import { specFromCanonicalJson } from "../spec";
import { intentToWire, type WireIntent } from "../sdk/wire";

export interface ReplicaResource {
  index: number;
  status: string;
  nodeId: number | null;
  attempt: number;
  pricePerSecond: string;
  /** ISO time of the replica's last change, null before the first. */
  since: string | null;
}

/** The intent as JSON: the signed DeploymentIntent with its uint64/uint96 fields as decimal strings. */
export type IntentResource = WireIntent;

export interface DeploymentResource {
  id: Hex;
  /** metadata.name of the manifest (from the spec blob); null when the store does not have it. */
  name: string | null;
  kind: "service" | "job";
  deployer: Address;
  /** What happened: Requested, Scheduled, Running, Succeeded, Failed, Deleted, OutOfBudget, Cancelled. */
  phase: DeploymentPhase;
  reason: string;
  message: string;
  /** The contract's own status name. */
  status: string;
  replicas: { desired: number; placed: number; running: number };
  escrow: string;
  retriesLeft: number;
  jobResult: Hex | null;
  /** The signed DeploymentIntent, field for field, amounts as decimal strings and kind as a number as signed. */
  intent: IntentResource;
  signature: Hex;
  /** Where the intent went on-chain (whoever sent that transaction relayed it). */
  submitted: { block: string; transactionHash: Hex };
  terminated: { by: Address; paidToNodes: string; refunded: string; block: string; transactionHash: Hex } | null;
  replicaSet: ReplicaResource[];
}

/** What one deployment's resource is built from (all read at about one block). */
export interface DeploymentSources {
  entry: DeploymentListEntry;
  view: DeploymentView;
  replicas: ReplicaView[];
  events: DeploymentEvent[];
  jobResult?: Hex;
  name: string | null;
}

/**
 * Builds the resource (JSON-ready: no bigints).
 * @example toDeploymentResource({ entry, view, replicas, events, name: "deterministic-app" }).phase // "Running"
 */
export function toDeploymentResource(s: DeploymentSources): DeploymentResource {
  const { entry, view } = s;
  const i = entry.intent;
  const outcome = deploymentOutcome({
    status: view.status,
    kind: view.kind,
    deployer: entry.deployer,
    quorum: view.quorum,
    replicas: view.replicas,
    placed: view.placed,
    running: view.running,
    jobResult: s.jobResult,
    replicaStatuses: s.replicas.map((r) => r.status),
    events: s.events,
  });
  const t = outcome.terminated;
  // jobResult(id) holds the result of a job with quorum 2 or more; a single-replica job's result is
  // only in its JobFinalized event (not stored on chain).
  const stored = s.jobResult && s.jobResult !== zeroHash ? s.jobResult : undefined;
  const finalized = s.events.filter((e) => e.eventName === "JobFinalized").at(-1)?.args.outputHash as Hex | undefined;
  return {
    id: entry.id.toLowerCase() as Hex,
    name: s.name,
    kind: i.kind === 1 ? "job" : "service",
    deployer: entry.deployer,
    phase: outcome.phase,
    reason: outcome.reason,
    message: outcome.message,
    status: deploymentStatusName(view.status),
    replicas: { desired: view.replicas, placed: view.placed, running: view.running },
    escrow: String(view.escrow),
    retriesLeft: view.retriesLeft,
    jobResult: stored ?? finalized ?? null,
    intent: intentToWire(i),
    signature: entry.signature,
    submitted: { block: String(entry.blockNumber), transactionHash: entry.transactionHash },
    terminated: t
      ? { by: t.by, paidToNodes: String(t.paidToNodes), refunded: String(t.refunded), block: String(t.block), transactionHash: t.transactionHash }
      : null,
    replicaSet: s.replicas.map((r) => ({
      index: r.index,
      status: replicaStatusName(r.status),
      nodeId: r.nodeId || null,
      attempt: r.attempt,
      pricePerSecond: String(r.pricePerSecond),
      since: r.since > 0n ? new Date(Number(r.since) * 1000).toISOString() : null,
    })),
  };
}

/** Events the outcome reads. */
export const OUTCOME_EVENTS = ["DeploymentStatusChanged", "Terminated", "JobFinalized", "JobUndecided", "ReplicaStatusChanged"];

/** Looks up a spec's metadata.name in the store by specHash, caching the names found (a specHash's name never changes). */
export type SpecNameLookup = (specHash: Hex) => Promise<string | null>;

/**
 * A name lookup over the store's spec blobs; null when the store lacks the blob or is unreachable.
 * @example const nameOf = specNameLookup("http://127.0.0.1:7700"); await nameOf(intent.specHash) // "deterministic-app"
 */
export function specNameLookup(storeUrl: string): SpecNameLookup {
  const cache = new Map<string, Promise<string | null>>();
  return (specHash) => {
    const key = specHash.toLowerCase();
    let hit = cache.get(key);
    if (!hit) {
      hit = (async () => {
        const json = await new StoreClient([storeUrl]).findSpecJson(specHash);
        return json === undefined ? null : specFromCanonicalJson(json).name;
      })().catch(() => null);
      cache.set(key, hit);
      // A blob the store lacks now may be published later: forget misses.
      void hit.then((name) => {
        if (name === null) cache.delete(key);
      });
    }
    return hit;
  };
}

/**
 * Reads and builds the resources of `entries` (from listDeployments or the API's index).
 * @example const [d] = await readDeploymentResources(pc, addresses, [entry], specNameLookup(store))
 */
export async function readDeploymentResources(
  publicClient: PublicClient,
  addresses: HyphaAddresses,
  entries: DeploymentListEntry[],
  nameOf: SpecNameLookup,
): Promise<DeploymentResource[]> {
  if (entries.length === 0) return [];
  const from = entries.reduce((m, e) => (e.blockNumber < m ? e.blockNumber : m), entries[0].blockNumber);
  const events = await readEventsOfDeployments(
    publicClient,
    addresses,
    entries.map((e) => e.id),
    OUTCOME_EVENTS,
    from,
  );
  return Promise.all(
    entries.map(async (entry) => {
      const [view, replicas, jobResult, name] = await Promise.all([
        readDeployment(publicClient, addresses, entry.id),
        readReplicas(publicClient, addresses, entry.id),
        entry.intent.kind === 1 ? readJobResult(publicClient, addresses, entry.id) : Promise.resolve(undefined),
        nameOf(entry.intent.specHash),
      ]);
      return toDeploymentResource({ entry, view, replicas, events: events.get(entry.id.toLowerCase()) ?? [], jobResult, name });
    }),
  );
}
