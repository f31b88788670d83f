/**
 * The audit's pure checks on crafted chain data: a genuine history passes (also with a compact
 * EIP-2098 signature, or an ERC-1271 wallet agent that accepted the signature); an attestation
 * signed by a key that was not the node's agent, one a wallet agent rejected, a signature missing
 * from calldata, an illegal or gapped transition, a wrong spec hash, a bad intent signature and a
 * short job quorum each FAIL.
 */
import { describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { runAuditChecks, type AuditInput } from "../../src/audit/checks";
import { checkSequence } from "../../src/audit/transitions";
import type { DeploymentEvent } from "../../src/chain/deployments";
import { devAccount } from "../../src/chain/devAccounts";
import type { Attestation, DeploymentIntent } from "../../src/chain/eip712";
import { compactSignature, computeDeploymentId, domainFor, signAttestation } from "../../src/chain/signing";

const domain = domainFor({ chainId: 31337, deploymentRegistry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" });
const agent = devAccount(8);
const intruder = devAccount(15);
/** An ERC-1271 wallet's address, standing for a node's agent (no code is needed: the checks only read its verdict). */
const wallet = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707";
const intent: DeploymentIntent = {
  deployer: devAccount(11).address,
  specHash: `0x${"ab".repeat(32)}`,
  imageRoot: `0x${"cd".repeat(32)}`,
  replicas: 1,
  cpuMillis: 100,
  memoryMiB: 64,
  diskMiB: 256,
  maxPricePerSecond: 1000n,
  budget: 10n ** 18n,
  nonce: 7n,
  deadline: 1900000000n,
  kind: 0,
  quorum: 0,
  maxRetries: 1,
  maxRunSeconds: 0,
};
const id = computeDeploymentId(domain, intent);
const tx = `0x${"ee".repeat(32)}` as Hex;
// A fixture event: only the arguments the checks read (the cast says the rest is left out).
const ev = <N extends DeploymentEvent["eventName"]>(eventName: N, blockNumber: bigint, args: Partial<Extract<DeploymentEvent, { eventName: N }>["args"]>) =>
  ({ eventName, blockNumber, logIndex: 0, transactionHash: tx, args: { id, ...args } }) as DeploymentEvent;
const attestation: Attestation = {
  deploymentId: id,
  replicaIndex: 0,
  nodeId: 1,
  attempt: 1,
  status: 0,
  measurement: `0x${"22".repeat(32)}`,
  outputHash: `0x${"00".repeat(32)}`,
  timestamp: 1700000000n,
};

const events: DeploymentEvent[] = [
  ev("IntentSubmitted", 10n, {}),
  ev("ReplicaScheduled", 11n, { replicaIndex: 0, nodeId: 1, attempt: 1, pricePerSecond: 500n }),
  ev("DeploymentStatusChanged", 11n, { from: 1, to: 2 }),
  ev("Attested", 12n, { replicaIndex: 0, nodeId: 1, attempt: 1, status: 0 }),
  ev("ReplicaStatusChanged", 12n, { replicaIndex: 0, nodeId: 1, from: 1, to: 2 }),
  ev("DeploymentStatusChanged", 12n, { from: 2, to: 3 }),
];

async function input(overrides: Partial<AuditInput> = {}, signer = agent): Promise<AuditInput> {
  const signature = await signAttestation(signer, domain, attestation);
  return {
    id,
    domain,
    intent,
    intentBlock: 10n,
    intentTx: tx,
    intentSignatureValid: true,
    deployerIsContract: false,
    events,
    attestations: [
      {
        attestation,
        recordedSigner: agent.address,
        blockNumber: 12n,
        transactionHash: tx,
        signature,
        agentBefore: agent.address,
        agentAfter: agent.address,
        walletVerdicts: [],
      },
    ],
    derivedSpecHash: { hash: intent.specHash, source: "app.yaml" },
    ...overrides,
  };
}
const failed = (r: Awaited<ReturnType<typeof runAuditChecks>>) => r.checks.filter((c) => c.status === "FAIL").map((c) => c.name);

describe("audit checks", () => {
  it("a genuine history passes every check", async () => {
    const r = await runAuditChecks(await input());
    expect(failed(r)).toEqual([]);
    expect(r.verdict).toBe("PASS");
  });

  it("an attestation signed by a non-agent key fails, naming signer and agent", async () => {
    const r = await runAuditChecks(await input({}, intruder));
    expect(r.verdict).toBe("FAIL");
    const c = r.checks.find((x) => x.name.startsWith("attestation"))!;
    expect(c.status).toBe("FAIL");
    expect(c.detail).toContain(intruder.address);
    expect(c.detail).toContain(agent.address);
  });

  it("an attestation whose agent key was different at that block fails", async () => {
    const base = await input();
    base.attestations[0].agentBefore = intruder.address;
    base.attestations[0].agentAfter = intruder.address;
    expect(failed(await runAuditChecks(base))).toContain("attestation replica 0 attempt 1 (Running)");
  });

  it("a compact (EIP-2098) signature by the agent passes by ECDSA recovery", async () => {
    const base = await input();
    base.attestations[0].signature = compactSignature(base.attestations[0].signature!);
    const r = await runAuditChecks(base);
    expect(failed(r)).toEqual([]);
    expect(r.checks.find((x) => x.name.startsWith("attestation"))!.detail).toContain(`ECDSA recovery: node 1's agent ${agent.address} signed it`);
  });

  it("an ERC-1271 wallet agent's attestation passes when the wallet accepted it, naming the method", async () => {
    const base = await input({}, intruder); // the wallet's owner signed; ECDSA gives the owner, not the wallet
    Object.assign(base.attestations[0], { agentBefore: wallet, agentAfter: wallet, recordedSigner: wallet, walletVerdicts: [{ agent: wallet, valid: true }] });
    const r = await runAuditChecks(base);
    expect(failed(r)).toEqual([]);
    expect(r.checks.find((x) => x.name.startsWith("attestation"))!.detail).toContain(`ERC-1271 isValidSignature: node 1's agent ${wallet} signed it`);
  });

  it("an ERC-1271 wallet agent's attestation fails when the wallet rejected it, naming the attestation and the reason", async () => {
    const base = await input({}, intruder);
    Object.assign(base.attestations[0], { agentBefore: wallet, agentAfter: wallet, recordedSigner: wallet, walletVerdicts: [{ agent: wallet, valid: false }] });
    const r = await runAuditChecks(base);
    expect(r.verdict).toBe("FAIL");
    expect(failed(r)).toEqual(["attestation replica 0 attempt 1 (Running)"]);
    const c = r.checks.find((x) => x.name.startsWith("attestation"))!;
    expect(c.detail).toContain(`ERC-1271 isValidSignature: node 1's agent at block 12, the contract ${wallet}, rejects the signature`);
    expect(c.detail).toContain(`signed by ${intruder.address}`);
    // A wallet's verdict counts only for the node's agent at that block.
    Object.assign(base.attestations[0], { walletVerdicts: [{ agent: intruder.address, valid: true }] });
    expect(failed(await runAuditChecks(base))).toEqual(["attestation replica 0 attempt 1 (Running)"]);
  });

  it("a signature missing from calldata fails", async () => {
    const base = await input();
    base.attestations[0].signature = undefined;
    expect((await runAuditChecks(base)).verdict).toBe("FAIL");
  });

  it("a spec hash mismatch, a bad intent signature and a wrong id fail", async () => {
    expect(failed(await runAuditChecks(await input({ derivedSpecHash: { hash: `0x${"99".repeat(32)}`, source: "altered.yaml" } })))).toEqual(["spec hash"]);
    expect(failed(await runAuditChecks(await input({ intentSignatureValid: false })))).toEqual(["intent signature"]);
    expect(failed(await runAuditChecks(await input({ intent: { ...intent, nonce: 8n } })))).toContain("deployment id");
  });

  it("illegal or gapped transitions fail", async () => {
    const skipped = events.filter((e) => !(e.eventName === "DeploymentStatusChanged" && e.args.to === 2));
    expect(failed(await runAuditChecks(await input({ events: skipped })))).toEqual(["transitions"]);
    expect(checkSequence("replica", [{ from: 0, to: 2, where: "b" }], 0)[0]).toMatch(/Pending -> Running is not a legal replica transition/);
    expect(checkSequence("deployment", [{ from: 5, to: 3, where: "b" }], 5)[0]).toMatch(/Terminated -> Running/);
  });

  it("a placement above the price limit fails", async () => {
    const pricey = events.map((e) => (e.eventName === "ReplicaScheduled" ? { ...e, args: { ...e.args, pricePerSecond: 2000n } } : e));
    expect(failed(await runAuditChecks(await input({ events: pricey })))).toEqual(["placements"]);
  });

  it("a job result without its quorum fails", async () => {
    const job = { ...intent, kind: 1, quorum: 2 };
    const jobId = computeDeploymentId(domain, job);
    const fin = ev("JobFinalized", 13n, { id: jobId, outputHash: attestation.outputHash, agreeing: 2 });
    const base = await input({ intent: job, id: jobId, events: [...events, fin] });
    // one Running attestation only: no Completed agreement at all
    expect(failed(await runAuditChecks(base))).toContain("job result");
  });
});
