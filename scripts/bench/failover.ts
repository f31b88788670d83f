/**
 * `npm run bench:failover`: watcher high availability at the size. Runs the failover
 * scenarios of test/watcher/act/failover.test.ts (two watcher processes on a shared PostgreSQL
 * started for the run; the active one SIGKILLed, then in a second round cut off from the database
 * by a partition, while it sends placements) with BENCH_FAILOVER_DEPLOYMENTS two-replica
 * deployments (default 300), BENCH_FAILOVER_RUNS times (default 3), and prints ONE JSON object:
 * takeover and all-placed times (medians and each run), duplicates and reverted transactions.
 * Needs PostgreSQL 15 (Debian's postgresql; .ci/run installs it).
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";

const DEPLOYMENTS = Number(process.env.BENCH_FAILOVER_DEPLOYMENTS ?? 300);
const RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 3);
const root = path.join(__dirname, "..", "..");

interface Round {
  deployments: number;
  replicas: number;
  sentBeforeKill: number;
  takeoverMs: number;
  allPlacedAfterKillMs: number;
  duplicates: number;
  orchestratorTxs: number;
  reverted: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rounds: Record<"kill" | "partition", Round[]> = { kill: [], partition: [] };
const loads: number[] = [];
for (let run = 0; run < RUNS; run++) {
  loads.push(os.loadavg()[0]!);
  const r = spawnSync(process.execPath, [path.join(root, "node_modules", "vitest", "vitest.mjs"), "run", "test/watcher/act/failover.test.ts"], {
    cwd: root,
    env: { ...process.env, HYPHA_FAILOVER_DEPLOYMENTS: String(DEPLOYMENTS) },
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) {
    process.stderr.write(out.slice(-4000));
    throw new Error(`failover run ${run + 1} failed (exit ${r.status})`);
  }
  if (/skipped/.test(out) && !/failover \(kill\)/.test(out)) throw new Error("the failover test was skipped: PostgreSQL is not installed here");
  for (const m of out.matchAll(/failover \((kill|partition)\): (\{.*\})/g)) rounds[m[1] as "kill" | "partition"].push(JSON.parse(m[2]!));
}

const summary = (rs: Round[]) => ({
  takeoverMsMedian: median(rs.map((r) => r.takeoverMs)),
  allPlacedAfterFaultMsMedian: median(rs.map((r) => r.allPlacedAfterKillMs)),
  duplicates: rs.reduce((s, r) => s + r.duplicates, 0),
  reverted: rs.reduce((s, r) => s + r.reverted, 0),
  orchestratorTxs: rs.reduce((s, r) => s + r.orchestratorTxs, 0),
  runs: rs.map((r) => ({ takeoverMs: r.takeoverMs, allPlacedAfterFaultMs: r.allPlacedAfterKillMs, sentBeforeFault: r.sentBeforeKill })),
});

console.log(
  JSON.stringify(
    {
      bench: "failover",
      deployments: DEPLOYMENTS,
      replicasEach: 2,
      runs: RUNS,
      leaderLeaseMs: 2000,
      units: { time: "ms" },
      kill: summary(rounds.kill),
      partition: summary(rounds.partition),
      loadAverage1m: loads,
      machine: { node: process.version, cores: os.cpus().length },
    },
    null,
    2,
  ),
);
