/**
 * A typed client of Hypha's REST API (fetch; runs in browsers and Node): health, prepare a
 * manifest, submit a signed intent (with an optional ERC-2612 permit), read deployments, events,
 * audits and nodes, and follow a deployment over its server-sent event stream.
 */
import type { Address, Hex } from "viem";
import { HyphaError } from "../errors";
import type { WalletTypedData, WireIntent } from "./wire";

/** An error answer of the API: the HTTP status, the field it names, the contract's error name. */
export class HyphaApiError extends HyphaError {
  override name = "HyphaApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly contractError?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
  }
}

export interface PrepareRequest {
  manifest: string;
  deployer: Address;
  workload?: number;
  imageRoot?: Hex;
  /** wei, decimal string */
  budget?: string;
  /** wei per replica-second, decimal string */
  maxPricePerSecond?: string;
  deadline?: string;
  nonce?: string;
  maxRetries?: number;
  maxRunSeconds?: number;
}

export interface PrepareResponse {
  name: string;
  kind: "service" | "job";
  image: string;
  imageRoot: Hex;
  canonicalSpec: string;
  specHash: Hex;
  resources: { cpuMillis: number; memoryMiB: number; diskMiB: number };
  intent: WireIntent;
  typedData: WalletTypedData;
  deploymentId: Hex;
  maxCostPerHour: string;
  permit: { needed: boolean; typedData: WalletTypedData; nonce: string; allowance: string; deposit: string };
}

export interface PermitSubmission {
  value: string;
  deadline: string;
  signature: Hex;
}

export interface SubmitIntentRequest {
  intent: WireIntent;
  signature: Hex;
  spec?: string;
  permit?: PermitSubmission;
}

/** One server-sent event of GET /v1/deployments/{id}/stream. */
export interface StreamMessage {
  event: string;
  data: any;
  id?: string;
}

/**
 * @example
 * const api = createApiClient("http://127.0.0.1:7780");
 * const p = await api.prepare({ manifest, deployer });
 */
export function createApiClient(baseUrl = "", fetchFn: typeof fetch = (...a) => fetch(...a)) {
  const base = baseUrl.replace(/\/$/, "");
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetchFn(
      `${base}${path}`,
      body === undefined ? { method } : { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
    );
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new HyphaApiError(res.status, `${method} ${path}: the API answered ${res.status} with no JSON`);
    }
    if (!res.ok) throw new HyphaApiError(res.status, json?.error?.message ?? `HTTP ${res.status}`, json?.error?.field, json?.error?.contractError);
    return json as T;
  }
  const q = (params: Record<string, string | number | undefined>) => {
    const s = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined) as [string, string][]).toString();
    return s ? `?${s}` : "";
  };
  return {
    health: () => call<any>("GET", "/healthz"),
    prepare: (req: PrepareRequest) => call<PrepareResponse>("POST", "/v1/prepare", req),
    submitIntent: (req: SubmitIntentRequest) =>
      call<{ id: Hex; transactionHash: Hex; blockNumber: string; specPublished: boolean; permitTx?: Hex }>("POST", "/v1/intents", req),
    deployments: (opts: { deployer?: Address; phase?: string; limit?: number; offset?: number } = {}) =>
      call<{ total: number; deployments: any[] }>("GET", `/v1/deployments${q(opts)}`),
    deployment: (id: Hex) => call<any>("GET", `/v1/deployments/${id}`),
    events: (id: Hex) => call<{ id: Hex; events: any[] }>("GET", `/v1/deployments/${id}/events`),
    audit: (id: Hex) => call<any>("GET", `/v1/deployments/${id}/audit`),
    nodes: () => call<{ nodes: any[] }>("GET", "/v1/nodes"),
    streamUrl: (id: Hex) => `${base}/v1/deployments/${id}/stream`,
    /**
     * Follows a deployment's event stream until `signal` aborts or the server ends it; calls
     * `onMessage` for each event. (Browsers may use EventSource on streamUrl(id) instead.)
     */
    async follow(id: Hex, onMessage: (m: StreamMessage) => void, signal?: AbortSignal): Promise<void> {
      const res = await fetchFn(`${base}/v1/deployments/${id}/stream`, { headers: { accept: "text/event-stream" }, signal });
      if (!res.ok || !res.body) {
        const json = await res.json().catch(() => ({}));
        throw new HyphaApiError(res.status, json?.error?.message ?? `HTTP ${res.status}`, json?.error?.field);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
            const message = parseSseMessage(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
            if (message) onMessage(message);
          }
        }
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
    },
  };
}

export type HyphaApiClient = ReturnType<typeof createApiClient>;

/** One SSE message block (lines `event:`, `data:`, `id:`; comments skipped). */
export function parseSseMessage(block: string): StreamMessage | undefined {
  let event = "message";
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":") || line === "") continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  if (data.length === 0) return undefined;
  const text = data.join("\n");
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text data
  }
  return { event, data: parsed, ...(id !== undefined ? { id } : {}) };
}
