/**
 * Relays a deployer's signed intent: every check that can fail is made before a transaction is
 * sent (deadline, spec blob, signature by the deployer or its ERC-1271 wallet, not yet submitted,
 * and a simulation that decodes any contract error), then one submitIntent from the relayer key.
 * With an ERC-2612 permit, and only when the simulation's one complaint is the missing allowance,
 * the relayer first sends token.permit (the deployer needs no approve transaction, nor ETH).
 * Submissions from one relayer go one at a time (one account, sequential nonces).
 */
import { deploymentStatusNumber } from "../chain/lifecycle";
import { specFromCanonicalJson } from "../spec/canonicalSpec";
import { intentSpecMismatches } from "../spec/intentResources";
import type { WorkloadSpec } from "../spec/workloadSpec";
import { createHash } from "node:crypto";
import { parseSignature, type Hex, type PublicClient, type TypedDataDomain, type WalletClient } from "viem";
import { verifyTypedData } from "viem/actions";
import { deploymentRegistryAbi, hyphaTokenAbi } from "../chain/abi";
import type { HyphaAddresses } from "../chain/addresses";
import { ChainError, toChainError } from "../chain/chainError";
import { intentTypedData } from "../chain/eip712";
import { computeDeploymentId, expandSignature } from "../chain/signing";
import { sendContractTx } from "../chain/tx";
import { StoreClient } from "../image/storeClient";
import { readEip712Domain, readPermitNonce, recoverPermitSigner } from "../sdk/permit";
import { InputError } from "../errors";
import type { IntentSubmission } from "./intentBody";

export interface RelayResult {
  id: Hex;
  transactionHash: Hex;
  blockNumber: bigint;
  specPublished: boolean;
  /** The token.permit transaction sent first, when the submission carried a permit that was needed. */
  permitTx?: Hex;
}

/** The deployment exists already (HTTP 409). */
export class AlreadySubmittedError extends InputError {
  override name = "AlreadySubmittedError";
}

export interface Relayer {
  relay(submission: IntentSubmission): Promise<RelayResult>;
}

/**
 * @example const relayer = createRelayer({ publicClient, walletClient, addresses, domain, storeUrl }); await relayer.relay(submission)
 */
export function createRelayer(opts: {
  publicClient: PublicClient;
  walletClient: WalletClient;
  addresses: HyphaAddresses;
  domain: TypedDataDomain;
  storeUrl: string;
}): Relayer {
  const { publicClient, walletClient, addresses, domain, storeUrl } = opts;
  let queue: Promise<unknown> = Promise.resolve();
  let tokenDomain: Promise<TypedDataDomain> | undefined;

  /** The permit must be the deployer's, for the registry, unexpired, with the token's next nonce. */
  async function checkPermit(s: IntentSubmission, now: bigint): Promise<void> {
    const p = s.permit!;
    if (p.deadline < now) throw new InputError("permit.deadline", `expired: ${p.deadline} is before the chain's time ${now}`);
    tokenDomain ??= readEip712Domain(publicClient, addresses.token).catch((err) => {
      tokenDomain = undefined;
      throw toChainError(err, "reading the token's EIP-712 domain");
    });
    const domain = await tokenDomain;
    const nonce = await readPermitNonce(publicClient, addresses.token, s.intent.deployer);
    const message = { owner: s.intent.deployer, spender: addresses.deploymentRegistry, value: p.value, nonce, deadline: p.deadline };
    let signer: string;
    try {
      signer = await recoverPermitSigner(domain, message, p.signature);
    } catch {
      throw new InputError("permit.signature", "not a valid ECDSA signature");
    }
    if (signer.toLowerCase() !== s.intent.deployer.toLowerCase()) {
      throw new InputError(
        "permit.signature",
        `not a permit by the deployer ${s.intent.deployer} for spender ${addresses.deploymentRegistry}, value ${p.value}, nonce ${nonce}, deadline ${p.deadline} (it recovers to ${signer})`,
      );
    }
  }

  async function sendPermit(s: IntentSubmission, what: string): Promise<Hex> {
    const p = s.permit!;
    // transferFrom checks the allowance before the balance: a permit for tokens the deployer does
    // not hold would be spent for nothing.
    const balance = await publicClient.readContract({ address: addresses.token, abi: hyphaTokenAbi, functionName: "balanceOf", args: [s.intent.deployer] });
    if (balance < s.intent.budget)
      throw new InputError("intent.budget", `the deployer ${s.intent.deployer} holds ${balance} token wei, the budget is ${s.intent.budget}`);
    const { v, r, s: sPart } = parseSignature(p.signature);
    const sent = await sendContractTx(
      { publicClient, walletClient },
      {
        address: addresses.token,
        abi: hyphaTokenAbi,
        functionName: "permit",
        args: [s.intent.deployer, addresses.deploymentRegistry, p.value, p.deadline, Number(v), r, sPart],
      },
      `${what}: sending the deployer's permit`,
    );
    return sent.hash;
  }

  async function check(s: IntentSubmission): Promise<{ id: Hex; publish: boolean }> {
    const { intent, signature } = s;
    const id = computeDeploymentId(domain, intent);
    const head = await publicClient.getBlock();
    if (intent.deadline < head.timestamp) throw new InputError("intent.deadline", `expired: ${intent.deadline} is before the chain's time ${head.timestamp}`);
    let publish = false;
    let specJson: string | undefined;
    if (s.spec !== undefined) {
      const digest = `0x${createHash("sha256").update(s.spec, "utf8").digest("hex")}`;
      if (digest !== intent.specHash.toLowerCase()) throw new InputError("spec", `its sha256 is ${digest}, the intent's specHash is ${intent.specHash}`);
      publish = true;
      specJson = s.spec;
    } else {
      specJson = await new StoreClient([storeUrl]).findSpecJson(intent.specHash);
      if (specJson === undefined) {
        throw new InputError(
          "spec",
          `the store at ${storeUrl} has no spec blob for specHash ${intent.specHash}: send the canonical spec JSON as "spec" (POST /v1/prepare gives it as canonicalSpec; hypha spec hash -f FILE -o json as canonicalJson)`,
        );
      }
    }
    // The intent must describe the workload its specHash names: an agent would refuse it anyway.
    let spec: WorkloadSpec;
    try {
      spec = specFromCanonicalJson(specJson);
    } catch (err) {
      throw new InputError("spec", `not a valid canonical workload spec: ${(err as Error).message}`);
    }
    const mismatch = intentSpecMismatches(intent, spec, true);
    if (mismatch.length > 0) throw new InputError(`intent.${mismatch[0].field}`, `is ${mismatch[0].intent}, but the spec says ${mismatch[0].spec}`);
    if (s.permit) await checkPermit(s, head.timestamp);
    const valid = await verifyTypedData(publicClient, { address: intent.deployer, ...intentTypedData(domain, intent), signature: expandSignature(signature) });
    if (!valid) throw new InputError("signature", `not a signature of this intent by the deployer ${intent.deployer} (EOA or ERC-1271 wallet)`);
    const d = (await publicClient.readContract({
      address: addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getDeployment",
      args: [id],
    })) as { status: number };
    if (d.status !== deploymentStatusNumber("None")) throw new AlreadySubmittedError("intent", `deployment ${id} was submitted already`);
    return { id, publish };
  }

  async function relayNow(s: IntentSubmission): Promise<RelayResult> {
    const { id, publish } = await check(s);
    const call = { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "submitIntent", args: [s.intent, s.signature] } as const;
    const what = `relaying the intent of ${id}`;
    const simulate = async () => {
      try {
        await publicClient.simulateContract({ ...call, account: walletClient.account! });
      } catch (err) {
        throw toChainError(err, what);
      }
    };
    // The contract's verdict first (escrow, replicas, ...): a refused intent publishes nothing and
    // spends no permit. The allowance is the contract's last check, so when it is the only
    // complaint and a permit came along, the permit is what the intent needs.
    let permitTx: Hex | undefined;
    try {
      await simulate();
    } catch (err) {
      if (!(s.permit && err instanceof ChainError && err.errorName === "ERC20InsufficientAllowance")) throw err;
      permitTx = await sendPermit(s, what);
      await simulate();
    }
    // Before the intent is on-chain, so no agent waits for a spec that is not there.
    // A stuck store fails the request (5 s), it does not hold it.
    if (publish) await new StoreClient([storeUrl], { timeoutMs: 5000 }).putBlob(new TextEncoder().encode(s.spec!));
    const sent = await sendContractTx({ publicClient, walletClient }, call, what);
    return { id, transactionHash: sent.hash, blockNumber: sent.receipt.blockNumber, specPublished: publish, ...(permitTx ? { permitTx } : {}) };
  }

  return {
    relay(submission) {
      const next = queue.then(() => relayNow(submission));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
