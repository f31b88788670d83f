/**
 * GET /v1/deployments/:id/stream: a deployment followed live over server-sent events, so a
 * console or dapp need not poll. On each new block the stream sends the deployment's new chain
 * events (`event: chain-event`, id `block:logIndex`, so a reconnecting EventSource resumes after
 * its Last-Event-ID) and, when it changed, the deployment itself (`event: deployment`: the one
 * resource shape of deploymentResource.ts, exactly what GET /v1/deployments/:id answers). When
 * blocks it has streamed from are replaced (a reorg), it sends `event: reorg` with `after`, the
 * last block it streamed that is still on the chain: events of later blocks are void, and the
 * events of the new blocks follow. Comments keep idle connections open.
 */
import type { Request, Response } from "express";
import type { Hex, PublicClient } from "viem";
import type { HyphaAddresses } from "../chain/addresses";
import { readDeploymentEvents } from "../chain/deployments";
import { readDeploymentResources, specNameLookup, type SpecNameLookup } from "./deploymentResource";
import type { DeploymentIndex } from "./deploymentIndex";
import { InputError } from "../errors";
import { toWire } from "../sdk/wire";

export interface DeploymentStreamOptions {
  publicClient: PublicClient;
  addresses: HyphaAddresses;
  index: DeploymentIndex;
  /** Where the manifests' names are looked up (the store). */
  storeUrl: string;
  /** The API's name lookup, shared with GET (default: a new one on storeUrl). */
  specNames?: SpecNameLookup;
  /** How often the head is checked (ms; default 500). */
  pollMs?: number;
  /** Most open streams at once (503 past it; default 200). */
  maxStreams?: number;
}

/** Scanned heads remembered per stream, to find where a reorg forked. */
const REMEMBERED_HEADS = 128;

/** Parses a Last-Event-ID (`block:logIndex`). */
function parseCursor(text: unknown): { block: bigint; logIndex: number } | undefined {
  if (typeof text !== "string" || !/^\d+:\d+$/.test(text)) return undefined;
  const [b, l] = text.split(":");
  return { block: BigInt(b), logIndex: Number(l) };
}

/**
 * The express handler.
 * @example app.get("/v1/deployments/:id/stream", createDeploymentStreamHandler({ publicClient, addresses, index }))
 */
export function createDeploymentStreamHandler(opts: DeploymentStreamOptions) {
  const { publicClient, addresses, index } = opts;
  const pollMs = opts.pollMs ?? 500;
  const maxStreams = opts.maxStreams ?? 200;
  const specNames = opts.specNames ?? specNameLookup(opts.storeUrl);
  let open = 0;
  return async (req: Request, res: Response): Promise<void> => {
    const raw = String(req.params.id);
    if (!/^0x[0-9a-fA-F]{64}$/.test(raw)) throw new InputError("id", `must be a deployment id, 0x followed by 64 hex digits, got ${JSON.stringify(raw)}`);
    const id = raw.toLowerCase() as Hex;
    const entry = await index.get(id);
    if (!entry) {
      res.status(404).json({ error: { field: "id", message: `unknown deployment ${id}: no IntentSubmitted event on this chain` } });
      return;
    }
    if (open >= maxStreams) {
      res
        .status(503)
        .set("retry-after", "5")
        .json({ error: { message: `too many open streams (${maxStreams}); retry later` } });
      return;
    }
    open++;
    res.status(200).set({ "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
    res.flushHeaders();
    const send = (event: string, data: unknown, eventId?: string) => {
      res.write(`${eventId ? `id: ${eventId}\n` : ""}event: ${event}\ndata: ${JSON.stringify(toWire(data))}\n\n`);
    };
    let cursor = parseCursor(req.get("last-event-id") ?? req.query.after);
    let scannedTo = entry.blockNumber - 1n;
    const heads: { block: bigint; hash: Hex }[] = []; // the heads scanned to, oldest first
    let lastState = "";
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let lastWrite = Date.now();
    res.on("close", () => {
      closed = true;
      if (timer) clearTimeout(timer);
      open--;
    });
    /** The newest scanned head still on the chain (undefined: none is), or "same" when nothing was replaced. */
    const forkPoint = async (latest: { number: bigint; hash: Hex }): Promise<bigint | undefined | "same"> => {
      const last = heads.at(-1);
      if (!last) return "same";
      const lastNow =
        latest.number === last.block ? latest.hash : latest.number > last.block ? (await publicClient.getBlock({ blockNumber: last.block })).hash : undefined;
      if (lastNow === last.hash) return "same";
      for (let i = heads.length - 2; i >= 0; i--) {
        const h = heads[i]!;
        if (h.block <= latest.number && (await publicClient.getBlock({ blockNumber: h.block })).hash === h.hash) return h.block;
      }
      return undefined;
    };
    const tick = async () => {
      try {
        const latest = await publicClient.getBlock({ blockTag: "latest" });
        const fork = await forkPoint(latest as { number: bigint; hash: Hex });
        if (fork !== "same") {
          // Blocks streamed from were replaced: void what came after the fork and read again.
          const after = fork ?? entry.blockNumber - 1n;
          send("reorg", { after });
          while (heads.length && heads.at(-1)!.block > after) heads.pop();
          scannedTo = after;
          cursor = fork === undefined ? undefined : { block: after, logIndex: Number.MAX_SAFE_INTEGER };
          lastState = "";
        }
        const head = latest.number;
        if (head > scannedTo) {
          const events = await readDeploymentEvents(publicClient, { ...addresses, deployBlock: scannedTo + 1n }, id, head);
          for (const e of events) {
            if (cursor && (e.blockNumber < cursor.block || (e.blockNumber === cursor.block && e.logIndex <= cursor.logIndex))) continue;
            send("chain-event", e, `${e.blockNumber}:${e.logIndex}`);
            cursor = { block: e.blockNumber, logIndex: e.logIndex };
          }
          const [resource] = await readDeploymentResources(publicClient, addresses, [entry], specNames);
          const text = JSON.stringify(toWire(resource));
          if (text !== lastState) {
            send("deployment", resource);
            lastState = text;
          }
          scannedTo = head;
          heads.push({ block: head, hash: latest.hash as Hex });
          if (heads.length > REMEMBERED_HEADS) heads.shift();
          lastWrite = Date.now();
        } else if (Date.now() - lastWrite > 15_000) {
          res.write(": keep-alive\n\n");
          lastWrite = Date.now();
        }
      } catch (err) {
        send("error", { message: (err as Error).message?.split("\n")[0] ?? String(err) });
      }
      if (!closed) timer = setTimeout(tick, pollMs);
    };
    await tick();
  };
}
