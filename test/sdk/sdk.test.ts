/**
 * The SDK through its package export (`hypha/sdk`): it prepares the seed's examples with the spec
 * part's own hashes (one implementation), its wallet payload signs to the same signature as viem
 * when an independent EIP-712 implementation (@metamask/eth-sig-util) signs it, permits recover to
 * their owner, a wallet's refusal and a wrong chain are typed errors, and SSE blocks parse.
 */
import fs from "node:fs";
import path from "node:path";
import { signTypedData, SignTypedDataVersion } from "@metamask/eth-sig-util";
import { describe, expect, it } from "vitest";
import { devAccount } from "../../src/chain/devAccounts";
import { parseManifests as specParse, computeSpecHash as specHash } from "../../src/spec";
import {
  computeDeploymentId,
  formatHypha,
  hyphaDomain,
  IntentError,
  parseHypha,
  parseSseMessage,
  permitTypedData,
  prepareDeployment,
  recoverPermitSigner,
  signTypedDataWithWallet,
  SpecError,
  typedDataForWallet,
  WalletError,
  type Eip1193Provider,
} from "hypha/sdk";

const EXAMPLES = path.join(__dirname, "..", "..", "examples");
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
const ACCOUNT = devAccount(11);
// the dev key, for the independent signer (Hardhat's well-known mnemonic, account 11)
const KEY = Buffer.from(ACCOUNT.getHdKey().privateKey as Uint8Array);
const IMAGE = `0x${"ab".repeat(32)}` as const;

const base = {
  deployer: ACCOUNT.address,
  imageRoot: IMAGE,
  chainId: 31337,
  deploymentRegistry: REGISTRY,
  budget: 10n ** 19n,
  maxPricePerSecond: 10n ** 15n,
  deadline: 1_900_000_000n,
  nonce: 7n,
};

describe("hypha/sdk", () => {
  it("prepares each seed example with the spec part's own specHash and resources", () => {
    for (const file of ["deployment.yaml", "job.yaml", "zero-image-pod.yaml"]) {
      const manifest = fs.readFileSync(path.join(EXAMPLES, file), "utf8");
      const p = prepareDeployment({ ...base, manifest });
      const [w] = specParse(manifest);
      expect(p.specHash, file).toBe(specHash(w.spec));
      expect(p.name).toBe(w.spec.name);
      expect(p.intent.replicas).toBe(w.spec.replicas);
      expect(p.resources.memoryMiB).toBe(Math.ceil(w.spec.resources.memoryBytes / 2 ** 20));
      expect(p.deploymentId).toBe(computeDeploymentId(hyphaDomain(31337, REGISTRY), p.intent));
      expect(p.maxCostPerHour).toBe(10n ** 15n * BigInt(p.intent.replicas) * 3600n);
      expect(p.typedData.message).toBe(p.intent);
    }
  });

  it("refuses bad input naming the field", () => {
    expect(() => prepareDeployment({ ...base, manifest: "kind: Pod\napiVersion: v1\nspec: {}\n" })).toThrow(SpecError);
    const manifest = fs.readFileSync(path.join(EXAMPLES, "deployment.yaml"), "utf8");
    expect(() => prepareDeployment({ ...base, manifest, budget: 0n })).toThrow(/intent field budget: must be from 1/);
    expect(() => prepareDeployment({ ...base, manifest, workload: 3 })).toThrow(IntentError);
    expect(() => prepareDeployment({ ...base, manifest, workload: 3 })).toThrow(/workload: the manifest holds 1 workload/);
  });

  it("gives a wallet payload that an independent EIP-712 signer signs exactly as viem does", async () => {
    const p = prepareDeployment({ ...base, manifest: fs.readFileSync(path.join(EXAMPLES, "job.yaml"), "utf8") });
    const payload = typedDataForWallet(p.typedData);
    expect(payload.types.EIP712Domain.map((f) => f.name)).toEqual(["name", "version", "chainId", "verifyingContract"]);
    expect(payload.message.budget).toBe("10000000000000000000");
    const independent = signTypedData({ privateKey: KEY, data: payload as never, version: SignTypedDataVersion.V4 });
    expect(independent).toBe(await ACCOUNT.signTypedData(p.typedData));
  });

  it("builds permits that recover to their owner", async () => {
    const domain = { name: "Hypha", version: "1", chainId: 31337, verifyingContract: REGISTRY };
    const message = { owner: ACCOUNT.address, spender: REGISTRY, value: 5n, nonce: 0n, deadline: 1_900_000_000n };
    const sig = await ACCOUNT.signTypedData(permitTypedData(domain, message));
    expect(await recoverPermitSigner(domain, message, sig)).toBe(ACCOUNT.address);
    expect(await recoverPermitSigner(domain, { ...message, value: 6n }, sig)).not.toBe(ACCOUNT.address);
  });

  it("signs through an EIP-1193 provider, refusing a wrong chain and reporting a rejection", async () => {
    const p = prepareDeployment({ ...base, manifest: fs.readFileSync(path.join(EXAMPLES, "deployment.yaml"), "utf8") });
    const calls: string[] = [];
    const wallet = (chainId: number, reject = false): Eip1193Provider => ({
      async request({ method, params }) {
        calls.push(method);
        if (method === "eth_chainId") return `0x${chainId.toString(16)}`;
        if (method === "eth_signTypedData_v4") {
          if (reject) throw Object.assign(new Error("User rejected the request."), { code: 4001 });
          return signTypedData({ privateKey: KEY, data: JSON.parse((params as string[])[1]), version: SignTypedDataVersion.V4 });
        }
        throw new Error(`unexpected ${method}`);
      },
    });
    expect(await signTypedDataWithWallet(wallet(31337), ACCOUNT.address, p.typedData)).toBe(await ACCOUNT.signTypedData(p.typedData));
    calls.length = 0;
    await expect(signTypedDataWithWallet(wallet(1), ACCOUNT.address, p.typedData)).rejects.toThrow(/the wallet is on chain 1, this Hypha is on chain 31337/);
    expect(calls).toEqual(["eth_chainId"]); // nothing was offered for signing
    const rejected = await signTypedDataWithWallet(wallet(31337, true), ACCOUNT.address, p.typedData).catch((e) => e);
    expect(rejected).toBeInstanceOf(WalletError);
    expect(rejected.rejected).toBe(true);
    expect(rejected.message).toMatch(/signing DeploymentIntent: rejected in the wallet/);
  });

  it("formats and parses HYPHA amounts, and parses SSE blocks", () => {
    expect(parseHypha("budget", "1.5")).toBe(1_500_000_000_000_000_000n);
    expect(parseHypha("budget", "12wei")).toBe(12n);
    expect(() => parseHypha("budget", "ten")).toThrow(/budget: not a token amount/);
    expect(formatHypha(1_500_000_000_000_000_000n)).toBe("1.5 HYPHA");
    expect(formatHypha(1n)).toBe("0.000000000000000001 HYPHA");
    expect(formatHypha(1_234_567_000_000_000_000n)).toBe("1.234567 HYPHA");
    expect(parseSseMessage('event: status\nid: 7\ndata: {"status":"Running"}')).toEqual({ event: "status", id: "7", data: { status: "Running" } });
    expect(parseSseMessage(": keep-alive")).toBeUndefined();
  });
});

describe("intentFromWire", () => {
  it("is the inverse of intentToWire, field by field from hyphaTypes", async () => {
    const { intentFromWire, intentToWire } = await import("hypha/sdk");
    const p = prepareDeployment({ ...base, manifest: fs.readFileSync(path.join(EXAMPLES, "job.yaml"), "utf8") });
    expect(intentFromWire(intentToWire(p.intent) as never)).toEqual(p.intent);
  });
});
