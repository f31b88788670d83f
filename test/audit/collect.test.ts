/**
 * The audit's chain-reading half on the real in-process chain: an intent signed through an
 * ERC-1271 smart wallet verifies at its block; attestation signers are checked against the agent
 * key registered AT THE ATTESTATION'S BLOCK (rotating the key later does not change the verdict,
 * and a signature by the later key on the same record FAILs); an agent that is an ERC-1271 wallet
 * has its attestations checked by isValidSignature at that block, as the contract does.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeFunctionData, getAddress, parseEther, type Abi, type Address, type Hex, type WalletClient } from "viem";
import { deploymentRegistryAbi, hyphaTokenAbi, nodeRegistryAbi } from "../../src/chain/abi";
import { runAuditChecks } from "../../src/audit/checks";
import { collectAuditInput } from "../../src/audit/collect";
import { approveMeasurement } from "../../src/chain/deploy";
import { AttestedStatus, hyphaTypes, type Attestation, type DeploymentIntent } from "../../src/chain/eip712";
import { compactSignature, computeDeploymentId, domainFor, signAttestation, signIntent } from "../../src/chain/signing";
import { inProcessChain, type InProcessChain } from "../helpers/chain";

const MEASUREMENT = `0x${"5a".repeat(32)}` as Hex;
let chain: InProcessChain;
let snap: string;

beforeEach(async () => {
  chain = await inProcessChain();
  snap = await chain.snapshot();
}, 120_000);
afterEach(async () => {
  await chain.revert(snap);
});

async function send(w: WalletClient, call: { address: Address; abi: Abi | readonly unknown[]; functionName: string; args: readonly unknown[] }) {
  const hash = await w.writeContract({ ...call, account: w.account!, chain: w.chain } as never);
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
  return receipt;
}

/** Node 1, run by operator #5, with `agent` (dev account #8 unless given) as its agent key. */
async function registerNode(agent: Address = chain.accounts[8].address) {
  const w = chain.walletClients;
  await approveMeasurement({ walletClient: w[0], publicClient: chain.publicClient, addresses: chain.addresses, measurement: MEASUREMENT });
  const stake = parseEther("200");
  await send(w[5], { address: chain.addresses.token, abi: hyphaTokenAbi, functionName: "approve", args: [chain.addresses.nodeRegistry, stake] });
  const registration = {
    agent,
    cpuMillis: 4000,
    memoryMiB: 8192,
    diskMiB: 10240,
    slots: 8,
    pricePerSecond: 1000n,
    measurement: MEASUREMENT,
    endpoint: "http://127.0.0.1:7801",
  };
  await send(w[5], { address: chain.addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "register", args: [registration, stake] });
}

const walletArtifact = () =>
  JSON.parse(fs.readFileSync(path.join(__dirname, "../../artifacts/contracts/test/MockERC1271Wallet.sol/MockERC1271Wallet.json"), "utf8")) as {
    abi: Abi;
    bytecode: Hex;
  };

/** A MockERC1271Wallet that accepts what dev account `owner` signs, deployed by that account. */
async function deployWallet(owner: number): Promise<Address> {
  const { abi, bytecode } = walletArtifact();
  const w = chain.walletClients[owner];
  const hash = await w.deployContract({ abi, bytecode, args: [chain.accounts[owner].address], account: w.account!, chain: w.chain });
  return getAddress((await chain.publicClient.waitForTransactionReceipt({ hash })).contractAddress!);
}

/** A one-replica service intent of `deployer`, within node 1's capacity and price. */
async function serviceIntent(deployer: Address, budget: bigint): Promise<DeploymentIntent> {
  return {
    deployer,
    specHash: `0x${"ab".repeat(32)}`,
    imageRoot: `0x${"cd".repeat(32)}`,
    replicas: 1,
    cpuMillis: 500,
    memoryMiB: 128,
    diskMiB: 256,
    maxPricePerSecond: 10_000n,
    budget,
    nonce: 1n,
    deadline: (await chain.now()) + 3600n,
    kind: 0,
    quorum: 0,
    maxRetries: 1,
    maxRunSeconds: 0,
  };
}

describe("audit on chain data", () => {
  it("ERC-1271 deployer, agent checked at the attestation's block", async () => {
    const { publicClient: pc, addresses, walletClients: w, accounts } = chain;
    await registerNode();
    // A smart wallet owned by dev account #11 is the deployer.
    const walletAddress = await deployWallet(11);
    const budget = parseEther("3");
    await send(w[11], { address: addresses.token, abi: hyphaTokenAbi, functionName: "transfer", args: [walletAddress, budget] });
    await send(w[11], {
      address: walletAddress,
      abi: walletArtifact().abi,
      functionName: "execute",
      args: [addresses.token, encodeFunctionData({ abi: hyphaTokenAbi, functionName: "approve", args: [addresses.deploymentRegistry, budget] })],
    });
    const domain = domainFor(addresses);
    const intent = await serviceIntent(walletAddress, budget);
    const id = computeDeploymentId(domain, intent);
    await send(w[12], {
      address: addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "submitIntent",
      args: [intent, await signIntent(accounts[11], domain, intent)],
    });
    await send(w[1], {
      address: addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "schedule",
      args: [intent, [{ replicaIndex: 0, nodeId: 1, pricePerSecond: 1000n }]],
    });
    const attestation = {
      deploymentId: id,
      replicaIndex: 0,
      nodeId: 1,
      attempt: 1,
      status: AttestedStatus.Running,
      measurement: MEASUREMENT,
      outputHash: `0x${"00".repeat(32)}` as Hex,
      timestamp: await chain.now(),
    };
    await send(w[3], {
      address: addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "attest",
      args: [attestation, await signAttestation(accounts[8], domain, attestation)],
    });
    // The operator rotates the agent key afterwards.
    await send(w[5], { address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "updateAgent", args: [1, accounts[9].address] });

    const input = await collectAuditInput(pc, addresses, id);
    expect(input.deployerIsContract).toBe(true);
    expect(input.intentSignatureValid).toBe(true);
    expect(input.attestations[0].agentBefore).toBe(accounts[8].address);
    const report = await runAuditChecks(input);
    expect(report.checks.filter((c) => c.status === "FAIL")).toEqual([]);
    expect(report.checks.find((c) => c.name === "intent signature")!.detail).toContain("ERC-1271");
    expect(report.verdict).toBe("PASS");

    // The same record with a signature by the key that is the agent NOW (not at that block) fails.
    input.attestations[0].signature = await signAttestation(accounts[9], domain, attestation);
    const forged = await runAuditChecks(input);
    expect(forged.verdict).toBe("FAIL");
    expect(forged.checks.find((c) => c.name.startsWith("attestation"))!.detail).toContain(`signed by ${accounts[9].address}, but node 1's agent at block`);

    // And a signature by someone other than the wallet's owner does not verify at that block.
    const bad = await collectAuditInput(pc, addresses, id);
    expect(bad.intentSignatureValid).toBe(true);
    const viaOther = await pc.verifyTypedData({
      address: walletAddress,
      domain,
      types: hyphaTypes,
      primaryType: "DeploymentIntent",
      message: { ...intent },
      signature: await signIntent(accounts[12], domain, intent),
    });
    expect(viaOther).toBe(false);
  });

  it("ERC-1271 agent: the wallet's attestation passes by isValidSignature at its block, a rotated EOA key's compact one by ECDSA", async () => {
    const { publicClient: pc, addresses, walletClients: w, accounts } = chain;
    // Node 1's agent is a smart wallet owned by dev account #8.
    const agentWallet = await deployWallet(8);
    await registerNode(agentWallet);
    const domain = domainFor(addresses);
    const budget = parseEther("3");
    const intent = await serviceIntent(accounts[11].address, budget);
    const id = computeDeploymentId(domain, intent);
    await send(w[11], { address: addresses.token, abi: hyphaTokenAbi, functionName: "approve", args: [addresses.deploymentRegistry, budget] });
    await send(w[11], {
      address: addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "submitIntent",
      args: [intent, await signIntent(accounts[11], domain, intent)],
    });
    await send(w[1], {
      address: addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "schedule",
      args: [intent, [{ replicaIndex: 0, nodeId: 1, pricePerSecond: 1000n }]],
    });
    const running: Attestation = {
      deploymentId: id,
      replicaIndex: 0,
      nodeId: 1,
      attempt: 1,
      status: AttestedStatus.Running,
      measurement: MEASUREMENT,
      outputHash: `0x${"00".repeat(32)}`,
      timestamp: await chain.now(),
    };

    // The contract rejects a signature the wallet does not accept (here by another EOA)...
    const attest = (attestation: Attestation, signature: Hex) =>
      ({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "attest", args: [attestation, signature] }) as const;
    await expect(
      pc.simulateContract({ ...attest(running, await signAttestation(accounts[10], domain, running)), account: accounts[3].address }),
    ).rejects.toThrow(/InvalidAttester/);
    // ...and accepts the one its owner made.
    await send(w[3], attest(running, await signAttestation(accounts[8], domain, running)));
    // The operator then rotates the agent to an EOA, which reports the replica failed in the 64-byte EIP-2098 form.
    await send(w[5], { address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "updateAgent", args: [1, accounts[9].address] });
    const failed = { ...running, status: AttestedStatus.Failed, timestamp: await chain.now() };
    await send(w[3], attest(failed, compactSignature(await signAttestation(accounts[9], domain, failed))));

    const input = await collectAuditInput(pc, addresses, id);
    expect(input.attestations.map((a) => a.walletVerdicts)).toEqual([[{ agent: agentWallet, valid: true }], []]);
    const report = await runAuditChecks(input);
    expect(report.checks.filter((c) => c.status === "FAIL")).toEqual([]);
    const [byWallet, byKey] = report.checks.filter((c) => c.name.startsWith("attestation"));
    expect(byWallet).toMatchObject({ name: "attestation replica 0 attempt 1 (Running)", status: "PASS" });
    expect(byWallet.detail).toContain(`ERC-1271 isValidSignature: node 1's agent ${agentWallet} signed it`);
    expect(byKey).toMatchObject({ name: "attestation replica 0 attempt 1 (Failed)", status: "PASS" });
    expect(byKey.detail).toContain(`ECDSA recovery: node 1's agent ${accounts[9].address} signed it`);
    expect(report.verdict).toBe("PASS");
  });
});
