/**
 * A viem transport for JSON-RPC over HTTP(S) on `node:http` with a keep-alive Agent: requests made
 * in the same turn of the event loop go out as one JSON-RPC batch over a pooled connection. viem's
 * own `http()` goes through `fetch` (undici, WHATWG streams), which costs several times more client
 * CPU per request (bench: scripts/bench/transport.ts); every service talks to the chain through
 * this one (src/chain/clients.ts). Errors are viem's own (RpcRequestError, HttpRequestError,
 * TimeoutError), so retries and contract-revert decoding work as with `http()`.
 */
import http from "node:http";
import https from "node:https";
import { createTransport, HttpRequestError, RpcRequestError, stringify, TimeoutError, type EIP1193RequestFn, type Transport } from "viem";

export interface KeepAliveHttpOptions {
  /** Send the requests of one event-loop turn as one JSON-RPC batch (default true). */
  batch?: boolean;
  /** Most requests in one batch (default 1000). */
  batchSize?: number;
  retryCount?: number;
  retryDelay?: number;
  /** Per HTTP request, in ms (default 10000). */
  timeout?: number;
  /** Most open connections to the RPC (default 16). */
  maxSockets?: number;
}

/** JSON-RPC requests sent through this transport in this process, by method (for metrics). */
const requestCounts = new Map<string, number>();

/**
 * How many JSON-RPC requests this process sent, by method, since it started.
 * @example rpcRequestCounts().get("eth_call") // 42
 */
export function rpcRequestCounts(): ReadonlyMap<string, number> {
  return requestCounts;
}

// A type, not an interface: viem's errors take the body as an index-signature object.
type RpcMessage = {
  jsonrpc: "2.0";
  id: number;
  method: string;
  params?: unknown;
};
interface RpcReply {
  id: number;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}
interface Pending {
  message: RpcMessage;
  resolve: (reply: RpcReply) => void;
  reject: (err: Error) => void;
}

/**
 * The transport (one connection pool and one batch queue per call).
 * @example createPublicClient({ transport: keepAliveHttp("http://127.0.0.1:8545") })
 */
export function keepAliveHttp(url: string, opts: KeepAliveHttpOptions = {}): Transport<"http"> {
  const target = new URL(url);
  const lib = target.protocol === "https:" ? https : http;
  const agent = new lib.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 16 });
  const timeout = opts.timeout ?? 10_000;
  const batchSize = opts.batchSize ?? 1000;
  let nextId = 0;
  let queue: Pending[] = [];
  let scheduled = false;

  /** One HTTP POST of a message or a batch; resolves with the parsed JSON body. */
  const post = (body: RpcMessage | RpcMessage[]): Promise<RpcReply | RpcReply[]> =>
    new Promise((resolve, reject) => {
      const payload = stringify(body);
      const req = lib.request(
        target,
        { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (cause) => reject(new HttpRequestError({ body, cause, url })));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch (cause) {
              return reject(new HttpRequestError({ body, details: text || res.statusMessage, status, url, cause: cause as Error }));
            }
            // A non-2xx answer without a JSON-RPC reply in it is an HTTP failure (retried by status).
            if (status < 200 || status > 299) {
              const err = (parsed as RpcReply | undefined)?.error;
              if (!err || Array.isArray(parsed)) return reject(new HttpRequestError({ body, details: text || res.statusMessage, status, url }));
            }
            resolve(parsed as RpcReply | RpcReply[]);
          });
        },
      );
      req.setTimeout(timeout, () => {
        req.destroy();
        reject(new TimeoutError({ body, url }));
      });
      req.on("error", (cause) => reject(new HttpRequestError({ body, cause, url })));
      req.end(payload);
    });

  const flush = (): void => {
    scheduled = false;
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += batchSize) {
      const group = all.slice(i, i + batchSize);
      const body = group.length === 1 ? group[0]!.message : group.map((p) => p.message);
      post(body).then(
        (reply) => {
          const replies = Array.isArray(reply) ? reply : [reply];
          const byId = new Map(replies.map((r) => [r.id, r]));
          for (const p of group) {
            const r = byId.get(p.message.id);
            if (r) p.resolve(r);
            else p.reject(new HttpRequestError({ body: p.message, details: "no reply for this request in the batch", url }));
          }
        },
        (err: Error) => {
          for (const p of group) p.reject(err);
        },
      );
    }
  };

  const send = (method: string, params: unknown): Promise<RpcReply> =>
    new Promise((resolve, reject) => {
      requestCounts.set(method, (requestCounts.get(method) ?? 0) + 1);
      queue.push({ message: { jsonrpc: "2.0", id: nextId++, method, params }, resolve, reject });
      if (opts.batch === false) return flush();
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });

  return ({ retryCount: clientRetryCount, timeout: clientTimeout }) =>
    createTransport({
      key: "http",
      name: "HTTP JSON-RPC (keep-alive)",
      type: "http",
      retryCount: opts.retryCount ?? clientRetryCount,
      retryDelay: opts.retryDelay,
      timeout: clientTimeout ?? timeout,
      request: (async ({ method, params }: { method: string; params?: unknown }) => {
        const reply = await send(method, params);
        if (reply.error) throw new RpcRequestError({ body: { method, params }, error: reply.error, url });
        return reply.result;
      }) as EIP1193RequestFn,
    });
}
