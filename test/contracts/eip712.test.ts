/**
 * EIP-712: digests and signatures made with viem (src/chain/eip712.ts) agree with an independent
 * implementation (@metamask/eth-sig-util signTypedData V4) and with the contract; both are accepted
 * on-chain. ERC-1271 smart wallets submit intents; EIP-2098 compact signatures are accepted and
 * malleable (high-s) ones rejected.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SignTypedDataVersion, TypedDataUtils, signTypedData } from "@metamask/eth-sig-util";
import {
  encodeFunctionData,
  getAddress,
  hashTypedData,
  keccak256,
  parseEther,
  parseSignature,
  serializeCompactSignature,
  signatureToCompactSignature,
  toHex,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { deploymentRegistryAbi, hyphaTokenAbi } from "../../src/chain/abi";
import { devPrivateKey } from "../../src/chain/devAccounts";
import { attestationTypedData, hyphaTypes, intentTypedData, type Attestation, type DeploymentIntent } from "../../src/chain/eip712";
import { loadBytecode } from "../../src/chain/deploy";
import { inProcessChain, type InProcessChain } from "../helpers/chain";
import {
  AGENTS,
  DEPLOYER,
  MEASUREMENT,
  ORCH,
  approve,
  approveMeasurementOnChain,
  domain,
  dr,
  expectRevert,
  getDeployment,
  getReplica,
  intentId,
  makeIntent,
  registerNode,
  schedule,
  send,
  stateReader,
  tok,
} from "./fixtures";

let c: InProcessChain;
let snap: string;
beforeAll(async () => {
  c = await inProcessChain();
});
beforeEach(async () => {
  snap = await c.snapshot();
});
afterEach(async () => {
  await c.revert(snap);
});

/** The typed data as eth-sig-util wants it: explicit EIP712Domain type, bigints as decimal strings. */
function metamaskData(primaryType: "DeploymentIntent" | "Attestation", message: DeploymentIntent | Attestation) {
  const d = domain(c);
  return {
    types: {
      EIP712Domain: [
        { name: "name", type: "string" },
        { name: "version", type: "string" },
        { name: "chainId", type: "uint256" },
        { name: "verifyingContract", type: "address" },
      ],
      DeploymentIntent: hyphaTypes.DeploymentIntent.map((f) => ({ ...f })),
      Attestation: hyphaTypes.Attestation.map((f) => ({ ...f })),
    },
    primaryType,
    domain: { name: d.name, version: d.version, chainId: Number(d.chainId), verifyingContract: d.verifyingContract },
    message: JSON.parse(JSON.stringify(message, (_k, v) => (typeof v === "bigint" ? v.toString() : v))),
  } as const;
}

function keyBuffer(i: number): Buffer {
  return Buffer.from(devPrivateKey(i).slice(2), "hex");
}

describe("EIP-712 against @metamask/eth-sig-util", () => {
  it("type hashes in the contract equal eth-sig-util's hashType of src/chain/eip712.ts", async () => {
    const data = metamaskData("DeploymentIntent", makeIntent(c));
    const intentType = `0x${TypedDataUtils.hashType("DeploymentIntent", data.types as never).toString("hex")}`;
    const attType = `0x${TypedDataUtils.hashType("Attestation", data.types as never).toString("hex")}`;
    expect(await c.publicClient.readContract({ ...dr(c), functionName: "INTENT_TYPEHASH" })).toBe(intentType);
    expect(await c.publicClient.readContract({ ...dr(c), functionName: "ATTESTATION_TYPEHASH" })).toBe(attType);
  });

  it("an intent: same digest (viem, eth-sig-util, contract id), same signature, accepted on-chain", async () => {
    // extreme values: nonce above 2^63, maxRunSeconds at the top of uint32, a price limit near what the budget allows
    const intent = makeIntent(c, {
      replicas: 3,
      kind: 1,
      quorum: 2,
      nonce: 2n ** 63n + 5n,
      budget: parseEther("12.5"),
      maxPricePerSecond: 2n ** 55n + 7n,
      maxRunSeconds: 2 ** 32 - 1,
    });
    const data = metamaskData("DeploymentIntent", intent);
    const mmDigest = `0x${TypedDataUtils.eip712Hash(data as never, SignTypedDataVersion.V4).toString("hex")}`;
    const viemDigest = hashTypedData(intentTypedData(domain(c), intent));
    expect(viemDigest).toBe(mmDigest);
    expect(await intentId(c, intent)).toBe(mmDigest);
    const mmSig = signTypedData({ privateKey: keyBuffer(DEPLOYER), data: data as never, version: SignTypedDataVersion.V4 });
    const viemSig = await c.accounts[DEPLOYER].signTypedData(intentTypedData(domain(c), intent));
    expect(viemSig).toBe(mmSig);
    await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
    await send(c, 12, { ...dr(c), functionName: "submitIntent", args: [intent, mmSig as Hex] });
    expect((await getDeployment(c, mmDigest as Hex)).status).toBe(1);
  });

  it("an attestation: same digest (viem, eth-sig-util, contract), eth-sig-util's signature accepted on-chain", async () => {
    await registerNode(c, 0);
    await approveMeasurementOnChain(c);
    await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
    const intent = makeIntent(c);
    const id = await intentId(c, intent);
    await send(c, 12, { ...dr(c), functionName: "submitIntent", args: [intent, await c.accounts[DEPLOYER].signTypedData(intentTypedData(domain(c), intent))] });
    await schedule(c, intent, [{ replicaIndex: 0, nodeId: 1 }]);
    const att: Attestation = {
      deploymentId: id,
      replicaIndex: 0,
      nodeId: 1,
      attempt: 1,
      status: 0,
      measurement: MEASUREMENT,
      outputHash: keccak256(toHex("out")),
      timestamp: 1_700_000_123n,
    };
    const data = metamaskData("Attestation", att);
    const mmDigest = `0x${TypedDataUtils.eip712Hash(data as never, SignTypedDataVersion.V4).toString("hex")}`;
    expect(hashTypedData(attestationTypedData(domain(c), att))).toBe(mmDigest);
    expect(await c.publicClient.readContract({ ...dr(c), functionName: "attestationDigest", args: [att] })).toBe(mmDigest);
    const mmSig = signTypedData({ privateKey: keyBuffer(AGENTS[0]), data: data as never, version: SignTypedDataVersion.V4 });
    expect(await c.accounts[AGENTS[0]].signTypedData(attestationTypedData(domain(c), att))).toBe(mmSig);
    await send(c, 17, { ...dr(c), functionName: "attest", args: [att, mmSig as Hex] });
    expect((await getReplica(c, id, 0)).status).toBe(2);
  });
});

describe("signature forms", () => {
  it("EIP-2098 compact signatures are accepted; high-s (malleable) ones are rejected", async () => {
    await approve(c, DEPLOYER, c.addresses.deploymentRegistry);
    const intent = makeIntent(c);
    const sig = await c.accounts[DEPLOYER].signTypedData(intentTypedData(domain(c), intent));
    const { r, s, yParity } = parseSignature(sig);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const highS = `${r}${(n - BigInt(s)).toString(16).padStart(64, "0")}${yParity === 0 ? "1c" : "1b"}` as Hex;
    await expectRevert(c, 12, { ...dr(c), functionName: "submitIntent", args: [intent, highS] }, "InvalidSignature", [intent.deployer], stateReader(c));
    const compact = serializeCompactSignature(signatureToCompactSignature(parseSignature(sig)));
    expect((compact.length - 2) / 2).toBe(64);
    await send(c, 12, { ...dr(c), functionName: "submitIntent", args: [intent, compact] });
    expect((await getDeployment(c, await intentId(c, intent))).status).toBe(1);
  });
});

describe("ERC-1271 contract wallet", () => {
  it("a smart wallet's intent (signed by its owner, checked via isValidSignature) is accepted; others' are not", async () => {
    const artifact = JSON.parse(
      fs.readFileSync(path.join(__dirname, "../../artifacts/contracts/test/MockERC1271Wallet.sol/MockERC1271Wallet.json"), "utf8"),
    ) as { abi: Abi };
    const owner = 13;
    const wc = c.walletClients[owner];
    const hash = await wc.deployContract({
      abi: artifact.abi,
      bytecode: loadBytecode("MockERC1271Wallet", undefined, "contracts/test"),
      args: [c.accounts[owner].address],
      account: wc.account!,
      chain: wc.chain,
    });
    const wallet = getAddress((await c.publicClient.waitForTransactionReceipt({ hash })).contractAddress as Address);
    await send(c, 0, { ...tok(c), functionName: "mint", args: [wallet, parseEther("100")] });
    const approveData = encodeFunctionData({ abi: hyphaTokenAbi, functionName: "approve", args: [c.addresses.deploymentRegistry, parseEther("100")] });
    await send(c, owner, { address: wallet, abi: artifact.abi as never, functionName: "execute", args: [c.addresses.token, approveData] });
    await expectRevert(
      c,
      14,
      { address: wallet, abi: artifact.abi as never, functionName: "execute", args: [c.addresses.token, approveData] },
      "unknown(0x245aecd3)",
    ); // NotOwner(address): the mock wallet only runs its owner's calls

    const intent: DeploymentIntent = makeIntent(c, { deployer: wallet });
    const digest = hashTypedData(intentTypedData(domain(c), intent));
    const bad = await c.accounts[14].sign({ hash: digest });
    await expectRevert(c, 12, { ...dr(c), functionName: "submitIntent", args: [intent, bad] }, "InvalidSignature", [wallet], stateReader(c));
    const sig = await c.accounts[owner].sign({ hash: digest });
    await send(c, 12, { ...dr(c), functionName: "submitIntent", args: [intent, sig] });
    const d = await getDeployment(c, digest);
    expect(d.status).toBe(1);
    expect(d.escrow).toBe(intent.budget);
    expect(await c.publicClient.readContract({ ...tok(c), functionName: "balanceOf", args: [wallet] })).toBe(parseEther("100") - intent.budget);
  });
});
