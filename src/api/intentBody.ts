/**
 * The body of `POST /v1/intents`, parsed and checked (pure): the DeploymentIntent exactly as the
 * wallet signed it (EIP-712 field names; uint64/uint96 amounts as decimal strings, small integers
 * as numbers or strings), the signature, and optionally the canonical spec JSON so the API can
 * publish it for the agents. Every problem names its field.
 */
import { isHex, type Hex } from "viem";
import { z } from "zod";
import type { DeploymentIntent } from "../chain/eip712";
import { buildIntent, IntentError } from "../chain/intentBuilder";
import { InputError } from "../errors";

/** An ERC-2612 permit by the deployer for the DeploymentRegistry (owner and spender implied). */
export interface IntentPermit {
  value: bigint;
  deadline: bigint;
  signature: Hex;
}

export interface IntentSubmission {
  intent: DeploymentIntent;
  signature: Hex;
  /** Canonical spec JSON whose sha256 is the intent's specHash, when the caller sent it. */
  spec?: string;
  /** Lets the relayer set the registry's allowance first, so the deployer sends no approve. */
  permit?: IntentPermit;
}

const integer = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, "a non-negative integer")]);
const bigUint = z.union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d+$/, "a decimal string of digits")]);

const signatureText = (what: string) => z.string({ error: `required: ${what} (0x...)` });

/** The DeploymentIntent as the wallet signed it (EIP-712 field names). */
export const wireIntentSchema = z
  .object(
    {
      deployer: z.string(),
      specHash: z.string(),
      imageRoot: z.string(),
      replicas: integer,
      cpuMillis: integer,
      memoryMiB: integer,
      diskMiB: integer,
      maxPricePerSecond: bigUint,
      budget: bigUint,
      nonce: bigUint,
      deadline: bigUint,
      kind: z.union([z.literal(0), z.literal(1), z.literal("service"), z.literal("job")]),
      quorum: integer,
      maxRetries: integer,
      maxRunSeconds: integer.optional(),
    },
    { error: "required: the signed DeploymentIntent" },
  )
  .meta({
    description:
      "The DeploymentIntent exactly as signed: EIP-712 field names; uint64/uint96 as decimal strings (numbers up to 2^53 also accepted); kind 0 service, 1 job.",
  });

/** ERC-2612 permit of the deployer's tokens for the DeploymentRegistry: owner = intent.deployer, spender = the registry. */
export const permitSchema = z
  .object({
    value: bigUint.meta({ description: "Allowance granted, wei; at least the intent's budget." }),
    deadline: bigUint.meta({ description: "Unix seconds the permit is valid until." }),
    signature: signatureText("the deployer's ERC-2612 permit signature"),
  })
  .meta({ description: "Optional ERC-2612 permit, so the deployer needs no approve transaction: the relayer sends token.permit, then submitIntent." });

/** The body of POST /v1/intents (OpenAPI takes its schema from here). */
export const intentSubmissionSchema = z.object({
  intent: wireIntentSchema,
  signature: signatureText("the deployer's EIP-712 signature").meta({
    description: "EIP-712 signature of the intent by intent.deployer: 65 bytes, 64 bytes (EIP-2098), or an ERC-1271 wallet's.",
  }),
  spec: z
    .string()
    .optional()
    .meta({ description: "The canonical spec JSON (from POST /v1/prepare); its sha256 must be intent.specHash. The relayer publishes it to the store." }),
  permit: permitSchema.optional(),
});
const body = intentSubmissionSchema;

/**
 * Parses and checks a submission; throws InputError naming the first bad field.
 * @example const { intent, signature } = parseIntentSubmission(JSON.parse(text))
 */
export function parseIntentSubmission(input: unknown): IntentSubmission {
  const parsed = body.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? issue.path.join(".") : "body";
    throw new InputError(field, issue.code === "invalid_type" && issue.input === undefined ? "required" : issue.message);
  }
  const i = parsed.data.intent;
  const num = (v: number | string) => Number(v);
  const big = (v: number | string) => BigInt(v);
  let intent: DeploymentIntent;
  try {
    intent = buildIntent({
      deployer: i.deployer as Hex,
      specHash: i.specHash as Hex,
      imageRoot: i.imageRoot as Hex,
      replicas: num(i.replicas),
      resources: { cpuMillis: num(i.cpuMillis), memoryMiB: num(i.memoryMiB), diskMiB: num(i.diskMiB) },
      kind: i.kind === 1 || i.kind === "job" ? "job" : "service",
      quorum: num(i.quorum),
      maxPricePerSecond: big(i.maxPricePerSecond),
      budget: big(i.budget),
      nonce: big(i.nonce),
      deadline: big(i.deadline),
      maxRetries: num(i.maxRetries),
      maxRunSeconds: i.maxRunSeconds === undefined ? undefined : num(i.maxRunSeconds),
    });
  } catch (err) {
    if (err instanceof IntentError) throw new InputError(`intent.${err.field}`, err.reason);
    throw err;
  }
  const signature = parsed.data.signature;
  if (!isHex(signature) || (signature.length !== 130 && signature.length !== 132)) {
    throw new InputError("signature", "must be 0x followed by 128 (EIP-2098) or 130 hex digits");
  }
  const p = parsed.data.permit;
  if (!p) return { intent, signature, spec: parsed.data.spec };
  if (!isHex(p.signature) || p.signature.length !== 132)
    throw new InputError("permit.signature", "must be 0x followed by 130 hex digits (a 65-byte ECDSA signature)");
  const permit = { value: BigInt(p.value), deadline: BigInt(p.deadline), signature: p.signature as Hex };
  if (permit.value < intent.budget) throw new InputError("permit.value", `${permit.value} is less than the intent's budget ${intent.budget}`);
  if (permit.value >= 2n ** 256n) throw new InputError("permit.value", "must fit uint256");
  return { intent, signature, spec: parsed.data.spec, permit };
}
