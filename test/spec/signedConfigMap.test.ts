/**
 * The ConfigMap form as a portable signed deployment: renderSignedConfigMap -> parseManifests gives
 * the same spec and hash (for every example and for random specs), the intent fields survive, and
 * checkSignedContract reports placeholders and mismatches with the expected and found hashes.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { privateKeyToAccount } from "viem/accounts";
import { recoverTypedDataAddress } from "viem";
import { hyphaDomain, intentTypedData, Kind } from "../../src/chain/eip712";
import { devPrivateKey } from "../../src/chain/devAccounts";
import {
  checkSignedContract,
  computeSpecHash,
  intentWorkloadFields,
  parseManifests,
  renderSignedConfigMap,
  SpecError,
  type WorkloadSpec,
} from "../../src/spec";

const examples = ["deployment.yaml", "zero-image-pod.yaml", "smart-contract.yaml", "job.yaml"];
const intent = {
  deployer: "0x71bE63f3384f5fb98995898A86B02Fb2426c5788",
  imageRoot: "0x" + "2a".repeat(32),
  nonce: 18446744073709551615n,
  deadline: 1_900_000_000n,
  budget: 10n ** 24n,
  maxPricePerSecond: 1000n,
  maxRetries: 3,
  maxRunSeconds: 0,
  chainId: 31337,
  verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
};

describe("renderSignedConfigMap", () => {
  it.each(examples)("round-trips %s: same spec, same hash, intent fields kept", (file) => {
    const [w] = parseManifests(readFileSync(`examples/${file}`, "utf8"));
    const hash = computeSpecHash(w.spec);
    const yaml = renderSignedConfigMap(w.spec, { verificationHash: hash, signature: "0x" + "ab".repeat(65), intent }, "signed-contract");
    const [back] = parseManifests(yaml);
    expect(back.source).toBe("ConfigMap");
    expect(back.spec).toEqual(w.spec);
    expect(computeSpecHash(back.spec)).toBe(hash);
    expect(back.signed).toEqual({
      verificationHash: hash,
      signature: "0x" + "ab".repeat(65),
      placeholder: false,
      intent: {
        deployer: intent.deployer.toLowerCase(),
        imageRoot: intent.imageRoot,
        nonce: "18446744073709551615",
        deadline: "1900000000",
        budget: "1000000000000000000000000",
        maxPricePerSecond: "1000",
        maxRetries: "3",
        maxRunSeconds: "0",
        chainId: "31337",
        verifyingContract: intent.verifyingContract.toLowerCase(),
      },
    });
    expect(checkSignedContract(back)).toBe(hash);
    // keeps the seed's shape
    expect(yaml).toMatch(/kind: ConfigMap[\s\S]*contract: \|[\s\S]*smart_contract:[\s\S]*signature:[\s\S]*workload_spec:[\s\S]*verification_hash:/);
  });

  it("round-trips random specs (fast-check over the Kubernetes forms' fields)", () => {
    const specArb = fc
      .record({
        replicas: fc.integer({ min: 1, max: 255 }),
        command: fc.option(fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 3 }), { nil: null }),
        args: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
        env: fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,5}$/), value: fc.string({ maxLength: 8 }) }), {
          selector: (e) => e.name,
          maxLength: 3,
        }),
        cpu: fc.integer({ min: 1, max: 100_000 }),
        mem: fc.integer({ min: 1, max: 2 ** 44 }),
        job: fc.boolean(),
        port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }),
      })
      .map(
        ({ replicas, command, args, env, cpu, mem, job, port }): WorkloadSpec => ({
          format: "hypha.spec/v1",
          name: "w",
          kind: job ? "job" : "service",
          image: "busybox",
          command,
          args,
          env: [...env].sort((a, b) => (a.name < b.name ? -1 : 1)),
          workingDir: "/work",
          resources: { cpuMillis: cpu, memoryBytes: mem, diskBytes: 300 * 1024 * 1024 },
          replicas,
          restartPolicy: job ? "OnFailure" : "Always",
          ports: port === null ? [] : [{ containerPort: port, protocol: "UDP", name: "p" }],
          labels: { app: "w" },
          job: job ? { quorum: Math.ceil(replicas / 2), outputs: ["/out/a", "/out/b"], backoffLimit: 1 } : null,
        }),
      );
    fc.assert(
      fc.property(specArb, (spec) => {
        const yaml = renderSignedConfigMap(spec, { verificationHash: computeSpecHash(spec), signature: "0x01" });
        const [back] = parseManifests(yaml);
        expect(back.spec).toEqual(spec);
        expect(back.signed?.intent).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });

  it("refuses to write a hash that is not the spec's", () => {
    const [w] = parseManifests(readFileSync("examples/deployment.yaml", "utf8"));
    expect(() => renderSignedConfigMap(w.spec, { verificationHash: "0x" + "00".repeat(32), signature: "0x01" })).toThrow(
      /expected 0x[0-9a-f]{64}, found 0x0{64}/,
    );
  });

  it("a real EIP-712 signature over the intent survives the file and recovers the deployer", async () => {
    const account = privateKeyToAccount(devPrivateKey(11));
    const [w] = parseManifests(readFileSync("examples/smart-contract.yaml", "utf8"));
    const specHash = computeSpecHash(w.spec);
    const domain = hyphaDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
    const message = {
      deployer: account.address,
      specHash,
      imageRoot: intent.imageRoot as `0x${string}`,
      ...intentWorkloadFields(w.spec),
      maxPricePerSecond: 1000n,
      budget: 10n ** 18n,
      nonce: 7n,
      deadline: 1_900_000_000n,
      maxRetries: 3,
      maxRunSeconds: 0,
    };
    const signature = await account.signTypedData(intentTypedData(domain, message));
    const yaml = renderSignedConfigMap(
      w.spec,
      { verificationHash: specHash, signature, intent: { ...message, deployer: account.address } },
      "deployment-contract",
    );
    const [back] = parseManifests(yaml);
    const i = back.signed!.intent!;
    const rebuilt = {
      deployer: i.deployer as `0x${string}`,
      specHash: back.signed!.verificationHash as `0x${string}`,
      imageRoot: i.imageRoot as `0x${string}`,
      ...intentWorkloadFields(back.spec),
      maxPricePerSecond: BigInt(i.maxPricePerSecond),
      budget: BigInt(i.budget),
      nonce: BigInt(i.nonce),
      deadline: BigInt(i.deadline),
      maxRetries: Number(i.maxRetries),
      maxRunSeconds: Number(i.maxRunSeconds ?? 0),
    };
    expect(rebuilt.kind).toBe(Kind.Service);
    const recovered = await recoverTypedDataAddress({ ...intentTypedData(domain, rebuilt), signature: back.signed!.signature as `0x${string}` });
    expect(recovered).toBe(account.address);
  });
});

describe("checkSignedContract", () => {
  it("placeholder: shows the computed hash and points to hypha sign", () => {
    const [w] = parseManifests(readFileSync("examples/smart-contract.yaml", "utf8"));
    const hash = computeSpecHash(w.spec);
    expect(() => checkSignedContract(w, "examples/smart-contract.yaml")).toThrow(new RegExp(`specHash is ${hash}.*hypha sign -f examples/smart-contract.yaml`));
  });

  it("a verification_hash from another spec: expected and found", () => {
    const [a] = parseManifests(readFileSync("examples/deployment.yaml", "utf8"));
    const yaml = renderSignedConfigMap(a.spec, { verificationHash: computeSpecHash(a.spec), signature: "0x01" });
    const tampered = yaml.replace("replicas: 3", "replicas: 4");
    expect(tampered).not.toBe(yaml);
    const [t] = parseManifests(tampered);
    let err: SpecError | undefined;
    try {
      checkSignedContract(t);
    } catch (e) {
      err = e as SpecError;
    }
    expect(err).toBeInstanceOf(SpecError);
    expect(err!.issues[0].path).toBe("data.contract.smart_contract.workload_spec.verification_hash");
    expect(err!.issues[0].message).toBe(
      `does not match the workload: expected ${computeSpecHash(t.spec)} (computed from workload_spec), found ${computeSpecHash(a.spec)}`,
    );
  });

  it("plain Kubernetes workloads just return their hash", () => {
    const [w] = parseManifests(readFileSync("examples/job.yaml", "utf8"));
    expect(checkSignedContract(w)).toBe(computeSpecHash(w.spec));
  });
});
