/**
 * buildIntent checks every field against its on-chain width and the contract's rules before
 * anything is signed, naming the field; randomNonce covers the uint64 range.
 */
import { describe, expect, it } from "vitest";
import { buildIntent, IntentError, randomNonce, type IntentInput } from "../../src/chain/intentBuilder";

const base: IntentInput = {
  deployer: "0x71bE63f3384f5fb98995898A86B02Fb2426c5788",
  specHash: `0x${"AB".repeat(32)}`,
  imageRoot: `0x${"cd".repeat(32)}`,
  replicas: 2,
  resources: { cpuMillis: 500, memoryMiB: 128, diskMiB: 256 },
  kind: "service",
  quorum: 0,
  maxPricePerSecond: 10n ** 15n,
  budget: 10n ** 18n,
  nonce: 1n,
  deadline: 1900000000n,
  maxRetries: 3,
};

describe("buildIntent", () => {
  it("builds the intent with lower-case hashes and the numeric kind", () => {
    const i = buildIntent({ ...base, kind: "job", quorum: 2 });
    expect(i).toMatchObject({ specHash: `0x${"ab".repeat(32)}`, kind: 1, quorum: 2, replicas: 2, cpuMillis: 500 });
  });

  it.each([
    [{ replicas: 0 }, "replicas"],
    [{ replicas: 70000 }, "replicas"],
    [{ resources: { cpuMillis: 0, memoryMiB: 1, diskMiB: 0 } }, "cpuMillis"],
    [{ resources: { cpuMillis: 1, memoryMiB: 1.5, diskMiB: 0 } }, "memoryMiB"],
    [{ budget: 0n }, "budget"],
    [{ budget: 2n ** 96n }, "budget"],
    [{ nonce: 2n ** 64n }, "nonce"],
    [{ maxRetries: 256 }, "maxRetries"],
    [{ quorum: 1 }, "quorum"],
    [{ kind: "job" as const, quorum: 3 }, "quorum"],
    [{ kind: "job" as const, quorum: 0 }, "quorum"],
    [{ specHash: "0x1234" as const }, "specHash"],
    [{ specHash: `0x${"00".repeat(32)}` as const }, "specHash"],
    [{ deployer: "0xnope" as const }, "deployer"],
  ])("rejects %o naming %s", (patch, field) => {
    const err = (() => {
      try {
        buildIntent({ ...base, ...patch } as IntentInput);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(IntentError);
    expect((err as IntentError).field).toBe(field);
    expect((err as IntentError).shortMessage).toMatch(new RegExp(`^intent field ${field}: `));
  });

  it("random nonces are distinct uint64 values", () => {
    const seen = new Set(Array.from({ length: 200 }, () => randomNonce()));
    expect(seen.size).toBe(200);
    for (const n of seen) expect(n >= 0n && n < 2n ** 64n).toBe(true);
  });
});
