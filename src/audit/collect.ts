/**
 * Gathers what an audit needs from the chain (the I/O half of the audit): the intent and its
 * signature check at the submission block, every event of the deployment, and for each
 * attestation its signature from the transaction calldata, the node's agent key at that block and,
 * when that agent is a contract wallet, its ERC-1271 verdict on the signature at that block.
 */
import { decodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import { verifyTypedData } from "viem/actions";
import { deploymentRegistryAbi } from "../chain/abi";
import type { HyphaAddresses } from "../chain/addresses";
import { ChainUnavailableError, toChainError } from "../chain/chainError";
import { readDeploymentEvents } from "../chain/deployments";
import { attestationTypedData, intentTypedData, type Attestation } from "../chain/eip712";
import { readIntent } from "../chain/intents";
import { agentAt } from "../chain/nodes";
import { domainFor, expandSignature } from "../chain/signing";
import type { AttestationEvidence, AuditInput } from "./checks";

/**
 * Reads everything the checks need for deployment `id`; `derivedSpecHash` is filled in by the caller.
 * @example const input = await collectAuditInput(pc, addresses, id)
 */
export async function collectAuditInput(publicClient: PublicClient, addresses: HyphaAddresses, id: Hex): Promise<AuditInput> {
  const domain = domainFor(addresses);
  const submitted = await readIntent(publicClient, addresses, id);
  const { intent } = submitted;
  const deployerIsContract = await hasCodeAt(publicClient, intent.deployer, submitted.blockNumber);
  const intentSignatureValid = await verifySignatureAt(publicClient, {
    signer: intent.deployer,
    signerIsContract: deployerIsContract,
    typedData: intentTypedData(domain, intent),
    signature: submitted.signature,
    blockNumber: submitted.blockNumber,
    what: "checking the intent signature",
  });
  const events = await readDeploymentEvents(publicClient, addresses, id);
  const txCache = new Map<Hex, Promise<{ input: Hex }>>();
  const attestations: AttestationEvidence[] = [];
  for (const e of events.filter((x) => x.eventName === "Attested")) {
    const a: Attestation = {
      deploymentId: e.args.id as Hex,
      replicaIndex: Number(e.args.replicaIndex),
      nodeId: Number(e.args.nodeId),
      attempt: Number(e.args.attempt),
      status: Number(e.args.status),
      measurement: e.args.measurement as Hex,
      outputHash: e.args.outputHash as Hex,
      timestamp: BigInt(e.args.timestamp as bigint),
    };
    if (!txCache.has(e.transactionHash)) txCache.set(e.transactionHash, publicClient.getTransaction({ hash: e.transactionHash }) as Promise<{ input: Hex }>);
    let signature: Hex | undefined;
    try {
      signature = findAttestationSignature((await txCache.get(e.transactionHash)!).input, a);
    } catch (err) {
      throw toChainError(err, `reading transaction ${e.transactionHash}`);
    }
    const [agentBefore, agentAfter] = await Promise.all([
      agentAt(publicClient, addresses, a.nodeId, e.blockNumber - 1n),
      agentAt(publicClient, addresses, a.nodeId, e.blockNumber),
    ]);
    // Like the contract's _checkAttester: an agent with code may have signed through ERC-1271. Its
    // verdict is read for every such agent; whether ECDSA recovery already settles it is for the checks.
    const walletVerdicts: AttestationEvidence["walletVerdicts"] = [];
    for (const agent of new Set([agentBefore, agentAfter])) {
      if (!signature || !(await hasCodeAt(publicClient, agent, e.blockNumber))) continue;
      const valid = await verifySignatureAt(publicClient, {
        signer: agent,
        signerIsContract: true,
        typedData: attestationTypedData(domain, a),
        signature,
        blockNumber: e.blockNumber,
        what: `checking the signature of the attestation in tx ${e.transactionHash} with agent ${agent}`,
      });
      walletVerdicts.push({ agent, valid });
    }
    attestations.push({
      attestation: a,
      recordedSigner: e.args.signer as Address,
      blockNumber: e.blockNumber,
      transactionHash: e.transactionHash,
      signature,
      agentBefore,
      agentAfter,
      walletVerdicts,
    });
  }
  return {
    id,
    domain,
    intent,
    intentBlock: submitted.blockNumber,
    intentTx: submitted.transactionHash,
    intentSignatureValid,
    deployerIsContract,
    events,
    attestations,
  };
}

/** Whether `address` had contract code at the end of `blockNumber`; false when that cannot be read off a reachable node. */
async function hasCodeAt(publicClient: PublicClient, address: Address, blockNumber: bigint): Promise<boolean> {
  try {
    const code = await publicClient.getCode({ address, blockNumber });
    return !!code && code !== "0x";
  } catch (err) {
    const e = toChainError(err, `reading the code of ${address} at block ${blockNumber}`);
    if (e instanceof ChainUnavailableError) throw e;
    return false;
  }
}

/**
 * Checks `signature` over `typedData` for `signer` in the state of `blockNumber`, as the contracts
 * do: ERC-1271 isValidSignature (eth_call at that block) for a contract, ECDSA recovery for an EOA.
 * An unreachable node throws; any other failure (a reverting wallet, a malformed signature) is a
 * signature that does not verify.
 */
async function verifySignatureAt(
  publicClient: PublicClient,
  req: {
    signer: Address;
    signerIsContract: boolean;
    typedData: ReturnType<typeof intentTypedData> | ReturnType<typeof attestationTypedData>;
    signature: Hex;
    blockNumber: bigint;
    /** What is being checked, for the error message. */
    what: string;
  },
): Promise<boolean> {
  try {
    return await verifyTypedData(publicClient, {
      address: req.signer,
      ...req.typedData,
      // An EOA's signature may be recorded in its 64-byte EIP-2098 form; a wallet's is passed as it is.
      signature: req.signerIsContract ? req.signature : expandSignature(req.signature),
      blockNumber: req.blockNumber,
    });
  } catch (err) {
    const e = toChainError(err, req.what);
    if (e instanceof ChainUnavailableError) throw e;
    return false;
  }
}

/**
 * The signature that accompanied `attestation` in an attest / attestMany call's calldata.
 * @example findAttestationSignature(tx.input, attestation) // "0x…" or undefined
 */
export function findAttestationSignature(calldata: Hex, attestation: Attestation): Hex | undefined {
  let decoded;
  try {
    decoded = decodeFunctionData({ abi: deploymentRegistryAbi, data: calldata });
  } catch {
    return undefined;
  }
  const pairs: Array<[Attestation, Hex]> = [];
  if (decoded.functionName === "attest") {
    const [att, sig] = decoded.args;
    pairs.push([att, sig]);
  } else if (decoded.functionName === "attestMany") {
    const [atts, sigs] = decoded.args;
    for (const [i, att] of atts.entries()) pairs.push([att, sigs[i]]);
  }
  const match = pairs.find(([att]) => sameAttestation(att, attestation));
  return match?.[1];
}

function sameAttestation(x: Attestation, y: Attestation): boolean {
  return (
    x.deploymentId.toLowerCase() === y.deploymentId.toLowerCase() &&
    Number(x.replicaIndex) === y.replicaIndex &&
    Number(x.nodeId) === y.nodeId &&
    Number(x.attempt) === y.attempt &&
    Number(x.status) === y.status &&
    x.measurement.toLowerCase() === y.measurement.toLowerCase() &&
    x.outputHash.toLowerCase() === y.outputHash.toLowerCase() &&
    BigInt(x.timestamp) === y.timestamp
  );
}
