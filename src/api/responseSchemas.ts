/**
 * What the API answers, as zod schemas: the OpenAPI document's response schemas come from here,
 * and the API test parses real answers with them, so the published shapes cannot drift from the
 * served ones. Integers wider than 2^53 (token amounts, blocks, timestamps) are decimal strings.
 */
import { z } from "zod";
import { wireIntentSchema } from "./intentBody";

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .meta({ description: "address" });
const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/)
  .meta({ description: "0x + 64 hex" });
const decimal = z.string().regex(/^\d+$/).meta({ description: "decimal string (may exceed 2^53)" });
const hexData = z.string().regex(/^0x[0-9a-fA-F]*$/);

export const errorSchema = z
  .object({
    error: z.object({
      field: z.string().optional().meta({ description: "The request field at fault (dotted path), for bad input." }),
      message: z.string(),
      contractError: z.string().optional().meta({ description: "The contract's custom error name, when the contract refused." }),
    }),
  })
  .meta({ description: "Every error answer" });

export const healthSchema = z.object({
  ok: z.boolean(),
  chainId: z.number().int(),
  block: decimal,
  contracts: z.looseObject({ nodeRegistry: address, deploymentRegistry: address }),
  relayer: address.nullable(),
});

export const replicaSchema = z.object({
  index: z.number().int(),
  status: z.string().meta({ description: "Pending, Scheduled, Running, Completed, Failed, Tampered or Stopped" }),
  nodeId: z.number().int().nullable().meta({ description: "null while not placed" }),
  attempt: z.number().int(),
  pricePerSecond: decimal,
  since: z.string().nullable().meta({ description: "ISO time of the replica's last change" }),
});

/** One deployment, as deploymentResource.ts builds it (the same JSON `hypha get deployment -o json` prints). */
export const deploymentSchema = z.object({
  id: bytes32,
  name: z.string().nullable().meta({ description: "metadata.name from the spec blob (null when the store lacks it)" }),
  kind: z.enum(["service", "job"]),
  deployer: address,
  phase: z
    .enum(["Unknown", "Requested", "Scheduled", "Running", "Succeeded", "Failed", "Deleted", "OutOfBudget", "Cancelled"])
    .meta({ description: "What happened, from chain data: a job that reached its quorum is Succeeded even once settled (Terminated)" }),
  reason: z.string().meta({ description: "CamelCase reason, e.g. QuorumReached, ReplicaFailed, NoMajority, DeletedByDeployer, BudgetExhausted" }),
  message: z.string(),
  status: z.string().meta({ description: "The contract's status: Requested, Scheduled, Running, Completed, Terminated, Failed or Cancelled" }),
  replicas: z.object({ desired: z.number().int(), placed: z.number().int(), running: z.number().int() }),
  escrow: decimal,
  retriesLeft: z.number().int(),
  jobResult: bytes32.nullable(),
  intent: wireIntentSchema,
  signature: hexData,
  submitted: z.object({ block: decimal, transactionHash: bytes32 }),
  terminated: z.object({ by: address, paidToNodes: decimal, refunded: decimal, block: decimal, transactionHash: bytes32 }).nullable(),
  replicaSet: z.array(replicaSchema),
});

/** A page of deployments: each one in the same shape as GET /v1/deployments/{id}. */
export const deploymentListSchema = z.object({ total: z.number().int(), deployments: z.array(deploymentSchema) });

export const chainEventSchema = z.object({
  eventName: z.string(),
  args: z.record(z.string(), z.unknown()),
  blockNumber: decimal,
  logIndex: z.number().int(),
  transactionHash: bytes32,
});

export const eventsSchema = z.object({ id: bytes32, events: z.array(chainEventSchema) });

export const auditSchema = z.object({
  id: bytes32,
  verdict: z.enum(["PASS", "FAIL"]),
  checks: z.array(z.object({ name: z.string(), status: z.enum(["PASS", "FAIL", "SKIP"]), detail: z.string() })),
});

/** One node, as nodeResource.ts builds it (the same JSON `hypha get nodes -o json` prints). */
export const nodeSchema = z.object({
  id: z.number().int(),
  state: z.enum(["Active", "Unbonding", "Jailed"]),
  operator: address,
  agent: address,
  endpoint: z.string(),
  liveness: z
    .object({ reachable: z.boolean(), checkedAt: z.string(), lastAttestation: z.string().nullable() })
    .meta({ description: "whether the agent's /healthz answered just now, and the time its agent signed into its latest on-chain attestation (null: none)" }),
  capacity: z.object({ cpuMillis: z.number().int(), memoryMiB: z.number().int(), diskMiB: z.number().int(), slots: z.number().int() }),
  free: z.object({ cpuMillis: z.number().int(), memoryMiB: z.number().int(), diskMiB: z.number().int(), slots: z.number().int() }),
  placed: z.number().int(),
  pricePerSecond: decimal,
  stake: decimal,
  unbondingSince: decimal.nullable(),
  measurement: bytes32,
});

export const nodesSchema = z.object({ nodes: z.array(nodeSchema) });

const walletTypedDataSchema = z
  .object({
    types: z.record(z.string(), z.array(z.object({ name: z.string(), type: z.string() }))),
    primaryType: z.string(),
    domain: z.record(z.string(), z.unknown()),
    message: z.record(z.string(), z.unknown()),
  })
  .meta({ description: "The payload of eth_signTypedData_v4 (EIP712Domain type included; numbers as decimal strings)." });

export const prepareResponseSchema = z.object({
  name: z.string().meta({ description: "metadata.name" }),
  kind: z.enum(["service", "job"]),
  image: z.string(),
  imageRoot: bytes32,
  canonicalSpec: z.string().meta({ description: "RFC 8785 canonical JSON of the workload spec; send it as `spec` to POST /v1/intents." }),
  specHash: bytes32.meta({ description: "sha256 of canonicalSpec's UTF-8 bytes" }),
  resources: z.object({ cpuMillis: z.number().int(), memoryMiB: z.number().int(), diskMiB: z.number().int() }),
  intent: wireIntentSchema,
  typedData: walletTypedDataSchema,
  deploymentId: bytes32.meta({ description: "The EIP-712 digest of the intent: its id on-chain." }),
  maxCostPerHour: decimal.meta({ description: "wei: maxPricePerSecond x replicas x 3600" }),
  permit: z.object({
    needed: z.boolean().meta({ description: "True when neither the deposit nor the allowance covers the budget: sign typedData and send it as `permit`." }),
    typedData: walletTypedDataSchema,
    nonce: decimal,
    allowance: decimal,
    deposit: decimal,
  }),
});

export const relayResultSchema = z.object({
  id: bytes32,
  transactionHash: bytes32,
  blockNumber: decimal,
  specPublished: z.boolean(),
  permitTx: bytes32.optional(),
});

export const eip712Schema = z.object({
  domain: z.object({ name: z.string(), version: z.string(), chainId: z.number().int(), verifyingContract: address }),
  primaryType: z.literal("DeploymentIntent"),
  types: z.record(z.string(), z.array(z.object({ name: z.string(), type: z.string() }))),
  token: z.object({ address, permitDomain: z.object({ name: z.string(), version: z.string(), chainId: z.number().int(), verifyingContract: address }) }),
});

export const specSchema = z.object({
  specHash: bytes32,
  spec: z.looseObject({ name: z.string(), kind: z.enum(["service", "job"]), image: z.string(), replicas: z.number().int() }),
});
