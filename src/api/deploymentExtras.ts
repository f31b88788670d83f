/**
 * What a console shows beside the chain's view of a deployment: its workload spec (from the
 * store, checked against the specHash, so names come from metadata.name) and a replica's logs
 * (from the agent at the node's registered endpoint, which a browser cannot reach itself).
 *   GET /v1/deployments/:id/spec                    { specHash, spec } (404 when the store lacks it)
 *   GET /v1/deployments/:id/replicas/:index/logs    text/plain; ?stream=stderr, ?from=N as the agent's
 *   POST /v1/specs                                  publish a canonical spec blob (direct submissions)
 */
import type { Request, Response } from "express";
import type { Hex, PublicClient } from "viem";
import { z } from "zod";
import type { HyphaAddresses } from "../chain/addresses";
import { readReplicas } from "../chain/deployments";
import { readNode } from "../chain/nodes";
import { StoreClient } from "../image/storeClient";
import { computeSpecHash, formatSpecIssue, SpecError, specFromCanonicalJson } from "../spec";
import type { DeploymentIndex } from "./deploymentIndex";
import { InputError } from "../errors";

export interface DeploymentExtrasOptions {
  publicClient: PublicClient;
  addresses: HyphaAddresses;
  storeUrl: string;
  index: DeploymentIndex;
}

function idOf(req: Request): Hex {
  const raw = String(req.params.id);
  if (!/^0x[0-9a-fA-F]{64}$/.test(raw)) throw new InputError("id", `must be a deployment id, 0x followed by 64 hex digits, got ${JSON.stringify(raw)}`);
  return raw.toLowerCase() as Hex;
}

const unknown = (res: Response, id: Hex) =>
  res.status(404).json({ error: { field: "id", message: `unknown deployment ${id}: no IntentSubmitted event on this chain` } });

/** @example app.get("/v1/deployments/:id/spec", specHandler(opts)) */
export function specHandler(opts: DeploymentExtrasOptions) {
  const cache = new Map<Hex, unknown>(); // specHash -> spec; a spec never changes under its hash
  return async (req: Request, res: Response): Promise<void> => {
    const id = idOf(req);
    const entry = await opts.index.get(id);
    if (!entry) return void unknown(res, id);
    const specHash = entry.intent.specHash.toLowerCase() as Hex;
    if (!cache.has(specHash)) {
      const blob = await new StoreClient([opts.storeUrl]).findSpecJson(specHash);
      if (blob === undefined) return void res.status(404).json({ error: { field: "specHash", message: `the store has no spec blob for ${specHash}` } });
      if (cache.size > 5000) cache.clear();
      cache.set(specHash, JSON.parse(blob));
    }
    res.json({ specHash, spec: cache.get(specHash) });
  };
}

/** @example app.get("/v1/deployments/:id/replicas/:index/logs", logsHandler(opts)) */
export function logsHandler(opts: DeploymentExtrasOptions) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = idOf(req);
    const text = String(req.params.index);
    if (!/^\d+$/.test(text) || Number(text) > 65535) throw new InputError("index", `must be a replica index (0 to 65535), got ${JSON.stringify(text)}`);
    const stream = req.query.stream ?? "stdout";
    if (stream !== "stdout" && stream !== "stderr") throw new InputError("stream", `must be stdout or stderr, got ${JSON.stringify(stream)}`);
    const from = req.query.from ?? "0";
    if (typeof from !== "string" || !/^\d+$/.test(from)) throw new InputError("from", `must be a byte offset (0 or more), got ${JSON.stringify(from)}`);
    const entry = await opts.index.get(id);
    if (!entry) return void unknown(res, id);
    const replicas = await readReplicas(opts.publicClient, opts.addresses, id);
    const r = replicas[Number(text)];
    if (!r) throw new InputError("index", `the deployment has ${replicas.length} replica slot(s)`);
    if (r.nodeId === 0) return void res.status(404).json({ error: { field: "index", message: `replica ${text} is not placed on a node` } });
    const node = await readNode(opts.publicClient, opts.addresses, r.nodeId);
    let answer: globalThis.Response;
    try {
      answer = await fetch(`${node.endpoint.replace(/\/+$/, "")}/v1/replicas/${id}/${text}/logs?stream=${stream}&from=${from}`, {
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      return void res.status(502).json({ error: { message: `node ${r.nodeId} at ${node.endpoint} does not answer (${(err as Error).message})` } });
    }
    if (!answer.ok)
      return void res
        .status(answer.status === 404 ? 404 : 502)
        .json({ error: { field: "index", message: `node ${r.nodeId} has no logs of replica ${text} (${answer.status})` } });
    const size = answer.headers.get("x-log-size");
    if (size) res.set("x-log-size", size);
    res
      .set("x-node-id", String(r.nodeId))
      .type("text/plain")
      .send(await answer.text());
  };
}

/** The body of POST /v1/specs (OpenAPI takes its schema from here). */
export const publishSpecRequestSchema = z.object({ spec: z.string().meta({ description: "canonicalSpec from POST /v1/prepare" }) });

/**
 * POST /v1/specs {spec}: publishes a canonical spec blob to the store (for a deployer who submits
 * its intent itself rather than through the relayer, which publishes the spec). The blob must be
 * a valid spec in canonical form; the answer is its specHash.
 */
export function publishSpecHandler(opts: Pick<DeploymentExtrasOptions, "storeUrl">) {
  return async (req: Request, res: Response): Promise<void> => {
    const parsed = publishSpecRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw new InputError("spec", "required: the canonical spec JSON as a string (POST /v1/prepare answers it as canonicalSpec)");
    const spec = parsed.data.spec;
    try {
      specFromCanonicalJson(spec);
    } catch (err) {
      if (err instanceof SpecError) throw new InputError("spec", err.issues.map((i) => formatSpecIssue(i)).join("; "));
      throw err;
    }
    await new StoreClient([opts.storeUrl]).putBlob(new TextEncoder().encode(spec));
    res.status(201).json({ specHash: computeSpecHash(specFromCanonicalJson(spec)) });
  };
}
