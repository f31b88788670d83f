/**
 * The API's OpenAPI 3.1 document, built from the same zod schemas that validate the requests
 * (intentBody.ts, prepareRoute.ts) and that the tests check the answers against
 * (responseSchemas.ts), through zod 4's JSON Schema output (draft 2020-12, OpenAPI 3.1's dialect).
 */
import { z } from "zod";
import type { HyphaAddresses } from "../chain/addresses";
import { EIP712_NAME, EIP712_VERSION, hyphaTypes } from "../chain/eip712";
import { DEPLOYMENT_PHASES } from "../chain/deploymentOutcome";
import { publishSpecRequestSchema } from "./deploymentExtras";
import { intentSubmissionSchema } from "./intentBody";
import { prepareRequestSchema } from "./prepareRoute";
import * as r from "./responseSchemas";

type JsonSchema = Record<string, unknown>;

/** A zod schema as an OpenAPI 3.1 schema object (inline; no $schema key). */
function schemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema;
  return rest;
}

const json = (schema: z.ZodType, description: string) => ({ description, content: { "application/json": { schema: schemaOf(schema, "output") } } });
const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [String(c), { description: ERROR_TEXT[c], content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } }]),
  );
const ERROR_TEXT: Record<number, string> = {
  400: "Bad input: error.field names the field, error.message the reason; nothing was changed.",
  403: "This relayer does not relay for this deployer.",
  404: "Unknown deployment or node.",
  409: "The intent was submitted already.",
  422: "The contract refused (error.contractError is its custom error's name); nothing was sent.",
  429: "Too many intents from this client (Retry-After says when to retry).",
  502: "The chain or the store could not be reached.",
  503: "This API has no relayer key, or too many streams are open.",
};
const idParam = {
  name: "id",
  in: "path",
  required: true,
  description: "Deployment id (the intent's EIP-712 digest)",
  schema: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" },
};

/**
 * The OpenAPI 3.1 document for one chain (its EIP-712 domain is included as x-hypha-eip712).
 * @example res.json(openApiDocument(addresses))
 */
export function openApiDocument(addresses: Pick<HyphaAddresses, "chainId" | "deploymentRegistry" | "token">): JsonSchema {
  return {
    openapi: "3.1.0",
    info: {
      title: "Hypha API",
      version: "1",
      description: [
        "Deploy, follow and audit Hypha deployments. To deploy from a wallet:",
        "1. POST /v1/prepare with the manifest and your address: it answers the canonical spec, specHash, resources and the EIP-712 typed data of the DeploymentIntent (`typedData`, the eth_signTypedData_v4 payload).",
        "2. Sign `typedData` with eth_signTypedData_v4. If `permit.needed`, also sign `permit.typedData` (ERC-2612) so no approve transaction is needed.",
        "3. POST /v1/intents with { intent, signature, spec: canonicalSpec, permit?: { value, deadline, signature } }.",
        "4. Follow GET /v1/deployments/{id}/stream (server-sent events) and read GET /v1/deployments/{id}/audit.",
        "The typed data is also published at GET /v1/eip712 and as x-hypha-eip712 below. The canonical spec is RFC 8785 JSON of the normalized workload spec (src/spec/README.md); specHash is sha256 of its UTF-8 bytes.",
        "Every error is { error: { field?, message, contractError? } }; bad input always names the field.",
      ].join("\n\n"),
    },
    "x-hypha-eip712": {
      domain: { name: EIP712_NAME, version: EIP712_VERSION, chainId: addresses.chainId, verifyingContract: addresses.deploymentRegistry },
      primaryType: "DeploymentIntent",
      types: { DeploymentIntent: hyphaTypes.DeploymentIntent },
      token: addresses.token,
    },
    paths: {
      "/healthz": {
        get: {
          operationId: "health",
          summary: "Chain id, head block, contracts, relayer",
          responses: { "200": json(r.healthSchema, "Healthy"), ...errors(502) },
        },
      },
      "/v1/eip712": {
        get: {
          operationId: "eip712",
          summary: "The EIP-712 domain and types to sign an intent, and the token's permit domain",
          responses: { "200": json(r.eip712Schema, "Signing facts"), ...errors(502) },
        },
      },
      "/v1/prepare": {
        post: {
          operationId: "prepare",
          summary: "Manifest -> canonical spec, specHash, resources and the typed data to sign",
          requestBody: { required: true, content: { "application/json": { schema: schemaOf(prepareRequestSchema, "input") } } },
          responses: { "200": json(r.prepareResponseSchema, "Ready to sign"), ...errors(400, 502) },
        },
      },
      "/v1/intents": {
        post: {
          operationId: "submitIntent",
          summary: "Relay a signed intent (the relayer pays the gas; with a permit, the deployer needs no approve)",
          requestBody: { required: true, content: { "application/json": { schema: schemaOf(intentSubmissionSchema, "input") } } },
          responses: { "201": json(r.relayResultSchema, "Submitted"), ...errors(400, 403, 409, 422, 429, 502, 503) },
        },
      },
      "/v1/deployments": {
        get: {
          operationId: "listDeployments",
          summary: "Deployments, newest first",
          parameters: [
            { name: "deployer", in: "query", required: false, schema: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" } },
            {
              name: "phase",
              in: "query",
              required: false,
              description: "Only deployments in this phase (across all pages; total counts them)",
              schema: { type: "string", enum: DEPLOYMENT_PHASES.filter((p) => p !== "Unknown") },
            },
            { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
            {
              name: "offset",
              in: "query",
              required: false,
              description: "Skip this many of the newest (pagination)",
              schema: { type: "integer", minimum: 0, default: 0 },
            },
          ],
          responses: { "200": json(r.deploymentListSchema, "A page of deployments"), ...errors(400, 502) },
        },
      },
      "/v1/deployments/{id}": {
        get: {
          operationId: "getDeployment",
          summary: "Intent, signature, status, escrow, replicas",
          parameters: [idParam],
          responses: { "200": json(r.deploymentSchema, "The deployment"), ...errors(400, 404, 502) },
        },
      },
      "/v1/deployments/{id}/events": {
        get: {
          operationId: "getDeploymentEvents",
          summary: "Every event of the deployment, in chain order",
          parameters: [idParam],
          responses: { "200": json(r.eventsSchema, "Events"), ...errors(400, 404, 502) },
        },
      },
      "/v1/deployments/{id}/audit": {
        get: {
          operationId: "auditDeployment",
          summary: "The audit: checks with a verdict",
          parameters: [idParam],
          responses: { "200": json(r.auditSchema, "Audit report"), ...errors(400, 404, 502) },
        },
      },
      "/v1/deployments/{id}/stream": {
        get: {
          operationId: "streamDeployment",
          summary:
            "Server-sent events: `chain-event` (one per new event, id block:logIndex; Last-Event-ID resumes) and `deployment` (the deployment when it changes: the same resource as GET /v1/deployments/{id}) and `reorg` ({after}: blocks after it were replaced; their events are void, the new ones follow)",
          parameters: [idParam],
          responses: { "200": { description: "An event stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...errors(400, 404, 503) },
        },
      },
      "/v1/deployments/{id}/spec": {
        get: {
          operationId: "getDeploymentSpec",
          summary: "The deployment's workload spec from the store (checked against its specHash)",
          parameters: [idParam],
          responses: { "200": json(r.specSchema, "The spec"), ...errors(400, 404, 502) },
        },
      },
      "/v1/deployments/{id}/replicas/{index}/logs": {
        get: {
          operationId: "getReplicaLogs",
          summary: "A replica's stdout or stderr, from the agent of the node it runs on",
          parameters: [
            idParam,
            { name: "index", in: "path", required: true, schema: { type: "integer", minimum: 0 } },
            { name: "stream", in: "query", required: false, schema: { type: "string", enum: ["stdout", "stderr"], default: "stdout" } },
            {
              name: "from",
              in: "query",
              required: false,
              description: "Only bytes from this offset (x-log-size tells the next one)",
              schema: { type: "integer", minimum: 0 },
            },
          ],
          responses: { "200": { description: "The log text", content: { "text/plain": { schema: { type: "string" } } } }, ...errors(400, 404, 502) },
        },
      },
      "/v1/specs": {
        post: {
          operationId: "publishSpec",
          summary: "Publish a canonical spec blob to the store (needed when you submit the intent yourself)",
          requestBody: { required: true, content: { "application/json": { schema: schemaOf(publishSpecRequestSchema, "input") } } },
          responses: {
            "201": { description: "Stored", content: { "application/json": { schema: { type: "object", properties: { specHash: { type: "string" } } } } } },
            ...errors(400, 502),
          },
        },
      },
      "/v1/nodes": { get: { operationId: "listNodes", summary: "Registered nodes", responses: { "200": json(r.nodesSchema, "Nodes"), ...errors(502) } } },
      "/v1/nodes/{id}": {
        get: {
          operationId: "getNode",
          summary: "One node",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "integer", minimum: 1 } }],
          responses: { "200": json(r.nodeSchema, "The node"), ...errors(400, 404, 502) },
        },
      },
    },
    components: { schemas: { Error: schemaOf(r.errorSchema, "output") } },
  };
}
