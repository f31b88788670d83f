/**
 * The node agent's one typed configuration object, validated once at the edge (the CLI builds
 * it from flags). Every bad field gives an AgentError naming the field and the reason.
 */
import { z } from "zod";
import type { Address } from "viem";
import { AgentError } from "./errors";
import { RUNTIME_CHOICES, type RuntimeChoice } from "./runtime/registry";

/** Contract addresses the agent needs (structurally a subset of src/chain/addresses HyphaAddresses). */
export interface AgentAddresses {
  chainId: number;
  nodeRegistry: Address;
  deploymentRegistry: Address;
  /** Block the contracts were deployed in: where the log scan starts. */
  deployBlock: bigint | number;
}

/** Configuration of one node agent. */
export interface AgentConfig {
  /** Chain JSON-RPC endpoint. */
  rpcUrl: string;
  /** `deployments/<chainId>.json` (or folder); ignored when `addresses` is given. */
  deploymentFile?: string;
  addresses?: AgentAddresses;
  /** This node's id on-chain (1-based). */
  nodeId: number;
  /** The agent key registered for the node (0x + 64 hex). Signs and sends attestations. */
  agentPrivateKey: `0x${string}`;
  /** Where the HTTP API listens (port 0 = any free port). */
  listen: { host: string; port: number };
  /** Blob/image store base URLs, tried in order. */
  storeMirrors: string[];
  /** Agent state: materialized images, replica logs, chunk cache. */
  dataDir: string;
  /** Runtime driver: `auto` (default: the strongest sandbox here), `bwrap`, `unshare`, or `process` (unisolated, development only). */
  runtime?: RuntimeChoice;
  /** Chain poll interval (default 500 ms). */
  pollIntervalMs?: number;
  /** Re-read of every assigned replica's on-chain view, changed or not (default 30 s; logs trigger the others). */
  fullReadIntervalMs?: number;
  /** Re-verification of running replicas' files (default 10 s). */
  reverifyIntervalMs?: number;
  /** Restart backoff base (default 10 s as Kubernetes) and cap (default 300 s). */
  restartBackoffMs?: number;
  restartBackoffCapMs?: number;
  /** Max processes per replica (default 512). */
  pidsLimit?: number;
  /** Most bytes the node's chunk cache may hold; the oldest objects go first (default 4 GiB; 0 = no limit). */
  cacheMaxBytes?: number;
  /** cgroup v1 mount root (default /sys/fs/cgroup); null: rlimits only. */
  cgroupRoot?: string | null;
  /** Free bytes under which the node is under DiskPressure (default: 5% of its disk, at most 1 GiB). */
  minFreeBytes?: number;
  /** No successful read of the chain for this long: the ChainUnreachable condition (default 10 s). */
  chainStaleAfterMs?: number;
  /**
   * The lease (lease.ts): replicas run only while the chain confirmed their placement here within
   * this long; past it the agent and its node monitor stop them. Keep it under the watcher's
   * node-lost window minus its probe interval (lease.ts maxLeaseMs; default 2500 ms, for the
   * watcher's 5000 ms window and 1000 ms probes). 0 turns fencing off.
   */
  leaseMs?: number;
}

/** AgentConfig with defaults filled in. */
export type ResolvedAgentConfig = Required<Omit<AgentConfig, "deploymentFile" | "addresses" | "minFreeBytes">> &
  Pick<AgentConfig, "deploymentFile" | "addresses" | "minFreeBytes">;

/** The lease's default: under the watcher's default node-lost window (5000 ms) less its probe interval (1000 ms) and margins. */
export const DEFAULT_LEASE_MS = 2500;

const url = z.string().refine((s) => /^https?:\/\/[^\s]+$/.test(s), "must be an http(s) URL");
const addr = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address");
const schema = z.strictObject({
  rpcUrl: url,
  deploymentFile: z.string().min(1).optional(),
  addresses: z
    .object({
      chainId: z.number().int().positive(),
      nodeRegistry: addr,
      deploymentRegistry: addr,
      deployBlock: z.union([z.bigint().nonnegative(), z.number().int().nonnegative()]),
    })
    .optional(),
  nodeId: z.number().int().min(1, "node ids start at 1").max(0xffffffff),
  agentPrivateKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be 0x followed by 64 hex digits"),
  listen: z.strictObject({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }),
  storeMirrors: z.array(url).min(1, "at least one store mirror is needed"),
  dataDir: z.string().min(1),
  runtime: z.enum(RUNTIME_CHOICES, { error: `must be one of ${RUNTIME_CHOICES.join(", ")}` }).optional(),
  pollIntervalMs: z.number().int().min(10).max(600_000).optional(),
  fullReadIntervalMs: z.number().int().min(100).max(3_600_000).optional(),
  reverifyIntervalMs: z.number().int().min(10).max(86_400_000).optional(),
  restartBackoffMs: z.number().int().min(1).max(3_600_000).optional(),
  restartBackoffCapMs: z.number().int().min(1).max(86_400_000).optional(),
  pidsLimit: z.number().int().min(0).max(4_194_304).optional(),
  cacheMaxBytes: z.number().int().min(0).optional(),
  cgroupRoot: z.string().min(1).nullable().optional(),
  minFreeBytes: z.number().int().min(0).optional(),
  chainStaleAfterMs: z.number().int().min(100).max(3_600_000).optional(),
  leaseMs: z
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 200 && n <= 3_600_000), "must be 0 (fencing off) or 200..3600000 ms")
    .optional(),
});

/**
 * Validate `config` and fill in defaults. Throws AgentError naming the first bad field.
 * @example resolveAgentConfig({ rpcUrl: "http://127.0.0.1:8545", nodeId: 1, agentPrivateKey: devPrivateKey(8), listen: { host: "127.0.0.1", port: 7801 }, storeMirrors: ["http://127.0.0.1:7700"], dataDir: ".hypha/nodes/1", deploymentFile: "deployments" })
 */
export function resolveAgentConfig(config: AgentConfig): ResolvedAgentConfig {
  const parsed = schema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const field = issues[0].path.join(".") || "config";
    throw new AgentError(field, issues[0].message, {
      label: "agent config: ",
      details: issues.length > 1 ? issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n") : undefined,
    });
  }
  if (!config.addresses && !config.deploymentFile) throw new AgentError("deploymentFile", "give deploymentFile or addresses", { label: "agent config: " });
  return {
    ...config,
    runtime: config.runtime ?? "auto",
    pollIntervalMs: config.pollIntervalMs ?? 500,
    fullReadIntervalMs: config.fullReadIntervalMs ?? 30_000,
    reverifyIntervalMs: config.reverifyIntervalMs ?? 10_000,
    restartBackoffMs: config.restartBackoffMs ?? 10_000,
    restartBackoffCapMs: config.restartBackoffCapMs ?? 300_000,
    pidsLimit: config.pidsLimit ?? 512,
    cacheMaxBytes: config.cacheMaxBytes ?? 4 * 2 ** 30,
    cgroupRoot: config.cgroupRoot === undefined ? "/sys/fs/cgroup" : config.cgroupRoot,
    chainStaleAfterMs: config.chainStaleAfterMs ?? 10_000,
    leaseMs: config.leaseMs ?? DEFAULT_LEASE_MS,
  };
}
