/**
 * The auditor's verdicts, computed from collected chain data alone (no I/O here): the id is the
 * intent's digest, the spec hash matches, the intent signature holds, every attestation was signed
 * by the node's registered agent at that block (ECDSA, or ERC-1271 for a contract wallet) for the
 * current placement, placements respected the price limit, a job's result had its quorum, and
 * every status moved legally.
 */
import { intentSpecMismatches } from "../spec/intentResources";
import type { WorkloadSpec } from "../spec/workloadSpec";
import type { Address, Hex, TypedDataDomain } from "viem";
import { deploymentStatusMoves } from "../chain/deploymentStatusMoves";
import type { DeploymentEvent } from "../chain/deployments";
import type { DeploymentIntent, Attestation } from "../chain/eip712";
import { AttestedStatus } from "../chain/eip712";
import { computeDeploymentId, recoverAttestationSigner } from "../chain/signing";
import { checkSequence, type StatusChange } from "./transitions";

export type CheckStatus = "PASS" | "FAIL" | "SKIP";

export interface AuditCheck {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface AuditReport {
  id: Hex;
  verdict: "PASS" | "FAIL";
  checks: AuditCheck[];
}

/** One Attested event with what the auditor found about it on-chain. */
export interface AttestationEvidence {
  attestation: Attestation;
  /** The signer the contract recorded in the event. */
  recordedSigner: Address;
  blockNumber: bigint;
  transactionHash: Hex;
  /** The signature from the transaction's calldata; undefined when it could not be found there. */
  signature?: Hex;
  /** agentOf(nodeId) in the state before the block, and at its end. */
  agentBefore: Address;
  agentAfter: Address;
  /** For each of those agents that had contract code at the block: its ERC-1271 isValidSignature verdict on the signature there. */
  walletVerdicts: Array<{ agent: Address; valid: boolean }>;
}

export interface AuditInput {
  id: Hex;
  domain: TypedDataDomain;
  intent: DeploymentIntent;
  intentBlock: bigint;
  intentTx: Hex;
  /** Result of verifyTypedData (EOA recovery or ERC-1271 isValidSignature) at the submission block. */
  intentSignatureValid: boolean;
  /** True when the deployer has contract code (ERC-1271 wallet). */
  deployerIsContract: boolean;
  events: DeploymentEvent[];
  attestations: AttestationEvidence[];
  /** The specHash re-derived off-chain, and from what; undefined when nothing was available. */
  derivedSpecHash?: { hash: Hex; source: string; spec?: WorkloadSpec } | { error: string; source: string };
}

const same = (a?: string, b?: string) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

/**
 * Runs every check and gives the verdict (FAIL when any check fails).
 * @example const report = await runAuditChecks(await collectAuditInput(...)); report.verdict
 */
export async function runAuditChecks(input: AuditInput): Promise<AuditReport> {
  const checks: AuditCheck[] = [];
  checks.push(checkId(input));
  checks.push(checkSpecHash(input));
  checks.push(checkIntentMatchesSpec(input));
  checks.push(checkIntentSignature(input));
  checks.push(...(await checkAttestations(input)));
  checks.push(checkPlacements(input));
  checks.push(checkTransitions(input));
  const job = checkJobResult(input);
  if (job) checks.push(job);
  return { id: input.id, verdict: checks.some((c) => c.status === "FAIL") ? "FAIL" : "PASS", checks };
}

function checkId(input: AuditInput): AuditCheck {
  const computed = computeDeploymentId(input.domain, input.intent);
  return same(computed, input.id)
    ? { name: "deployment id", status: "PASS", detail: `EIP-712 digest of the intent in block ${input.intentBlock} equals the id` }
    : { name: "deployment id", status: "FAIL", detail: `expected ${input.id}, the intent hashes to ${computed}` };
}

function checkSpecHash(input: AuditInput): AuditCheck {
  const d = input.derivedSpecHash;
  const name = "spec hash";
  if (!d) return { name, status: "SKIP", detail: "no manifest (-f) given and no spec blob reachable (--store)" };
  if ("error" in d) return { name, status: "FAIL", detail: `${d.source}: ${d.error}` };
  return same(d.hash, input.intent.specHash)
    ? { name, status: "PASS", detail: `${d.source} hashes to the on-chain specHash ${input.intent.specHash}` }
    : { name, status: "FAIL", detail: `on-chain specHash ${input.intent.specHash}, ${d.source} hashes to ${d.hash}` };
}

/** The intent's replicas, kind, quorum and resources are those of the spec its specHash names. */
function checkIntentMatchesSpec(input: AuditInput): AuditCheck {
  const name = "intent matches spec";
  const d = input.derivedSpecHash;
  if (!d || "error" in d || !d.spec) return { name, status: "SKIP", detail: "no spec to compare with" };
  if (!same(d.hash, input.intent.specHash)) return { name, status: "SKIP", detail: "the spec does not hash to the specHash" };
  const mismatch = intentSpecMismatches(input.intent, d.spec, true);
  return mismatch.length === 0
    ? { name, status: "PASS", detail: "replicas, kind, quorum, cpu, memory and disk are the spec's" }
    : { name, status: "FAIL", detail: mismatch.map((m) => m.message).join("; ") };
}

function checkIntentSignature(input: AuditInput): AuditCheck {
  const how = input.deployerIsContract ? "ERC-1271 isValidSignature" : "ECDSA recovery";
  return input.intentSignatureValid
    ? { name: "intent signature", status: "PASS", detail: `${how} for deployer ${input.intent.deployer} at block ${input.intentBlock}` }
    : {
        name: "intent signature",
        status: "FAIL",
        detail: `${how}: signature does not verify for deployer ${input.intent.deployer} at block ${input.intentBlock}`,
      };
}

/** Placement generation per replica, replayed from ReplicaScheduled events up to each attestation. */
function placementAt(events: DeploymentEvent[], block: bigint, replicaIndex: number): { nodeId: number; attempt: number } | undefined {
  let last: { nodeId: number; attempt: number } | undefined;
  for (const e of events) {
    if (e.blockNumber > block) break;
    if (e.eventName === "ReplicaScheduled" && Number(e.args.replicaIndex) === replicaIndex)
      last = { nodeId: Number(e.args.nodeId), attempt: Number(e.args.attempt) };
  }
  return last;
}

async function checkAttestations(input: AuditInput): Promise<AuditCheck[]> {
  if (input.attestations.length === 0) return [{ name: "attestations", status: "SKIP", detail: "no attestations recorded yet" }];
  const out: AuditCheck[] = [];
  for (const ev of input.attestations) {
    const a = ev.attestation;
    const name = `attestation replica ${a.replicaIndex} attempt ${a.attempt} (${statusName(a.status)})`;
    const where = `block ${ev.blockNumber}, tx ${ev.transactionHash}`;
    const problems: string[] = [];
    if (!same(a.deploymentId, input.id)) problems.push(`names deployment ${a.deploymentId}`);
    const verdict = await verifyAttester(input.domain, ev);
    const verified = "signer" in verdict ? verdict : undefined;
    if ("problems" in verdict) problems.push(...verdict.problems);
    else if (!same(verdict.signer, ev.recordedSigner))
      problems.push(`${verdict.how} gives signer ${verdict.signer}, but the contract recorded ${ev.recordedSigner}`);
    const placed = placementAt(input.events, ev.blockNumber, a.replicaIndex);
    if (!placed) problems.push(`replica ${a.replicaIndex} was not placed before this attestation`);
    else {
      if (placed.nodeId !== a.nodeId) problems.push(`attests node ${a.nodeId}, but the replica was placed on node ${placed.nodeId}`);
      if (placed.attempt !== a.attempt) problems.push(`is for attempt ${a.attempt}, the placement was attempt ${placed.attempt}`);
    }
    out.push(
      problems.length === 0 && verified
        ? { name, status: "PASS", detail: `${verified.how}: node ${a.nodeId}'s agent ${verified.signer} signed it (${where})` }
        : { name, status: "FAIL", detail: `${problems.join("; ")} (${where})` },
    );
  }
  return out;
}

type AttesterVerdict = { signer: Address; how: "ECDSA recovery" | "ERC-1271 isValidSignature" } | { problems: string[] };

/**
 * Which of the node's agents at the attestation's block signed it, and how, in the contract's order
 * (_checkAttester): ECDSA recovery first, then ERC-1271 isValidSignature for an agent with code.
 * When neither holds, the reasons.
 */
async function verifyAttester(domain: TypedDataDomain, ev: AttestationEvidence): Promise<AttesterVerdict> {
  if (!ev.signature) return { problems: ["its signature is not in the transaction's calldata"] };
  const isAgent = (x: Address) => same(x, ev.agentBefore) || same(x, ev.agentAfter);
  const problems: string[] = [];
  let recovered: Address | undefined;
  try {
    recovered = await recoverAttestationSigner(domain, ev.attestation, ev.signature);
  } catch (err) {
    // A wallet's signature need not be an ECDSA one: that alone is no fault when a wallet was asked.
    if (ev.walletVerdicts.length === 0) problems.push(`signature does not recover (${(err as Error).message.split("\n")[0]})`);
  }
  if (recovered && isAgent(recovered)) return { signer: recovered, how: "ECDSA recovery" };
  const accepted = ev.walletVerdicts.find((v) => v.valid && isAgent(v.agent));
  if (accepted) return { signer: accepted.agent, how: "ERC-1271 isValidSignature" };
  const whose = `node ${ev.attestation.nodeId}'s agent at block ${ev.blockNumber}`;
  if (recovered) problems.push(`signed by ${recovered}, but ${whose} was ${ev.agentBefore}`);
  for (const v of ev.walletVerdicts.filter((x) => isAgent(x.agent)))
    problems.push(`ERC-1271 isValidSignature: ${whose}, the contract ${v.agent}, rejects the signature`);
  return { problems };
}

function checkPlacements(input: AuditInput): AuditCheck {
  const placements = input.events.filter((e) => e.eventName === "ReplicaScheduled");
  if (placements.length === 0) return { name: "placements", status: "SKIP", detail: "no replica placed yet" };
  const problems: string[] = [];
  const lastAttempt = new Map<number, number>();
  for (const p of placements) {
    const i = Number(p.args.replicaIndex);
    const attempt = Number(p.args.attempt);
    if ((p.args.pricePerSecond as bigint) > input.intent.maxPricePerSecond) {
      problems.push(`block ${p.blockNumber}: replica ${i} placed at ${p.args.pricePerSecond}/s, above the limit ${input.intent.maxPricePerSecond}/s`);
    }
    const prev = lastAttempt.get(i) ?? 0;
    if (attempt !== prev + 1) problems.push(`block ${p.blockNumber}: replica ${i} attempt ${attempt} follows attempt ${prev}`);
    lastAttempt.set(i, attempt);
  }
  return problems.length
    ? { name: "placements", status: "FAIL", detail: problems.join("; ") }
    : { name: "placements", status: "PASS", detail: `${placements.length} placement(s) within the price limit, attempts in order` };
}

function checkTransitions(input: AuditInput): AuditCheck {
  const dep: StatusChange[] = [];
  const reps = new Map<number, StatusChange[]>();
  // DeploymentStatusChanged, JobFinalized (-> Completed) and Terminated (-> Terminated) tell the
  // deployment's moves (IntentSubmitted tells None -> Requested)
  for (const m of deploymentStatusMoves(input.events)) dep.push({ from: m.from, to: m.to, where: `block ${input.events[m.index].blockNumber}` });
  for (const e of input.events) {
    const where = `block ${e.blockNumber}`;
    // The contract records Pending -> Scheduled as ReplicaScheduled (no ReplicaStatusChanged).
    if (e.eventName === "ReplicaScheduled") {
      const i = Number(e.args.replicaIndex);
      if (!reps.has(i)) reps.set(i, []);
      reps.get(i)!.push({ from: 0, to: 1, where: `${where} replica ${i} (placed)` });
    }
    if (e.eventName === "ReplicaStatusChanged") {
      const i = Number(e.args.replicaIndex);
      if (!reps.has(i)) reps.set(i, []);
      reps.get(i)!.push({ from: Number(e.args.from), to: Number(e.args.to), where: `${where} replica ${i}` });
    }
  }
  // The contract may start a deployment in Requested without a None -> Requested event.
  const initial = dep.length && dep[0].from === 1 ? 1 : 0;
  const problems = checkSequence("deployment", dep, initial);
  for (const [, changes] of reps) problems.push(...checkSequence("replica", changes, 0));
  return problems.length
    ? { name: "transitions", status: "FAIL", detail: problems.join("; ") }
    : {
        name: "transitions",
        status: "PASS",
        detail: `${dep.length} deployment and ${[...reps.values()].reduce((n, c) => n + c.length, 0)} replica transitions, all legal and in order`,
      };
}

function checkJobResult(input: AuditInput): AuditCheck | undefined {
  const fin = input.events.find((e) => e.eventName === "JobFinalized");
  if (!fin) return undefined;
  const output = fin.args.outputHash as Hex;
  const agreeing = new Set(
    input.attestations
      .filter((a) => a.blockNumber <= fin.blockNumber && a.attestation.status === AttestedStatus.Completed && same(a.attestation.outputHash, output))
      .map((a) => a.attestation.replicaIndex),
  ).size;
  return agreeing >= input.intent.quorum
    ? { name: "job result", status: "PASS", detail: `${agreeing} replica(s) attested output ${output} (quorum ${input.intent.quorum})` }
    : { name: "job result", status: "FAIL", detail: `result ${output} finalized with ${agreeing} agreeing attestation(s), quorum is ${input.intent.quorum}` };
}

function statusName(s: number): string {
  return Object.entries(AttestedStatus).find(([, v]) => v === s)?.[0] ?? `status ${s}`;
}
