/**
 * Builds a DeploymentIntent from a workload's facts and the deployer's choices, and checks each
 * field against its on-chain width before anything is signed. Pure: no clock or randomness of its
 * own (the caller passes nonce and deadline).
 */
import { isAddress, isHex, zeroHash, type Address, type Hex } from "viem";
import { InputError } from "../errors";
import { CONTRACT_LIMITS } from "../spec/limits";
import { Kind, type DeploymentIntent } from "./eip712";

export interface IntentInput {
  deployer: Address;
  specHash: Hex;
  imageRoot: Hex;
  replicas: number;
  resources: { cpuMillis: number; memoryMiB: number; diskMiB: number };
  kind: "service" | "job";
  /** Jobs: replicas that must agree on the output; services must use 0. */
  quorum: number;
  maxPricePerSecond: bigint;
  budget: bigint;
  nonce: bigint;
  deadline: bigint;
  maxRetries: number;
  /** Most seconds one replica placement is paid for: jobs need >= 1 (default 3600), services 0 = no cap. */
  maxRunSeconds?: number;
}

/** A job's default maximum paid run time per replica placement, in seconds. */
export const DEFAULT_JOB_MAX_RUN_SECONDS = 3600;
/** An intent's budget must pay every replica this long at its price limit (the contract's MIN_RUN_SECONDS). */
const MIN_RUN_SECONDS = BigInt(CONTRACT_LIMITS.minRunSeconds);

const MAX = { u8: 2 ** 8 - 1, u32: 2 ** 32 - 1, u64: 2n ** 64n - 1n, u96: 2n ** 96n - 1n };

/** A bad intent field, named, with the reason. */
export class IntentError extends InputError {
  override name = "IntentError";
  constructor(field: string, reason: string) {
    super(field, reason, { label: "intent field " });
  }
}

function intIn(field: string, v: number, min: number, max: number) {
  if (!Number.isInteger(v) || v < min || v > max) throw new IntentError(field, `must be an integer from ${min} to ${max}, got ${v}`);
}
function bigIn(field: string, v: bigint, min: bigint, max: bigint) {
  if (typeof v !== "bigint" || v < min || v > max) throw new IntentError(field, `must be from ${min} to ${max}, got ${v}`);
}

/**
 * Validates the inputs and returns the intent to sign.
 * @example buildIntent({ deployer, specHash, imageRoot, replicas: 2, resources, kind: "service", quorum: 0, maxPricePerSecond: 10n**15n, budget: 10n**18n, nonce: 1n, deadline: 1900000000n, maxRetries: 3 })
 */
export function buildIntent(input: IntentInput): DeploymentIntent {
  if (!isAddress(input.deployer)) throw new IntentError("deployer", `not an address: ${input.deployer}`);
  for (const f of ["specHash", "imageRoot"] as const) {
    if (!isHex(input[f]) || input[f].length !== 66) throw new IntentError(f, `must be 0x + 64 hex digits, got ${input[f]}`);
  }
  if (input.specHash === zeroHash) throw new IntentError("specHash", "must not be zero");
  intIn("replicas", input.replicas, 1, CONTRACT_LIMITS.maxReplicas);
  intIn("cpuMillis", input.resources.cpuMillis, 1, MAX.u32);
  intIn("memoryMiB", input.resources.memoryMiB, 1, MAX.u32);
  intIn("diskMiB", input.resources.diskMiB, 0, MAX.u32);
  bigIn("maxPricePerSecond", input.maxPricePerSecond, 0n, MAX.u96);
  bigIn("budget", input.budget, 1n, MAX.u96);
  bigIn("nonce", input.nonce, 0n, MAX.u64);
  bigIn("deadline", input.deadline, 1n, MAX.u64);
  intIn("maxRetries", input.maxRetries, 0, MAX.u8);
  if (input.kind === "service") {
    if (input.quorum !== 0) throw new IntentError("quorum", `a service has no quorum (must be 0), got ${input.quorum}`);
  } else if (input.kind === "job") {
    intIn("quorum", input.quorum, 1, Math.min(MAX.u8, input.replicas));
    if (2 * input.quorum <= input.replicas) {
      throw new IntentError(
        "quorum",
        `must be a strict majority of the ${input.replicas} replicas (at least ${Math.floor(input.replicas / 2) + 1}), got ${input.quorum}`,
      );
    }
  } else {
    throw new IntentError("kind", `must be service or job, got ${input.kind}`);
  }
  const maxRunSeconds = input.maxRunSeconds ?? (input.kind === "job" ? DEFAULT_JOB_MAX_RUN_SECONDS : 0);
  intIn("maxRunSeconds", maxRunSeconds, input.kind === "job" ? 1 : 0, MAX.u32);
  const minimum = BigInt(input.replicas) * input.maxPricePerSecond * MIN_RUN_SECONDS;
  if (input.budget < minimum) {
    throw new IntentError("budget", `must pay every replica ${MIN_RUN_SECONDS} s at maxPricePerSecond (at least ${minimum} wei), got ${input.budget}`);
  }
  return {
    deployer: input.deployer,
    specHash: input.specHash.toLowerCase() as Hex,
    imageRoot: input.imageRoot.toLowerCase() as Hex,
    replicas: input.replicas,
    cpuMillis: input.resources.cpuMillis,
    memoryMiB: input.resources.memoryMiB,
    diskMiB: input.resources.diskMiB,
    maxPricePerSecond: input.maxPricePerSecond,
    budget: input.budget,
    nonce: input.nonce,
    deadline: input.deadline,
    kind: input.kind === "job" ? Kind.Job : Kind.Service,
    quorum: input.quorum,
    maxRetries: input.maxRetries,
    maxRunSeconds,
  };
}

/**
 * A random 64-bit nonce (intents from one deployer differ by nonce).
 * @example randomNonce() // 1234567890123456789n
 */
export function randomNonce(): bigint {
  const b = new BigUint64Array(1);
  crypto.getRandomValues(b);
  return b[0];
}
