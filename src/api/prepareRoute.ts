/**
 * POST /v1/prepare: a manifest and the deployer's choices -> the canonical spec, specHash,
 * resources, the DeploymentIntent and the EIP-712 typed data to sign (eth_signTypedData_v4
 * payload), plus an ERC-2612 permit to sign when the deployer has neither deposit nor allowance
 * for the budget. Reads the chain (time, nonces, allowance) and the store (image name -> root);
 * the work itself is the SDK's prepareDeployment.
 */
import type { Request, Response } from "express";
import { isAddress, isHex, type Address, type Hex, type PublicClient } from "viem";
import { z } from "zod";
import { deploymentRegistryAbi, hyphaTokenAbi } from "../chain/abi";
import type { HyphaAddresses } from "../chain/addresses";
import { IntentError } from "../chain/intentBuilder";
import { resolveImageRoot, StoreAccessError } from "../cli/storeAccess";
import { HyphaError, InputError } from "../errors";
import { prepareDeployment } from "../sdk/prepareDeployment";
import { permitTypedData, readEip712Domain, readPermitNonce } from "../sdk/permit";
import { toWire, typedDataForWallet } from "../sdk/wire";
import { formatSpecIssue, SpecError } from "../spec";

const wei = z.string().regex(/^\d+$/, "a decimal string of wei");
const DEFAULT_BUDGET = 10n * 10n ** 18n;
const DEFAULT_MAX_PRICE = 10n ** 15n;
const DEFAULT_DEADLINE_SECONDS = 3600n;

/** The body of POST /v1/prepare (OpenAPI takes its schema from here). */
export const prepareRequestSchema = z.object({
  manifest: z
    .string({ error: "required: the manifest text (YAML or JSON)" })
    .meta({ description: "A Deployment, Pod, Job or smart-contract ConfigMap, as YAML or JSON text (at most 256 KiB)." }),
  deployer: z.string({ error: "required: the deployer's address" }).meta({ description: "The address that will sign the intent." }),
  workload: z.number().int().nonnegative().optional().meta({ description: "Which workload of a multi-document manifest (0-based; default 0)." }),
  imageRoot: z
    .string()
    .optional()
    .meta({ description: "The image's on-chain root (0x + 64 hex); default: the spec's image name looked up in the store's catalog." }),
  budget: wei.optional().meta({ description: "Tokens escrowed, wei (default 10 HYPHA)." }),
  maxPricePerSecond: wei.optional().meta({ description: "Highest price per replica-second accepted, wei (default 0.001 HYPHA)." }),
  deadline: z
    .string()
    .regex(/^\d+$/, "unix seconds")
    .optional()
    .meta({ description: "Unix seconds until which the intent can be submitted (default: the chain's time + 1 hour)." }),
  nonce: z.string().regex(/^\d+$/, "a decimal uint64").optional().meta({ description: "Intent nonce (default random 64-bit)." }),
  maxRetries: z
    .number()
    .int()
    .min(0)
    .max(255)
    .optional()
    .meta({ description: "Re-placements allowed after failures (default: a job's backoffLimit, else 3)." }),
  maxRunSeconds: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional()
    .meta({ description: "Most seconds one replica placement is paid for (jobs: default 3600; services: 0, no cap)." }),
});

export interface PrepareRouteOptions {
  publicClient: PublicClient;
  addresses: HyphaAddresses;
  storeUrl: string;
}

/** Parses the body; throws InputError naming the first bad field. */
function parseBody(input: unknown): z.infer<typeof prepareRequestSchema> {
  const parsed = prepareRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? issue.path.join(".") : "body";
    throw new InputError(field, issue.code === "invalid_type" && issue.input === undefined ? "required" : issue.message);
  }
  const b = parsed.data;
  if (!isAddress(b.deployer)) throw new InputError("deployer", `not an address: ${JSON.stringify(b.deployer)}`);
  if (b.imageRoot !== undefined && (!isHex(b.imageRoot) || b.imageRoot.length !== 66))
    throw new InputError("imageRoot", `must be 0x + 64 hex digits, got ${JSON.stringify(b.imageRoot)}`);
  return b;
}

/**
 * The express handler of POST /v1/prepare.
 * @example app.post("/v1/prepare", express.json({ limit: "1mb" }), createPrepareHandler({ publicClient, addresses, storeUrl }))
 */
export function createPrepareHandler(opts: PrepareRouteOptions) {
  const { publicClient, addresses, storeUrl } = opts;
  let tokenDomain: ReturnType<typeof readEip712Domain> | undefined;
  return async (req: Request, res: Response): Promise<void> => {
    const b = parseBody(req.body);
    const deployer = b.deployer as Address;
    const head = await publicClient.getBlock();
    const now = BigInt(Math.max(Math.floor(Date.now() / 1000), Number(head.timestamp)));
    let prepared;
    try {
      // Parse once without the image root, so a bad manifest is reported before the store is asked.
      const probe = prepareDeployment({
        manifest: b.manifest,
        workload: b.workload,
        deployer,
        imageRoot: `0x${"00".repeat(32)}`,
        chainId: addresses.chainId,
        deploymentRegistry: addresses.deploymentRegistry,
        budget: 1n,
        maxPricePerSecond: 0n,
        deadline: 1n,
        nonce: 0n,
      });
      let imageRoot = b.imageRoot as Hex | undefined;
      if (imageRoot === undefined) {
        try {
          imageRoot = await resolveImageRoot(storeUrl, probe.spec.image);
        } catch (err) {
          if (err instanceof HyphaError && !(err instanceof StoreAccessError))
            throw new InputError("imageRoot", `${err.shortMessage}; import the image into the store, or send imageRoot`);
          throw err;
        }
      }
      prepared = prepareDeployment({
        manifest: b.manifest,
        workload: b.workload,
        deployer,
        imageRoot,
        chainId: addresses.chainId,
        deploymentRegistry: addresses.deploymentRegistry,
        budget: b.budget === undefined ? DEFAULT_BUDGET : BigInt(b.budget),
        maxPricePerSecond: b.maxPricePerSecond === undefined ? DEFAULT_MAX_PRICE : BigInt(b.maxPricePerSecond),
        deadline: b.deadline === undefined ? now + DEFAULT_DEADLINE_SECONDS : BigInt(b.deadline),
        nonce: b.nonce === undefined ? undefined : BigInt(b.nonce),
        maxRetries: b.maxRetries,
        maxRunSeconds: b.maxRunSeconds,
      });
    } catch (err) {
      if (err instanceof SpecError) throw new InputError("manifest", err.issues.map((i) => formatSpecIssue(i)).join("; "));
      if (err instanceof IntentError) throw new InputError(err.field === "workload" ? "workload" : fieldOfIntent(err.field), err.reason);
      throw err;
    }
    if (prepared.intent.deadline <= head.timestamp)
      throw new InputError("deadline", `${prepared.intent.deadline} is not after the chain's time ${head.timestamp}`);
    tokenDomain ??= readEip712Domain(publicClient, addresses.token).catch((e) => {
      tokenDomain = undefined;
      throw e;
    });
    const [domain, permitNonce, allowance, deposit] = await Promise.all([
      tokenDomain,
      readPermitNonce(publicClient, addresses.token, deployer),
      publicClient.readContract({ address: addresses.token, abi: hyphaTokenAbi, functionName: "allowance", args: [deployer, addresses.deploymentRegistry] }),
      publicClient.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "balanceOf", args: [deployer] }),
    ]);
    const permit = permitTypedData(domain, {
      owner: deployer,
      spender: addresses.deploymentRegistry,
      value: prepared.intent.budget,
      nonce: permitNonce,
      deadline: prepared.intent.deadline,
    });
    res
      .status(200)
      .type("application/json")
      .send(
        JSON.stringify(
          toWire({
            name: prepared.name,
            kind: prepared.kind,
            image: prepared.spec.image,
            imageRoot: prepared.intent.imageRoot,
            canonicalSpec: prepared.canonicalSpec,
            specHash: prepared.specHash,
            resources: prepared.resources,
            intent: prepared.intent,
            typedData: typedDataForWallet(prepared.typedData),
            deploymentId: prepared.deploymentId,
            maxCostPerHour: prepared.maxCostPerHour,
            permit: {
              needed: deposit < prepared.intent.budget && allowance < prepared.intent.budget,
              typedData: typedDataForWallet(permit),
              nonce: permitNonce,
              allowance,
              deposit,
            },
          }),
        ),
      );
  };
}

/** Intent fields the caller chose keep their name; the others come from the manifest. */
function fieldOfIntent(field: string): string {
  return ["budget", "maxPricePerSecond", "deadline", "nonce", "maxRetries", "maxRunSeconds", "deployer"].includes(field)
    ? field
    : `manifest (intent field ${field})`;
}
