/**
 * Turns a parsed workload plus the deployer's flags into the DeploymentIntent to sign (shared by
 * `hypha apply` and `hypha sign`), and rebuilds the intent carried by a signed ConfigMap, checking
 * its hash and signature (expected vs found).
 */
import type { Command } from "commander";
import { getAddress, isAddress, type Address, type Hex, type PublicClient, type TypedDataDomain } from "viem";
import { verifyTypedData } from "viem/actions";
import { ChainUnavailableError, toChainError } from "../chain/chainError";
import { intentTypedData, type DeploymentIntent } from "../chain/eip712";
import { buildIntent, IntentError, randomNonce } from "../chain/intentBuilder";
import { HyphaError } from "../errors";
import { checkSignedContract, intentWorkloadFields, LIMITS, type WorkloadSpec } from "../spec";
import { parseBytes32, parseIntIn, parseTokenAmount } from "./amounts";
import { computeSpecHash, type ParsedWorkload } from "./workloads";

export interface IntentFlags {
  replicas?: string;
  budget?: string;
  maxPrice?: string;
  quorum?: string;
  maxRetries?: string;
  maxRun?: string;
  nonce?: string;
  deadline?: string;
  imageRoot?: string;
}

export const DEFAULT_BUDGET = "10";
export const DEFAULT_MAX_PRICE = "0.001";
export const DEFAULT_DEADLINE_SECONDS = 3600;
export const DEFAULT_SERVICE_RETRIES = 3;

/** Adds the intent flags to a command (apply, sign). */
export function addIntentOptions(cmd: Command): Command {
  return cmd
    .option("--replicas <n>", "replica count (overrides the manifest; changes the specHash)")
    .option("--budget <amount>", `tokens escrowed for the deployment, HYPHA or NNNwei (default ${DEFAULT_BUDGET})`)
    .option("--max-price <amount>", `highest price per replica-second accepted (default ${DEFAULT_MAX_PRICE})`)
    .option("--quorum <n>", "jobs: replicas that must agree on the output (default from the manifest)")
    .option("--max-run <seconds>", "most seconds one replica placement is paid for (default: 3600 for a job, no cap for a service)")
    .option("--max-retries <n>", `re-placements allowed after failures (default: a job's backoffLimit, else ${DEFAULT_SERVICE_RETRIES})`)
    .option("--nonce <n>", "intent nonce (default random 64-bit)")
    .option("--deadline <seconds>", `seconds from now the intent stays submittable (default ${DEFAULT_DEADLINE_SECONDS})`)
    .option("--image-root <hex>", "on-chain image root (0x + 64 hex), instead of resolving the image name in the store");
}

/**
 * The workload's spec with flag overrides applied (they change meaning, so they change the hash).
 * @example applySpecOverrides(spec, { replicas: "3" }).replicas // 3
 */
export function applySpecOverrides(spec: WorkloadSpec, flags: IntentFlags): WorkloadSpec {
  let out = spec;
  if (flags.replicas !== undefined) out = { ...out, replicas: parseIntIn("--replicas", flags.replicas, 1, LIMITS.maxReplicas) };
  if (flags.quorum !== undefined) {
    if (out.kind !== "job") throw new HyphaError("--quorum: only a Job has a result quorum");
    out = { ...out, job: { ...out.job!, quorum: parseIntIn("--quorum", flags.quorum, 1, out.replicas) } };
  }
  if (out.job && out.job.quorum > out.replicas) throw new HyphaError(`--quorum: ${out.job.quorum} is more than the ${out.replicas} replicas`);
  return out;
}

/**
 * Builds the intent for an unsigned workload.
 * @example intentForSpec(spec, flags, { deployer, imageRoot, now: 1700000000n })
 */
export function intentForSpec(spec: WorkloadSpec, flags: IntentFlags, ctx: { deployer: Address; imageRoot: Hex; now: bigint }): DeploymentIntent {
  const w = intentWorkloadFields(spec);
  const deadlineSeconds = flags.deadline === undefined ? DEFAULT_DEADLINE_SECONDS : parseIntIn("--deadline", flags.deadline, 1, 365 * 24 * 3600);
  return buildIntent({
    deployer: ctx.deployer,
    specHash: computeSpecHash(spec),
    imageRoot: ctx.imageRoot,
    replicas: w.replicas,
    resources: { cpuMillis: w.cpuMillis, memoryMiB: w.memoryMiB, diskMiB: w.diskMiB },
    kind: spec.kind,
    quorum: w.quorum,
    maxPricePerSecond: parseTokenAmount("--max-price", flags.maxPrice ?? DEFAULT_MAX_PRICE),
    budget: parseTokenAmount("--budget", flags.budget ?? DEFAULT_BUDGET),
    nonce: flags.nonce === undefined ? randomNonce() : parseUint("--nonce", flags.nonce, 64),
    deadline: ctx.now + BigInt(deadlineSeconds),
    maxRunSeconds: flags.maxRun === undefined ? undefined : parseIntIn("--max-run", flags.maxRun, spec.kind === "job" ? 1 : 0, 2 ** 32 - 1),
    maxRetries:
      flags.maxRetries !== undefined
        ? parseIntIn("--max-retries", flags.maxRetries, 0, 255)
        : spec.job
          ? Math.min(255, spec.job.backoffLimit)
          : DEFAULT_SERVICE_RETRIES,
  });
}

function parseUint(flag: string, text: string, bits: number): bigint {
  if (!/^\d+$/.test(text.trim())) throw new HyphaError(`${flag}: must be a whole number, got ${JSON.stringify(text)}`);
  const n = BigInt(text.trim());
  if (n >= 1n << BigInt(bits)) throw new HyphaError(`${flag}: must fit uint${bits}, got ${text}`);
  return n;
}

/** The image root to use: --image-root, or the caller's resolver (store catalog). */
export async function imageRootFor(spec: WorkloadSpec, flags: IntentFlags, resolve: (image: string) => Promise<Hex>): Promise<Hex> {
  if (flags.imageRoot !== undefined) return parseBytes32("--image-root", flags.imageRoot);
  return resolve(spec.image);
}

/**
 * The intent a signed ConfigMap carries, after checking its hash and signature: a placeholder
 * shows the computed hash and points to `hypha sign`; a mismatch shows expected and found.
 * Verification uses the chain (ERC-1271 wallets) through `publicClient`.
 * @example const { intent, signature } = await signedIntentOf(workload, domain, pc)
 */
export async function signedIntentOf(
  w: ParsedWorkload,
  domain: TypedDataDomain,
  publicClient: PublicClient,
  file = "FILE",
): Promise<{ intent: DeploymentIntent; signature: Hex }> {
  const signed = w.signed!;
  // Placeholders and a verification_hash that is not the workload's: the spec part's own check.
  const computed = checkSignedContract(w, file);
  const where = `document ${w.document}`;
  if (!signed.intent) {
    throw new HyphaError(
      `${where}, smart_contract: signed, but without the intent fields (chain_id, verifying_contract, deployer, ...) that \`hypha sign\` writes`,
      {
        details: `computed specHash: ${computed}\nsign it with: hypha sign -f ${file} -o signed.yaml, then hypha apply -f signed.yaml`,
      },
    );
  }
  const f = signed.intent;
  if (f.chainId !== undefined && Number(f.chainId) !== domain.chainId) {
    throw new HyphaError(`${where}, smart_contract.chain_id: signed for chain ${f.chainId}, this chain is ${domain.chainId}`);
  }
  if (f.verifyingContract !== undefined && f.verifyingContract.toLowerCase() !== String(domain.verifyingContract).toLowerCase()) {
    throw new HyphaError(
      `${where}, smart_contract.verifying_contract: signed for ${f.verifyingContract}, this chain's DeploymentRegistry is ${domain.verifyingContract}`,
    );
  }
  if (!isAddress(f.deployer)) throw new HyphaError(`${where}, smart_contract.deployer: not an address: ${f.deployer}`);
  const wf = intentWorkloadFields(w.spec);
  let intent: DeploymentIntent;
  try {
    intent = buildIntent({
      deployer: getAddress(f.deployer),
      specHash: computed,
      imageRoot: f.imageRoot as Hex,
      replicas: wf.replicas,
      resources: { cpuMillis: wf.cpuMillis, memoryMiB: wf.memoryMiB, diskMiB: wf.diskMiB },
      kind: w.spec.kind,
      quorum: wf.quorum,
      maxPricePerSecond: BigInt(f.maxPricePerSecond),
      budget: BigInt(f.budget),
      nonce: BigInt(f.nonce),
      deadline: BigInt(f.deadline),
      maxRetries: Number(f.maxRetries),
      maxRunSeconds: f.maxRunSeconds === undefined ? undefined : Number(f.maxRunSeconds),
    });
  } catch (err) {
    if (err instanceof IntentError) throw new HyphaError(`${where}, smart_contract: ${err.shortMessage}`);
    throw err;
  }
  let valid: boolean;
  try {
    valid = await verifyTypedData(publicClient, { address: intent.deployer, ...intentTypedData(domain, intent), signature: signed.signature as Hex });
  } catch (err) {
    const e = toChainError(err, "verifying the signature");
    if (e instanceof ChainUnavailableError) throw e;
    valid = false;
  }
  if (!valid) {
    const { recoverTypedDataAddress } = await import("viem");
    let found = "an unrecoverable signature";
    try {
      found = await recoverTypedDataAddress({ ...intentTypedData(domain, intent), signature: signed.signature as Hex });
    } catch {
      // keep the generic text
    }
    throw new HyphaError(`${where}, smart_contract.signature: expected a signature by deployer ${intent.deployer}, found one by ${found}`);
  }
  return { intent, signature: signed.signature as Hex };
}
