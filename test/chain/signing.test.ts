/**
 * EIP-712 signing checked against an independent implementation (@metamask/eth-sig-util): the
 * deployment id equals its eip712Hash, our signatures equal its signTypedData V4, and its recovery
 * names the signer. The on-chain check is in test/cli/cli.test.ts (the contract accepts them).
 */
import { SignTypedDataVersion, TypedDataUtils, recoverTypedSignature, signTypedData } from "@metamask/eth-sig-util";
import { describe, expect, it } from "vitest";
import { bytesToHex, getAddress, verifyTypedData, type TypedDataDomain } from "viem";
import { devAccount, devPrivateKey } from "../../src/chain/devAccounts";
import { attestationTypedData, hyphaTypes, intentTypedData, type Attestation, type DeploymentIntent } from "../../src/chain/eip712";
import { computeDeploymentId, domainFor, recoverAttestationSigner, recoverIntentSigner, signAttestation, signIntent } from "../../src/chain/signing";

const domain: TypedDataDomain = domainFor({ chainId: 31337, deploymentRegistry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" });
const deployer = devAccount(11);
const intent: DeploymentIntent = {
  deployer: deployer.address,
  specHash: `0x${"ab".repeat(32)}`,
  imageRoot: `0x${"cd".repeat(32)}`,
  replicas: 3,
  cpuMillis: 500,
  memoryMiB: 128,
  diskMiB: 256,
  maxPricePerSecond: 10n ** 15n,
  budget: 5n * 10n ** 18n,
  nonce: 18446744073709551615n,
  deadline: 1900000000n,
  kind: 0,
  quorum: 0,
  maxRetries: 3,
  maxRunSeconds: 0,
};
const attestation: Attestation = {
  deploymentId: `0x${"11".repeat(32)}`,
  replicaIndex: 2,
  nodeId: 3,
  attempt: 1,
  status: 0,
  measurement: `0x${"22".repeat(32)}`,
  outputHash: `0x${"00".repeat(32)}`,
  timestamp: 1700000000n,
};

/** The same typed data in eth-sig-util's shape (numbers as decimal strings). */
function metamaskData(primaryType: "DeploymentIntent" | "Attestation", message: object) {
  const types = {
    EIP712Domain: [
      { name: "name", type: "string" },
      { name: "version", type: "string" },
      { name: "chainId", type: "uint256" },
      { name: "verifyingContract", type: "address" },
    ],
    DeploymentIntent: [...hyphaTypes.DeploymentIntent],
    Attestation: [...hyphaTypes.Attestation],
  };
  const msg = Object.fromEntries(Object.entries(message).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v]));
  return { types, primaryType, domain: domain as Record<string, unknown>, message: msg } as never;
}

describe("EIP-712 signing", () => {
  it("deployment id equals eth-sig-util's eip712Hash", () => {
    const independent = bytesToHex(TypedDataUtils.eip712Hash(metamaskData("DeploymentIntent", intent), SignTypedDataVersion.V4));
    expect(computeDeploymentId(domain, intent)).toBe(independent);
  });

  it("intent signature equals eth-sig-util's signTypedData V4 and recovers to the deployer", async () => {
    const sig = await signIntent(deployer, domain, intent);
    const pk = Buffer.from(devPrivateKey(11).slice(2), "hex");
    expect(sig).toBe(signTypedData({ privateKey: pk, data: metamaskData("DeploymentIntent", intent), version: SignTypedDataVersion.V4 }));
    expect(getAddress(recoverTypedSignature({ data: metamaskData("DeploymentIntent", intent), signature: sig, version: SignTypedDataVersion.V4 }))).toBe(
      deployer.address,
    );
    expect(await recoverIntentSigner(domain, intent, sig)).toBe(deployer.address);
    expect(await verifyTypedData({ address: deployer.address, ...intentTypedData(domain, intent), signature: sig })).toBe(true);
  });

  it("attestation signature matches eth-sig-util and recovers to the agent", async () => {
    const agent = devAccount(8);
    const sig = await signAttestation(agent, domain, attestation);
    const pk = Buffer.from(devPrivateKey(8).slice(2), "hex");
    expect(sig).toBe(signTypedData({ privateKey: pk, data: metamaskData("Attestation", attestation), version: SignTypedDataVersion.V4 }));
    expect(await recoverAttestationSigner(domain, attestation, sig)).toBe(agent.address);
    expect(await verifyTypedData({ address: agent.address, ...attestationTypedData(domain, attestation), signature: sig })).toBe(true);
  });

  it("any changed field changes the id and breaks the signature", async () => {
    const sig = await signIntent(deployer, domain, intent);
    const changed = { ...intent, budget: intent.budget + 1n };
    expect(computeDeploymentId(domain, changed)).not.toBe(computeDeploymentId(domain, intent));
    expect(await recoverIntentSigner(domain, changed, sig)).not.toBe(deployer.address);
    const otherChain = { ...domain, chainId: 1 };
    expect(computeDeploymentId(otherChain, intent)).not.toBe(computeDeploymentId(domain, intent));
  });
});
