/**
 * `npm run demo`: the whole story on a local chain, in under two minutes. Starts `hypha up`
 * (chain, contracts, store, three staked nodes with agents, watcher), applies the seed's example
 * manifests verbatim from examples/, follows them to Running/Completed, prints their output, signs
 * and applies the seed's ConfigMap, audits every deployment, kills a node agent and shows its
 * replicas re-placed, corrupts an image file on a node and shows the Tampered attestation and the
 * replacement, then shuts everything down and exits 0 (non-zero if any step fails). Its state lives
 * in .hypha/demo/ alone, which it starts afresh; nothing else under .hypha/ (keys) is touched.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Hex } from "viem";
import { makePublicClient, loadContracts } from "../src/chain/clients";
import { readDeployment, readReplicas, deploymentStatusName, replicaStatusName, type ReplicaView } from "../src/chain/deployments";
import { readLiveUpState, type UpState } from "../src/cli/up/lock";
import { deploymentRegistryAbi } from "../src/chain/abi";

const projectDir = path.join(__dirname, "..");
const cli = path.join(projectDir, "bin", "hypha.js");
/** The demo's own state directory: the demo removes it at start, and nothing else. */
const hyphaDir = path.join(process.cwd(), ".hypha", "demo");
const demoDir = path.join(hyphaDir, "files");
/** `hypha` commands find the demo's contracts through this (set once `hypha up` is ready). */
const cliEnv: NodeJS.ProcessEnv = { ...process.env };
const started = Date.now();
const tty = process.stdout.isTTY;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string) => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string) => (tty ? `\x1b[31m${s}\x1b[0m` : s);
const clock = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

function step(title: string): void {
  console.log(`\n${bold(`== ${title}`)}  [${clock()}]`);
}

function indent(text: string): string {
  return text.trimEnd().replace(/^/gm, "   ");
}

/** Runs `hypha ARGS` as a user would, echoing the command and its output. */
function hypha(args: string[], { allowFail = false, quiet = false } = {}): { stdout: string; status: number } {
  console.log(`$ hypha ${args.join(" ")}`);
  const res = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: process.cwd(), env: cliEnv });
  const output = `${res.stdout ?? ""}${res.stderr ?? ""}`;
  if (!quiet && output.trim()) console.log(indent(output));
  if (res.status !== 0 && !allowFail) throw new Error(`hypha ${args.join(" ")} exited ${res.status}`);
  return { stdout: res.stdout ?? "", status: res.status ?? -1 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

async function main(): Promise<void> {
  const live = readLiveUpState(hyphaDir);
  if (live) throw new Error(`hypha up is already running (pid ${live.pid}); stop it first, the demo starts its own`);
  fs.rmSync(hyphaDir, { recursive: true, force: true });
  fs.mkdirSync(demoDir, { recursive: true });

  step("1. hypha up: local chain, contracts, blob store, 3 staked nodes with agents (runtime: the strongest sandbox here), watcher, REST API");
  const up = spawn(process.execPath, [cli, "up", "--dir", hyphaDir, "--runtime", "auto", "--restart-backoff-ms", "1000", "--node-lost-after-ms", "2500"], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const upExit = new Promise<number | null>((resolve) => up.once("exit", (code) => resolve(code)));
  try {
    await followUp(up);
    const state = readLiveUpState(hyphaDir);
    if (!state) throw new Error("hypha up reported ready but wrote no state");
    cliEnv.HYPHA_DEPLOYMENT = state.deploymentFile;
    console.log(`   workloads run in the ${state.runtime} sandbox`);
    await story(state);
  } finally {
    step("shutting down (Ctrl-C to hypha up)");
    up.kill("SIGINT");
    const code = await Promise.race([upExit, sleep(20_000).then(() => "timeout" as const)]);
    if (code === "timeout") up.kill("SIGKILL");
  }
  console.log(green(`\ndemo finished in ${clock()}: every step passed.`));
}

/** Echoes `hypha up` output until it says ready. */
function followUp(up: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) console.log(`   up | ${line}`);
        if (line.startsWith("hypha up: ready")) resolve();
      }
    };
    up.stdout!.on("data", onData);
    up.stderr!.on("data", onData);
    up.once("exit", (code) =>
      reject(new Error(`hypha up exited (${code}) before it was ready; see ${path.relative(process.cwd(), path.join(hyphaDir, "logs"))}/`)),
    );
  });
}

async function story(state: UpState): Promise<void> {
  const pc = makePublicClient(state.rpcUrl);
  const addresses = await loadContracts(pc, state.deploymentFile);
  const ids: Array<{ name: string; id: Hex; file: string }> = [];

  const apply = (file: string): Hex => {
    const out = hypha(["apply", "-f", file]).stdout;
    const id = /deployment (0x[0-9a-f]{64})/.exec(out)?.[1];
    if (!id) throw new Error(`no deployment id in the output of hypha apply -f ${file}`);
    return id as Hex;
  };

  /** Prints each on-chain state change until `done` holds for the deployment. */
  const follow = async (id: Hex, label: string, goal: string[]) => {
    let last = "";
    const line = await waitFor(
      `${label} to reach ${goal.join("/")}`,
      async () => {
        const d = await readDeployment(pc, addresses, id);
        const replicas = await readReplicas(pc, addresses, id);
        const now = `${deploymentStatusName(d.status)}  replicas ${replicas.map((r) => `${r.index}:${replicaStatusName(r.status)}@${r.nodeId || "-"}`).join(" ")}`;
        if (now !== last) console.log(`   ${label}: ${now}  [${clock()}]`);
        last = now;
        return goal.includes(deploymentStatusName(d.status)) ? now : undefined;
      },
      45_000,
    );
    if (!line.startsWith("Running") && !line.startsWith("Completed") && !line.startsWith("Terminated") && !goal.includes("Failed"))
      throw new Error(`${label}: ${line}`);
  };

  step("2. the seed's Deployment (apiVersion v1, ubuntu:latest, 3 replicas of echo), verbatim");
  const dep = apply("examples/deployment.yaml");
  ids.push({ name: "deterministic-app", id: dep, file: "examples/deployment.yaml" });
  await follow(dep, "deterministic-app", ["Running"]);

  step("3. the seed's zero-image Pod (zero-image://ubuntu-latest), verbatim");
  const pod = apply("examples/zero-image-pod.yaml");
  ids.push({ name: "zero-image-pod", id: pod, file: "examples/zero-image-pod.yaml" });
  await follow(pod, "zero-image-pod", ["Running"]);

  step("4. a Job on 3 replicas with quorum 2: the result is final when two output hashes agree");
  const job = apply("examples/job.yaml");
  await follow(job, "job", ["Completed", "Terminated", "Failed"]);
  const result = (await pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "jobResult", args: [job] })) as Hex;
  if (/^0x0{64}$/.test(result)) throw new Error("the job ended without a quorum result");
  console.log(`   result final on-chain: outputHash ${result} (2 of 3 replicas agree)`);
  ids.push({ name: "job", id: job, file: "examples/job.yaml" });

  step("5. what the workloads printed (from the agents that ran them)");
  await sleep(1_500); // let echo restart once under restartPolicy Always, so the restart shows in the logs
  hypha(["logs", dep]);
  hypha(["logs", pod]);
  hypha(["logs", job, "--replica", "0"]);
  console.log("   The seed's Deployment runs `echo`, which exits at once: under restartPolicy Always the agent restarts it");
  console.log("   with backoff (as Kubernetes does), so each replica's log shows the line once per run. Restarts, from an agent:");
  const replicasOnNode1 = (await (await fetch(`${state.nodes[0].url}/v1/replicas`)).json()) as {
    replicas: Array<{ deploymentId: string; restarts: number; status: string; bytesFetched: number; bytesTotal: number }>;
  };
  for (const r of replicasOnNode1.replicas.filter((x) => x.deploymentId === dep || x.deploymentId === pod)) {
    console.log(`   node 1 ${r.deploymentId.slice(0, 10)}…: ${r.status}, restarts ${r.restarts}, fetched ${r.bytesFetched} of ${r.bytesTotal} image bytes`);
  }

  step("6. the seed's ConfigMap: unsigned placeholders are refused, `hypha sign` fills them in, then anyone can relay it");
  hypha(["apply", "-f", "examples/smart-contract.yaml"], { allowFail: true });
  const signed = path.join(demoDir, "smart-contract.signed.yaml");
  hypha(["sign", "-f", "examples/smart-contract.yaml", "-o", signed]);
  const cm = apply(signed);
  ids.push({ name: "deployment-contract", id: cm, file: signed });
  await follow(cm, "deployment-contract", ["Running"]);

  step("7. hypha audit: every hash and signature re-checked from chain data (and the manifest)");
  for (const d of ids) hypha(["audit", d.id, "-f", d.file]);
  console.log(`   The REST API runs the same audit from chain data and the public spec blob (dashboard: ${state.apiUrl}/):`);
  for (const d of ids) {
    const report = (await (await fetch(`${state.apiUrl}/v1/deployments/${d.id}/audit`)).json()) as { verdict: string; checks: unknown[] };
    console.log(`   $ curl ${state.apiUrl}/v1/deployments/${d.id.slice(0, 10)}…/audit  -> ${report.verdict} (${report.checks.length} checks)`);
    if (report.verdict !== "PASS") throw new Error(`the API's audit of ${d.name} says ${report.verdict}`);
  }

  step("8. self-healing: kill node 2's agent (SIGKILL); the watcher finds it lost and re-places its replicas");
  const victim = state.nodes[1];
  const before = await readReplicas(pc, addresses, dep);
  const onVictim = before.filter((r) => r.nodeId === victim.nodeId).map((r) => r.index);
  process.kill(victim.pid, "SIGKILL");
  const killedAt = Date.now();
  console.log(`   killed agent of node ${victim.nodeId} (pid ${victim.pid}); it ran replica(s) ${onVictim.join(", ") || "none"} of deterministic-app`);
  await waitFor(
    "replicas re-placed and Running",
    async () => {
      const now = await readReplicas(pc, addresses, dep);
      const healed = onVictim.every((i) => now[i].nodeId !== victim.nodeId && replicaStatusName(now[i].status) === "Running");
      return healed ? now : undefined;
    },
    30_000,
  ).then((now) => {
    for (const i of onVictim) console.log(`   replica ${i}: node ${victim.nodeId} -> node ${now[i].nodeId}, Running (attempt ${now[i].attempt})`);
  });
  console.log(`   re-placed and Running again ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);

  step("9. continuous verification: corrupt one file of the image tree a running replica uses on node 1");
  const target = await tamperTarget(state.nodes[0], pc, addresses, pod);
  fs.appendFileSync(target.file, "tampered\n");
  console.log(`   appended to ${path.relative(process.cwd(), target.file)} (replica ${target.index} of zero-image-pod)`);
  console.log(
    `   the node keeps one verified tree per image for all its replicas of it: every one of them on node ${target.nodeId} now runs on a changed file`,
  );
  const tamperedAt = Date.now();
  await waitFor(
    "a Tampered attestation and a replacement",
    async () => {
      const r = (await readReplicas(pc, addresses, pod))[target.index];
      return r.attempt > target.attempt && replicaStatusName(r.status) === "Running" ? r : undefined;
    },
    40_000,
  ).then((r) =>
    console.log(
      `   replica ${target.index}: attested Tampered by node ${target.nodeId}, re-placed as attempt ${r.attempt} on node ${r.nodeId}, Running  (${((Date.now() - tamperedAt) / 1000).toFixed(1)} s)`,
    ),
  );
  hypha(["describe", "deployment", pod]);
  hypha(["audit", pod, "-f", "examples/zero-image-pod.yaml"]);
  hypha(["get", "deployments"]);
}

/** A file of a running replica's materialized image on `node`, for the tamper step. */
async function tamperTarget(
  node: UpState["nodes"][number],
  pc: ReturnType<typeof makePublicClient>,
  addresses: Awaited<ReturnType<typeof loadContracts>>,
  id: Hex,
): Promise<{ file: string; index: number; attempt: number; nodeId: number }> {
  const replicas: ReplicaView[] = await readReplicas(pc, addresses, id);
  const mine =
    replicas.find((r) => r.nodeId === node.nodeId && replicaStatusName(r.status) === "Running") ??
    replicas.find((r) => replicaStatusName(r.status) === "Running");
  if (!mine) throw new Error("no running replica to tamper with");
  const dataDir = mine.nodeId === node.nodeId ? node.dataDir : path.join(hyphaDir, "nodes", String(mine.nodeId));
  const runDir = path.join(dataDir, "replicas", `${id}-${mine.index}-${mine.attempt}`);
  // <runDir>/rootfs links to the node's one tree of that image, shared by its runs of the image
  const file = findFile(path.join(runDir, "rootfs"), ["etc/os-release", "etc/hostname", "bin/busybox"]);
  if (!file) throw new Error(`no image file found under ${runDir}`);
  return { file, index: mine.index, attempt: mine.attempt, nodeId: mine.nodeId };
}

function findFile(dir: string, candidates: string[]): string | undefined {
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const c of candidates) {
      const f = path.join(d, c);
      if (fs.existsSync(f) && fs.lstatSync(f).isFile()) return f;
    }
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      if (e.isDirectory() && !["proc", "dev", "sys"].includes(e.name)) stack.push(path.join(d, e.name));
    }
  }
  return undefined;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(red(`\ndemo failed: ${(err as Error).message ?? String(err)}`));
    process.exit(1);
  },
);
