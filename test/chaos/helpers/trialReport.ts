/**
 * The checks that end every chaos trial and the report of its counts. Each trial ends with every
 * deployment of the cluster audited (src/audit, what `hypha audit` runs: PASS expected) and the
 * deployer's retries read back from the chain (intent maxRetries minus retriesLeft: a node-caused
 * re-placement must use none). The counts go to one line on stdout per trial and, rewritten after
 * each trial, to test-artifacts/chaos/<suite>.json (gitignored), for the lead to quote.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { auditDeployment } from "../../../src/audit";
import { deploymentRegistryAbi } from "../../../src/chain/abi";
import { CHAOS_MAX_RETRIES, type Cluster } from "./cluster";

/** contracts/libraries/Lifecycle.sol D_*. */
const DEPLOYMENT_STATUS = ["None", "Requested", "Scheduled", "Running", "Completed", "Terminated", "Failed", "Cancelled"];

/** What the chain and the auditor say of a trial's deployments. */
export interface TrialCounts {
  deployments: number;
  auditsPass: number;
  auditsTotal: number;
  /** Deployments whose audit did not PASS, with the checks that failed. */
  auditFailures: { id: Hex; failed: string[] }[];
  /** The deployer's retries used, summed over the deployments (from retriesLeft on chain). */
  retriesUsed: number;
  /** Node-caused re-placements (free, from nodeFaults on chain), summed. */
  nodeFaults: number;
  /** Deployments not Running on chain (lost, failed). */
  notRunning: { id: Hex; status: string }[];
  /** For each deployment with a node fault: its replica's moves on chain (node: from>to), to tell why. */
  faultHistory: { id: Hex; moves: string[] }[];
}

const REPLICA_STATUS = ["Pending", "Scheduled", "Running", "Completed", "Failed", "Tampered", "Stopped"];

/**
 * Audit every deployment in `ids` (default: all the cluster made) and read its retries from chain.
 * @example const counts = await endOfTrial(c); expect(counts.auditsPass).toBe(counts.auditsTotal)
 */
export async function endOfTrial(c: Cluster, ids: Hex[] = c.deployed.map((d) => d.id)): Promise<TrialCounts> {
  const out: TrialCounts = {
    deployments: ids.length,
    auditsPass: 0,
    auditsTotal: 0,
    auditFailures: [],
    retriesUsed: 0,
    nodeFaults: 0,
    notRunning: [],
    faultHistory: [],
  };
  for (const id of ids) {
    const report = await auditDeployment(c.fx.publicClient, c.fx.addresses, id, { storeUrl: c.storeUrl });
    out.auditsTotal++;
    if (report.verdict === "PASS") out.auditsPass++;
    else out.auditFailures.push({ id, failed: report.checks.filter((k) => k.status === "FAIL").map((k) => `${k.name}: ${k.detail}`) });
    const d = (await c.fx.publicClient.readContract({
      address: c.fx.addresses.deploymentRegistry,
      abi: deploymentRegistryAbi,
      functionName: "getDeployment",
      args: [id],
    })) as { status: number; retriesLeft: number; nodeFaults: number };
    out.retriesUsed += CHAOS_MAX_RETRIES - Number(d.retriesLeft);
    out.nodeFaults += Number(d.nodeFaults);
    if (Number(d.nodeFaults) > 0) {
      const moves = await c.fx.publicClient.getContractEvents({
        address: c.fx.addresses.deploymentRegistry,
        abi: deploymentRegistryAbi,
        eventName: "ReplicaStatusChanged",
        args: { id },
        fromBlock: 0n,
        strict: true,
      });
      out.faultHistory.push({ id, moves: moves.map((e) => `${e.args.nodeId}:${REPLICA_STATUS[e.args.from]}>${REPLICA_STATUS[e.args.to]}@${e.blockNumber}`) });
    }
    const status = DEPLOYMENT_STATUS[Number(d.status)] ?? String(d.status);
    if (status !== "Running") out.notRunning.push({ id, status });
  }
  return out;
}

const reports = new Map<string, Record<string, unknown>[]>();

/**
 * Print one line for `trial` and rewrite test-artifacts/chaos/<suite>.json with every trial so far.
 * @example reportTrial("fencing", "agent SIGSTOP", { maxCopies: 1, retriesUsed: 0, audits: "6/6" })
 */
export function reportTrial(suite: string, trial: string, figures: Record<string, unknown>): void {
  const line = Object.entries(figures)
    .filter(([, v]) => typeof v !== "object" || v === null)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  console.log(`chaos [${suite}] ${trial}: ${line}`);
  const list = reports.get(suite) ?? [];
  list.push({ trial, ...figures });
  reports.set(suite, list);
  const dir = path.join(__dirname, "..", "..", "..", "test-artifacts", "chaos");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, `${suite}.json`),
    `${JSON.stringify({ suite, node: process.version, cores: os.cpus().length, at: new Date().toISOString(), trials: list }, null, 2)}\n`,
  );
}

/** The figures every trial reports from its counts. */
export function countFigures(t: TrialCounts): Record<string, unknown> {
  return {
    audits: `${t.auditsPass}/${t.auditsTotal}`,
    retriesUsed: t.retriesUsed,
    nodeFaults: t.nodeFaults,
    notRunning: t.notRunning.length,
    ...(t.auditFailures.length ? { auditFailures: t.auditFailures } : {}),
    ...(t.faultHistory.length ? { faultHistory: t.faultHistory } : {}),
  };
}
