/**
 * The limits in src/spec/limits.ts are the contract's own: read back from the compiled
 * DeploymentRegistry on the real in-process chain. A manifest over MAX_REPLICAS is refused when it
 * is validated (naming the field), before it is hashed or signed, in every form and by every
 * override, instead of reverting on the chain.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { buildIntent, IntentError } from "../../src/chain/intentBuilder";
import { applySpecOverrides } from "../../src/cli/intentOptions";
import { CONTRACT_LIMITS, LIMITS, parseManifests, SpecError } from "../../src/spec";
import { inProcessChain, type InProcessChain } from "../helpers/chain";

const deployment = (replicas: number) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: ${replicas}\n  template:\n    spec:\n      containers:\n      - {name: app, image: busybox}\n`;
const job = (completions: number) =>
  `apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  completions: ${completions}\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: app, image: busybox}\n`;
const configMap = (replicas: number) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  contract: |\n    smart_contract:\n      workload_spec:\n        image: busybox\n        replicas: ${replicas}\n`;

function specError(text: string): SpecError {
  try {
    parseManifests(text, { source: "big.yaml" });
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error("expected a SpecError");
}

describe("the contract's limits", () => {
  let chain: InProcessChain;
  beforeAll(async () => {
    chain = await inProcessChain();
  });
  const read = (functionName: "MAX_REPLICAS" | "MIN_RUN_SECONDS") =>
    chain.publicClient.readContract({ address: chain.addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName });

  it("MAX_REPLICAS and MIN_RUN_SECONDS are the compiled contract's", async () => {
    expect(await read("MAX_REPLICAS")).toBe(CONTRACT_LIMITS.maxReplicas);
    expect(await read("MIN_RUN_SECONDS")).toBe(BigInt(CONTRACT_LIMITS.minRunSeconds));
    expect(LIMITS.maxReplicas).toBe(CONTRACT_LIMITS.maxReplicas);
  });
});

describe("a manifest over MAX_REPLICAS", () => {
  it.each([
    ["a Deployment", deployment(300), "spec.replicas"],
    ["a Job", job(300), "spec.completions"],
    ["a signed ConfigMap", configMap(300), "data.contract.smart_contract.workload_spec.replicas"],
  ])("%s of 300 replicas is refused at validation, naming the field", (_kind, text, path) => {
    const err = specError(text);
    expect(err.issues).toEqual([{ document: 0, path, message: "must be at most 255 (the contract's MAX_REPLICAS), got 300" }]);
  });

  it("exactly MAX_REPLICAS validates", () => {
    expect(parseManifests(deployment(LIMITS.maxReplicas))[0].spec.replicas).toBe(LIMITS.maxReplicas);
    expect(parseManifests(job(LIMITS.maxReplicas))[0].spec.replicas).toBe(LIMITS.maxReplicas);
  });

  it("an override (hypha apply --replicas) over the limit is refused, naming the flag", () => {
    const spec = parseManifests(deployment(2))[0].spec;
    expect(() => applySpecOverrides(spec, { replicas: "300" })).toThrow(/--replicas.*255/);
    expect(applySpecOverrides(spec, { replicas: "255" }).replicas).toBe(255);
  });

  it("an intent over the limit is refused before signing, naming the field", () => {
    const input = {
      deployer: "0x71bE63f3384f5fb98995898A86B02Fb2426c5788",
      specHash: `0x${"ab".repeat(32)}`,
      imageRoot: `0x${"cd".repeat(32)}`,
      resources: { cpuMillis: 1, memoryMiB: 1, diskMiB: 0 },
      kind: "service",
      quorum: 0,
      maxPricePerSecond: 1n,
      budget: 10n ** 18n,
      nonce: 1n,
      deadline: 1900000000n,
      maxRetries: 0,
    } as const;
    expect(buildIntent({ ...input, replicas: 255 }).replicas).toBe(255);
    expect(() => buildIntent({ ...input, replicas: 256 })).toThrow(IntentError);
    expect(() => buildIntent({ ...input, replicas: 256 })).toThrow(/^intent field replicas: must be an integer from 1 to 255, got 256$/);
  });
});
