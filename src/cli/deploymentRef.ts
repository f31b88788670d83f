/**
 * How a command finds the deployment a user means: a full id, a unique id prefix (`0x2684f936`,
 * also as printed with a trailing `…`), or the manifest's name (metadata.name). A name shared by
 * several deployments means the one still active when exactly one is; otherwise the error lists
 * the candidates. `matchDeploymentRef` decides (pure); `resolveDeploymentRef` reads the chain.
 */
import type { Hex } from "viem";
import { ENDED_PHASES, type DeploymentPhase } from "../chain/deploymentOutcome";
import { listDeployments, type DeploymentListEntry } from "../chain/deployments";
import { readDeploymentResources, type DeploymentResource } from "../api/deploymentResource";
import { HyphaError } from "../errors";
import type { CliContext } from "./context";

/** What the matcher knows of each deployment. */
export interface RefCandidate {
  id: Hex;
  name: string | null;
  /** Only needed for candidates sharing a name. */
  phase?: DeploymentPhase;
  block: bigint;
}

/** The shortest id prefix accepted (0x and 6 hex digits). */
const MIN_PREFIX = 8;

/** Whether `ref` looks like an id or id prefix rather than a name. */
export function isIdLike(ref: string): boolean {
  return /^0x[0-9a-fA-F]+…?$/.test(ref);
}

/**
 * Picks the deployment `ref` names among `candidates`, or throws a HyphaError saying why not.
 * @example matchDeploymentRef("web", [{ id: "0x12…", name: "web", phase: "Running", block: 9n }]).id // "0x12…"
 */
export function matchDeploymentRef(ref: string, candidates: RefCandidate[]): RefCandidate {
  const text = ref.trim().replace(/…$/, "");
  if (text === "") throw new HyphaError("NAME: give a deployment name, id or id prefix");
  if (isIdLike(ref)) {
    const lower = text.toLowerCase();
    if (lower.length === 66) {
      const exact = candidates.find((c) => c.id.toLowerCase() === lower);
      if (!exact) throw new HyphaError(`deployment ${lower}: not found on this chain (no IntentSubmitted event)`);
      return exact;
    }
    if (lower.length < MIN_PREFIX) throw new HyphaError(`ID: an id prefix needs at least ${MIN_PREFIX - 2} hex digits after 0x, got ${JSON.stringify(ref)}`);
    const hits = candidates.filter((c) => c.id.toLowerCase().startsWith(lower));
    if (hits.length === 1) return hits[0];
    if (hits.length === 0) throw new HyphaError(`deployment ${ref}: no deployment id starts with ${lower}`);
    throw ambiguous(`id prefix ${lower}`, hits);
  }
  const named = candidates.filter((c) => c.name === text);
  if (named.length === 1) return named[0];
  if (named.length === 0) {
    const known = [...new Set(candidates.map((c) => c.name).filter((n): n is string => !!n))].sort();
    throw new HyphaError(`deployment ${JSON.stringify(text)}: no deployment has this name`, {
      details: known.length ? `names on this chain: ${known.join(", ")}` : "no deployment on this chain has a name in the store (is --store right?)",
    });
  }
  const active = named.filter((c) => c.phase !== undefined && !ENDED_PHASES.has(c.phase));
  if (active.length === 1) return active[0];
  throw ambiguous(`name ${JSON.stringify(text)}`, active.length > 1 ? active : named);
}

function ambiguous(what: string, hits: RefCandidate[]): HyphaError {
  const lines = hits.map((c) => `  ${c.id}  ${c.name ?? "-"}  ${c.phase ?? "-"}  block ${c.block}`);
  return new HyphaError(`${what} matches ${hits.length} deployments; give the id (or a longer prefix):`, { details: lines.join("\n") });
}

/**
 * The deployment `ref` names on the chain behind `ctx`, with its full resource.
 * @example const d = await resolveDeploymentRef(ctx, "deterministic-app"); d.id
 */
export async function resolveDeploymentRef(ctx: CliContext, ref: string): Promise<DeploymentResource> {
  const addresses = await ctx.addresses();
  const entries = await listDeployments(ctx.publicClient, addresses);
  const nameOf = ctx.specNames();
  const byId = new Map(entries.map((e) => [e.id.toLowerCase(), e]));
  let candidates: RefCandidate[];
  if (isIdLike(ref)) candidates = entries.map((e) => ({ id: e.id, name: null, block: e.blockNumber }));
  else {
    const names = await Promise.all(entries.map((e) => nameOf(e.intent.specHash)));
    const text = ref.trim();
    const shared = entries.filter((_, i) => names[i] === text);
    const phases = new Map<string, DeploymentPhase>();
    if (shared.length > 1) for (const r of await readDeploymentResources(ctx.publicClient, addresses, shared, nameOf)) phases.set(r.id, r.phase);
    candidates = entries.map((e, i) => ({ id: e.id, name: names[i], block: e.blockNumber, phase: phases.get(e.id.toLowerCase()) }));
  }
  const hit = matchDeploymentRef(ref, candidates);
  const entry = byId.get(hit.id.toLowerCase()) as DeploymentListEntry;
  const [resource] = await readDeploymentResources(ctx.publicClient, addresses, [entry], nameOf);
  return resource;
}
