/**
 * Turns whatever viem throws into a ChainError a person can act on: contract custom errors of all
 * Hypha contracts (and OpenZeppelin's) decoded into sentences, a refusal (ChainRefusedError: a
 * revert, the input's fault) told apart from a chain that did not answer (ChainUnavailableError).
 */
import { BaseError, decodeErrorResult, formatUnits, parseAbi, type Abi, type Hex } from "viem";
import { HyphaError, type HyphaErrorOptions } from "../errors";
import * as abis from "./abi";
import { DeploymentStatus, ReplicaStatus } from "./eip712";

/**
 * A failure talking to the chain. Its subclasses say whose fault it is; a plain ChainError only
 * wraps another Hypha error met on the way (its `cause` says).
 */
export class ChainError extends HyphaError {
  override name = "ChainError";
  /** The decoded custom error's name, when the chain reverted with one. */
  readonly errorName?: string;
  /** The decoded custom error's arguments. */
  readonly errorArgs?: readonly unknown[];

  constructor(shortMessage: string, options: HyphaErrorOptions & { errorName?: string; errorArgs?: readonly unknown[] } = {}) {
    super(shortMessage, options);
    this.errorName = options.errorName;
    this.errorArgs = options.errorArgs;
  }
}

/**
 * The chain refused the call by its rules (a revert, or a check that foresees one): the input's
 * fault, so the same call will not succeed later. `errorName` is the decoded custom error, if any.
 * @example new ChainRefusedError("unknown deployment 0x…", { errorName: "UnknownDeployment" })
 */
export class ChainRefusedError extends ChainError {
  override name = "ChainRefusedError";
}

/**
 * The chain did not answer, or failed in a way that says nothing about the input (network, nonce
 * race, out of gas, a deployment file for another chain's state): the same call may succeed later.
 */
export class ChainUnavailableError extends ChainError {
  override name = "ChainUnavailableError";
}

/** OpenZeppelin v5 errors the contracts inherit, in case a generated ABI lacks them. */
const openZeppelinErrors = parseAbi([
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
  "error ERC20InvalidReceiver(address receiver)",
  "error ERC20InvalidSender(address sender)",
  "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
  "error ERC2612ExpiredSignature(uint256 deadline)",
  "error ERC2612InvalidSigner(address signer, address owner)",
  "error ECDSAInvalidSignature()",
  "error ECDSAInvalidSignatureLength(uint256 length)",
  "error ReentrancyGuardReentrantCall()",
  "error SafeERC20FailedOperation(address token)",
]);

/** Every custom error any Hypha contract can revert with, deduplicated by name. */
export const hyphaErrorsAbi: Abi = (() => {
  const seen = new Set<string>();
  const out: Abi[number][] = [];
  for (const abi of [...Object.values(abis), openZeppelinErrors] as Abi[]) {
    for (const item of abi) {
      if (item.type !== "error" || seen.has(item.name)) continue;
      seen.add(item.name);
      out.push(item);
    }
  }
  return out;
})();

const tokens = (wei: unknown) => `${formatUnits(BigInt(wei as bigint), 18)} HYPHA`;
const deploymentStatus = (s: unknown) => DeploymentStatus[Number(s)] ?? `status ${s}`;
const replicaStatus = (s: unknown) => ReplicaStatus[Number(s)] ?? `status ${s}`;
const short = (id: unknown) => String(id).slice(0, 10) + "…";

function resourceAmount(resource: unknown, amount: unknown): string {
  const r = String(resource).toLowerCase();
  if (r.includes("cpu")) return `${amount}m CPU`;
  if (r.includes("mem")) return `${amount}Mi memory`;
  if (r.includes("disk")) return `${amount}Mi disk`;
  if (r.includes("slot")) return `${amount} slot${amount === 1n ? "" : "s"}`;
  return `${amount} ${resource}`;
}
function unitOnly(resource: unknown, amount: unknown): string {
  const r = String(resource).toLowerCase();
  if (r.includes("cpu")) return `${amount}m`;
  if (r.includes("mem") || r.includes("disk")) return `${amount}Mi`;
  return String(amount);
}

type Formatter = (a: readonly unknown[]) => string;

/** One sentence per custom error, saying what was wrong with which thing. */
const sentences: Record<string, Formatter> = {
  // DeploymentRegistry
  InvalidSignature: ([d]) => `the intent signature is not valid for deployer ${d}`,
  IntentExpired: ([deadline, now]) => `the intent expired: deadline ${deadline} is before the chain time ${now}`,
  AlreadySubmitted: ([id]) => `deployment ${id} was already submitted (same intent and nonce)`,
  UnknownDeployment: ([id]) => `unknown deployment ${id}`,
  IntentMismatch: ([id, computed]) => `the intent given does not match deployment ${id} (it hashes to ${computed})`,
  InvalidIntent: ([field, reason]) => `intent field ${field}: ${reason}`,
  BadReplicaIndex: ([id, i, n]) => `replica index ${i} is out of range: deployment ${short(id)} has ${n} replicas`,
  ReplicaNotPending: ([id, i, s]) => `replica ${i} of deployment ${short(id)} is ${replicaStatus(s)}, not Pending`,
  PriceTooHigh: ([node, price, max]) => `node ${node} charges ${tokens(price)}/s, above the intent's limit of ${tokens(max)}/s`,
  DeploymentNotActive: ([id, s]) => `deployment ${short(id)} is ${deploymentStatus(s)}, not active`,
  WrongNode: ([id, i, attested, placed]) => `attestation for replica ${i} of ${short(id)} names node ${attested}, but it is placed on node ${placed}`,
  StaleAttempt: ([id, i, attested, current]) => `attestation for replica ${i} of ${short(id)} is for attempt ${attested}; the current attempt is ${current}`,
  InvalidAttester: ([node, signer, agent]) => `attestation signed by ${signer}, but node ${node}'s agent key is ${agent}`,
  IllegalTransition: ([id, i, from, to]) => `replica ${i} of ${short(id)} cannot go from ${replicaStatus(from)} to ${replicaStatus(to)}`,
  NotDeployer: ([id, caller, deployer]) => `only the deployer ${deployer} may do this to deployment ${short(id)}; sender is ${caller}`,
  NotTerminable: ([id, s]) => `deployment ${short(id)} is ${deploymentStatus(s)} and cannot be terminated by this sender now`,
  InsufficientDeposit: ([account, balance, needed]) => `${account} has ${tokens(balance)} deposited, needs ${tokens(needed)}`,
  LengthMismatch: ([a, b]) => `array lengths differ: ${a} and ${b}`,
  NothingToClaim: ([account]) => `${account} has nothing to withdraw`,
  IntentCancelledAlready: ([id]) => `the intent of deployment ${short(id)} was cancelled by its deployer and can never be submitted`,
  ZeroOutputHash: ([id, i]) => `replica ${i} of ${short(id)}: a Completed attestation needs a non-zero output hash`,
  NotReclaimable: ([id, i, s, at]) =>
    `replica ${i} of ${short(id)} is ${replicaStatus(s)} and cannot be reclaimed${BigInt(at as bigint) < 2n ** 63n ? ` before ${new Date(Number(at) * 1000).toISOString()}` : ""}`,
  OperatorAlreadyInJob: ([id, node, operator]) =>
    `node ${node}'s operator ${operator} already runs a replica of job ${short(id)}: a job's replicas need distinct operators`,
  // NodeRegistry
  UnknownNode: ([node]) => `unknown node ${node}`,
  NotOperator: ([node, caller, operator]) => `only node ${node}'s operator ${operator} may do this; sender is ${caller}`,
  StakeTooLow: ([stake, min]) => `stake ${tokens(stake)} is below the minimum ${tokens(min)}`,
  ZeroAddress: ([field]) => `${field}: must not be the zero address`,
  ZeroCapacity: ([field]) => `${field}: capacity must be greater than zero`,
  EmptyEndpoint: () => `endpoint: must not be empty`,
  AlreadyUnbonding: ([node, since]) => `node ${node} is already unbonding (since ${since})`,
  NotUnbonding: ([node]) => `node ${node} is not unbonding; run \`hypha node unbond\` first`,
  StillBonded: ([node, unlockAt, now]) =>
    `node ${node}'s stake is still bonded: it unlocks in ${BigInt(unlockAt as bigint) - BigInt(now as bigint)} s (at ${new Date(Number(unlockAt) * 1000).toISOString()})`,
  ReplicasStillPlaced: ([node, placed]) => `node ${node} still has ${placed} replica(s) placed`,
  NodeNotEligible: ([node, reason]) => `node ${node} is not eligible: ${reason}`,
  InsufficientCapacity: ([node, res, free, needed]) => `node ${node} has ${resourceAmount(res, free)} free, replica needs ${unitOnly(res, needed)}`,
  CapacityBelowReserved: ([node, res, reserved, requested]) =>
    `node ${node}: ${resourceAmount(res, requested)} is below the ${unitOnly(res, reserved)} already reserved`,
  NodeExited: ([node]) => `node ${node} has withdrawn its stake and left the registry`,
  InvalidParameter: ([field, reason]) => `${field}: ${reason}`,
  AgentKeyInUse: ([agent, node]) => `agent key ${agent} already belongs to node ${node}: each node needs its own agent key (hypha key new)`,
  PriceChanged: ([node, price, expected]) => `node ${node} now asks ${tokens(price)}/s, not the ${tokens(expected)}/s the placement was decided at`,
  SlashTooLarge: ([node, amount, cap]) => `slash of ${tokens(amount)} on node ${node} exceeds the cap ${tokens(cap)}`,
  // OpenZeppelin
  ERC20InsufficientBalance: ([who, balance, needed]) => `${who} holds ${tokens(balance)}, needs ${tokens(needed)}`,
  ERC20InsufficientAllowance: ([spender, allowance, needed]) => `allowance for ${spender} is ${tokens(allowance)}, needs ${tokens(needed)}`,
  AccessControlUnauthorizedAccount: ([account, role]) => `${account} lacks role ${role}`,
  ERC20InvalidSpender: ([spender]) => `invalid spender ${spender}`,
  SafeERC20FailedOperation: ([token]) => `token transfer failed on ${token}`,
  ECDSAInvalidSignature: () => `invalid ECDSA signature`,
  ECDSAInvalidSignatureLength: ([len]) => `signature has ${len} bytes, expected 65`,
};

/**
 * A readable sentence for a decoded custom error.
 * @example describeContractError("InsufficientCapacity", [3, "cpu", 200n, 500n]) // "node 3 has 200m CPU free, replica needs 500m"
 */
export function describeContractError(errorName: string, args: readonly unknown[]): string {
  const f = sentences[errorName];
  return f ? f(args) : `${errorName}(${args.map(String).join(", ")})`;
}

/**
 * Decodes raw revert data with every Hypha error ABI; undefined when it matches none.
 * @example decodeRevertData("0x...") // { errorName: "UnknownNode", args: [7] }
 */
export function decodeRevertData(data: Hex): { errorName: string; args: readonly unknown[] } | undefined {
  if (!data || data.length < 10) return undefined;
  try {
    const r = decodeErrorResult({ abi: hyphaErrorsAbi, data });
    return { errorName: r.errorName, args: (r.args ?? []) as readonly unknown[] };
  } catch {
    return undefined;
  }
}

function* causes(err: unknown): Generator<unknown> {
  let e: unknown = err;
  for (let i = 0; e && i < 20; i++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

const NETWORK_NAMES = new Set(["HttpRequestError", "TimeoutError", "WebSocketRequestError", "SocketClosedError", "UrlRequiredError"]);
const NETWORK_CODES = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|fetch failed|socket hang up/i;

function findRevert(err: unknown): { errorName: string; args: readonly unknown[] } | undefined {
  for (const e of causes(err)) {
    const any = e as { name?: string; data?: unknown; raw?: unknown };
    if (any.name === "ContractFunctionRevertedError") {
      const d = any.data as { errorName?: string; args?: readonly unknown[] } | undefined;
      if (d?.errorName && d.errorName !== "Error" && d.errorName !== "Panic") return { errorName: d.errorName, args: d.args ?? [] };
      if (typeof any.raw === "string") {
        const decoded = decodeRevertData(any.raw as Hex);
        if (decoded) return decoded;
      }
    }
    if (typeof any.data === "string" && any.data.startsWith("0x")) {
      const decoded = decodeRevertData(any.data as Hex);
      if (decoded) return decoded;
    }
    if (any.data && typeof any.data === "object" && typeof (any.data as { data?: unknown }).data === "string") {
      const decoded = decodeRevertData((any.data as { data: Hex }).data);
      if (decoded) return decoded;
    }
  }
  return undefined;
}

/**
 * Wraps any error from a chain call into a ChainError with one readable line. `context` says what
 * was being done ("submitting the intent"). A HyphaError passes through unchanged.
 * @example try { await wc.writeContract(...) } catch (e) { throw toChainError(e, "registering node") }
 */
export function toChainError(err: unknown, context?: string): ChainError {
  if (err instanceof ChainError) return err;
  const prefix = context ? `${context}: ` : "";
  if (err instanceof HyphaError) {
    return new ChainError(prefix + err.shortMessage, { details: err.details, cause: err });
  }
  const revert = findRevert(err);
  if (revert) {
    return new ChainRefusedError(prefix + describeContractError(revert.errorName, revert.args), {
      cause: err,
      errorName: revert.errorName,
      errorArgs: revert.args,
    });
  }
  for (const e of causes(err)) {
    const name = (e as { name?: string }).name ?? "";
    const msg = (e as { message?: string }).message ?? "";
    if (NETWORK_NAMES.has(name) || NETWORK_CODES.test(msg) || NETWORK_CODES.test(String((e as { code?: string }).code ?? ""))) {
      const url = (err as { url?: string }).url ?? (e as { url?: string }).url;
      return new ChainUnavailableError(`${prefix}cannot reach the chain${url ? ` at ${url}` : ""} (${firstLine(msg) || name})`, { cause: err });
    }
  }
  for (const e of causes(err)) {
    const name = (e as { name?: string }).name ?? "";
    if (name === "ContractFunctionRevertedError" || name === "CallExecutionError" || name === "ExecutionRevertedError") {
      const reason = (e as { reason?: string }).reason;
      return new ChainRefusedError(`${prefix}the transaction was reverted${reason ? `: ${reason}` : ""}`, { cause: err });
    }
    if (name === "InsufficientFundsError") return new ChainRefusedError(`${prefix}the sender has too little ETH to pay for gas`, { cause: err });
    if (name === "NonceTooLowError" || name === "NonceTooHighError")
      return new ChainUnavailableError(`${prefix}${firstLine((e as Error).message)}`, { cause: err });
  }
  const message = err instanceof BaseError ? err.shortMessage : err instanceof Error ? err.message : String(err);
  return new ChainUnavailableError(prefix + firstLine(message), { cause: err });
}

function firstLine(s: string): string {
  return s.split("\n")[0].trim();
}
