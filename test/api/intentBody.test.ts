/**
 * The pure parser of POST /v1/intents bodies: what a wallet app sends becomes the exact
 * DeploymentIntent that was signed, and every bad field is named with its reason.
 */
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors";
import { parseIntentSubmission } from "../../src/api/intentBody";
import { httpStatusOf } from "../../src/api/httpStatus";
import { AlreadySubmittedError } from "../../src/api/relayIntent";
import { ChainError, ChainRefusedError, ChainUnavailableError } from "../../src/chain/chainError";

const good = {
  deployer: "0x71bE63f3384f5fb98995898A86B02Fb2426c5788",
  specHash: "0x" + "AB".repeat(32),
  imageRoot: "0x" + "22".repeat(32),
  replicas: 3,
  cpuMillis: "250",
  memoryMiB: 64,
  diskMiB: 0,
  maxPricePerSecond: "1000000000000000",
  budget: "79228162514264337593543950335", // 2^96 - 1: beyond a JS number
  nonce: "18446744073709551615", // 2^64 - 1
  deadline: 1900000000,
  kind: "job",
  quorum: 2,
  maxRetries: 1,
};
const signature = "0x" + "11".repeat(65);

function fieldOf(body: unknown): string {
  try {
    parseIntentSubmission(body);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return `${(err as InputError).field}: ${(err as InputError).reason}`;
  }
  throw new Error("accepted");
}

describe("parseIntentSubmission", () => {
  it("turns the wire form into the signed intent, exactly", () => {
    const { intent, signature: sig, spec } = parseIntentSubmission({ intent: good, signature, spec: "{}" });
    expect(intent).toEqual({
      deployer: good.deployer,
      specHash: "0x" + "ab".repeat(32),
      imageRoot: good.imageRoot,
      replicas: 3,
      cpuMillis: 250,
      memoryMiB: 64,
      diskMiB: 0,
      maxPricePerSecond: 10n ** 15n,
      budget: 2n ** 96n - 1n,
      nonce: 2n ** 64n - 1n,
      deadline: 1900000000n,
      kind: 1,
      quorum: 2,
      maxRetries: 1,
      maxRunSeconds: 3600, // a job's default: not on the wire here
    });
    expect(sig).toBe(signature);
    expect(spec).toBe("{}");
    // kind as a number, a 64-byte EIP-2098 signature
    expect(parseIntentSubmission({ intent: { ...good, kind: 0, quorum: 0 }, signature: "0x" + "11".repeat(64) }).intent.kind).toBe(0);
  });

  it("names the field and the reason", () => {
    expect(fieldOf(null)).toMatch(/^body: /);
    expect(fieldOf({ signature })).toBe("intent: required");
    expect(fieldOf({ intent: good })).toMatch(/^signature: required/);
    expect(fieldOf({ intent: { ...good, budget: "2e18" }, signature })).toMatch(/^intent.budget: .*decimal/);
    expect(fieldOf({ intent: { ...good, budget: "79228162514264337593543950336" }, signature })).toMatch(/^intent.budget: must be from 1 to/);
    expect(fieldOf({ intent: { ...good, replicas: -1 }, signature })).toMatch(/^intent.replicas: /);
    expect(fieldOf({ intent: { ...good, kind: "batch" }, signature })).toMatch(/^intent.kind: /);
    expect(fieldOf({ intent: { ...good, quorum: 4 }, signature })).toMatch(/^intent.quorum: must be an integer from 1 to 3/);
    expect(fieldOf({ intent: { ...good, specHash: "0x12" }, signature })).toMatch(/^intent.specHash: must be 0x \+ 64 hex/);
    expect(fieldOf({ intent: good, signature: "0xzz" })).toMatch(/^signature: must be 0x followed by 128/);
    expect(fieldOf({ intent: good, signature, spec: 7 })).toMatch(/^spec: /);
  });
});

describe("httpStatusOf", () => {
  it("maps refusals to HTTP statuses", () => {
    expect(httpStatusOf(new InputError("intent.deadline", "expired"))).toBe(400);
    expect(httpStatusOf(new AlreadySubmittedError("intent", "submitted already"))).toBe(409);
    expect(httpStatusOf(new ChainRefusedError("x", { errorName: "AlreadySubmitted" }))).toBe(409);
    expect(httpStatusOf(new ChainRefusedError("x", { errorName: "InvalidIntent" }))).toBe(422);
    expect(httpStatusOf(new ChainUnavailableError("cannot reach the chain"))).toBe(502);
    expect(httpStatusOf(new ChainRefusedError("unknown deployment 0x12", { errorName: "UnknownDeployment" }))).toBe(404);
    expect(httpStatusOf(new ChainRefusedError("unknown node 7", { errorName: "UnknownNode" }))).toBe(404);
    // a plain ChainError only wraps: its cause decides
    expect(httpStatusOf(new ChainError("submitting: x: bad", { cause: new InputError("x", "bad") }))).toBe(400);
    expect(httpStatusOf(new Error("anything else"))).toBe(502);
  });
});
