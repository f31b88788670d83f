/**
 * Wakes a polling loop on each new block: a WebSocket `eth_subscribe("newHeads")` where the RPC
 * offers one (Hardhat's node serves WebSocket on its HTTP host and port; most production RPCs have
 * a ws:// endpoint), so the watcher and the agents act on a block as it is mined instead of at
 * their next poll. Where no WebSocket answers, nothing changes: the owner keeps polling (the poll
 * also stays as the safety net for a missed or late notification) and the socket is tried again
 * every few seconds. (`ws` directly: viem's webSocket transport finds no constructor through
 * isows when loaded as ES modules on Node 20, e.g. under vitest.)
 */
import WebSocket from "ws";
import type { Logger } from "../logger";

export interface NewHeadsOptions {
  /** The WebSocket endpoint (default: the RPC URL with ws:// for http://, wss:// for https://). */
  wsUrl?: string;
  /** Called on each new head; returning true consumes it (a sleeper was woken), else `takeHead` reports it. Keep it cheap. */
  onHead?: () => boolean;
  logger?: Pick<Logger, "info">;
}

/**
 * The WebSocket URL that goes with an HTTP RPC URL (pure).
 * @example wsUrlFor("http://127.0.0.1:8545") // "ws://127.0.0.1:8545/"
 */
export function wsUrlFor(rpcUrl: string): string | undefined {
  const url = new URL(rpcUrl);
  if (url.protocol === "ws:" || url.protocol === "wss:") return url.toString();
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  else return undefined;
  return url.toString();
}

/**
 * A newHeads subscription that never throws: `onHead` wakes the owner's sleep; `takeHead()` says
 * whether a block arrived that no sleeper took (while the owner was busy) since the last call.
 * @example const heads = NewHeads.start(rpcUrl, { onHead: () => (wake ? (wake(), true) : false) }); ...; await sleep(heads.takeHead() ? 20 : 150);
 */
export class NewHeads {
  private seen = false;
  private closed = false;
  private socket: WebSocket | undefined;
  private retry: NodeJS.Timeout | undefined;
  private subscribed = false;
  private everLive = false;
  /** Resolves once the first subscription is live (true) or the first attempt failed (false). */
  readonly ready: Promise<boolean>;

  private constructor(
    private readonly wsUrl: string | undefined,
    private readonly opts: NewHeadsOptions,
  ) {
    this.ready = new Promise((resolve) => this.connect(resolve));
  }

  static start(rpcUrl: string, opts: NewHeadsOptions = {}): NewHeads {
    return new NewHeads(opts.wsUrl ?? wsUrlFor(rpcUrl), opts);
  }

  /** True when a new head arrived that no sleeper took since the last call (and clears it). */
  takeHead(): boolean {
    const seen = this.seen;
    this.seen = false;
    return seen;
  }

  get live(): boolean {
    return this.subscribed && !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.terminate();
    });
  }

  private connect(settle: (live: boolean) => void): void {
    if (!this.wsUrl || this.closed) return settle(false);
    let settled = false;
    const done = (live: boolean, err?: string) => {
      if (settled) return;
      settled = true;
      if (live) this.opts.logger?.info({ wsUrl: this.wsUrl }, "new blocks pushed over WebSocket (eth_subscribe newHeads); polling stays as the fallback");
      else if (!this.everLive) this.opts.logger?.info({ wsUrl: this.wsUrl, err }, "no WebSocket newHeads subscription: polling for new blocks");
      settle(live);
    };
    const socket = new WebSocket(this.wsUrl, { handshakeTimeout: 5000 });
    this.socket = socket;
    socket.on("open", () => socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] })));
    socket.on("message", (data: WebSocket.RawData) => {
      let msg: { id?: number; result?: unknown; error?: { message?: string }; method?: string };
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (msg.id === 1) {
        if (msg.error || typeof msg.result !== "string") {
          done(false, msg.error?.message ?? "eth_subscribe refused");
          socket.terminate();
          return;
        }
        this.subscribed = true;
        this.everLive = true;
        return done(true);
      }
      if (msg.method === "eth_subscription" && this.opts.onHead?.() !== true) this.seen = true;
    });
    socket.on("error", (err: Error) => done(false, err.message));
    socket.on("close", () => {
      this.subscribed = false;
      done(false, "closed");
      // Try again later (a restarted node, a dropped connection); the owner polls meanwhile.
      if (!this.closed) this.retry = setTimeout(() => this.connect(() => undefined), this.everLive ? 1000 : 5000);
    });
  }
}
