/**
 * `hypha up`: the whole system on one machine. Starts a local `hardhat node`, deploys the
 * contracts, starts the blob/image store and imports the demo root filesystem, funds, stakes and
 * registers N nodes each with its own agent process, starts the watcher and the REST API, and keeps running until
 * Ctrl-C, when it stops everything in reverse order. Logs go to .hypha/logs/.
 */
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { HyphaError } from "../../errors";
import { autoRuntime, type RuntimeChoice } from "../../agent/runtime/registry";
import { readLiveUpState, removeUpState, writeUpState, type UpState } from "./lock";
import { httpOk, rpcReady, startChild, stopChildren, waitUntilReady, type SupervisedChild } from "./supervisor";
import { bootstrapLocalChain, type LocalNodePlan } from "./bootstrap";
import { ensureCompiled } from "./ensureCompiled";
import { stopRecordedReplicas } from "../../agent/runtime/hostDriver";
import { maxLeaseMs } from "../../agent/lease";

export interface UpConfig {
  /** Repository root: where hardhat.config.ts and bin/hypha.js live. */
  projectDir: string;
  /** State directory, normally `<cwd>/.hypha`. */
  hyphaDir: string;
  nodes: number;
  chainPort: number;
  storePort: number;
  watcherPort: number;
  /** REST API and dashboard port. */
  apiPort: number;
  /** One HTTP port per node agent. */
  agentPorts: number[];
  /** The agents' runtime driver (`auto`: the strongest sandbox here). */
  runtime: RuntimeChoice;
  /** Agent restart backoff base, ms (Kubernetes uses 10 s; the demo shortens it). */
  restartBackoffMs: number;
  nodeLostAfterMs: number;
}

export interface UpHandle {
  state: UpState;
  stop(): Promise<void>;
  /** Resolves when any child exits unexpectedly, with its name. */
  crashed: Promise<string>;
}

/** Starts everything; resolves once the system is ready. The caller decides when to stop. */
export async function startUp(config: UpConfig, print: (line: string) => void, logger?: Logger): Promise<UpHandle> {
  const live = readLiveUpState(config.hyphaDir);
  if (live) {
    throw new HyphaError(`hypha up is already running (pid ${live.pid}, chain ${live.rpcUrl})`, {
      details: "stop it with Ctrl-C in its terminal, or `kill -INT " + live.pid + "`",
    });
  }
  const logDir = path.join(config.hyphaDir, "logs");
  fs.mkdirSync(logDir, { recursive: true });
  const cli = path.join(config.projectDir, "bin", "hypha.js");
  const children: SupervisedChild[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    await stopChildren(children);
    // An agent killed and never restarted leaves its replicas running (a restarted one would adopt them): stop them.
    const nodesDir = path.join(config.hyphaDir, "nodes");
    for (const node of fs.existsSync(nodesDir) ? fs.readdirSync(nodesDir) : []) {
      const left = await stopRecordedReplicas(path.join(nodesDir, node, "runtime")).catch(() => 0);
      if (left > 0) print(`node ${node}: stopped ${left} replica(s) its killed agent left running`);
    }
    removeUpState(config.hyphaDir, process.pid);
  };

  try {
    const rpcUrl = `http://127.0.0.1:${config.chainPort}`;
    if (await rpcReady(rpcUrl).catch(() => false)) {
      throw new HyphaError(`port ${config.chainPort} already answers JSON-RPC`, {
        details: "another chain runs there; stop it or pass --chain-port",
      });
    }
    ensureCompiled(config.projectDir, print);
    print(`starting local chain (hardhat node) on ${rpcUrl}`);
    const hardhatCli = require.resolve("hardhat/internal/cli/cli", { paths: [config.projectDir] });
    const chain = startChild({
      name: "chain",
      command: process.execPath,
      args: [hardhatCli, "node", "--hostname", "127.0.0.1", "--port", String(config.chainPort)],
      cwd: config.projectDir,
      logDir,
    });
    children.push(chain);
    await waitUntilReady(chain, () => rpcReady(rpcUrl), { timeoutMs: 90_000 });

    const storeUrl = `http://127.0.0.1:${config.storePort}`;
    print(`starting blob/image store on ${storeUrl}`);
    const store = startChild({
      name: "store",
      command: process.execPath,
      args: [cli, "store", "serve", "--dir", path.join(config.hyphaDir, "store"), "--port", String(config.storePort)],
      cwd: process.cwd(),
      logDir,
    });
    children.push(store);
    await waitUntilReady(store, () => httpOk(`${storeUrl}/health`));

    const plan: LocalNodePlan[] = Array.from({ length: config.nodes }, (_, i) => ({
      index: i,
      url: `http://127.0.0.1:${config.agentPorts[i]}`,
    }));
    const boot = await bootstrapLocalChain({ rpcUrl, storeUrl, hyphaDir: config.hyphaDir, projectDir: config.projectDir, nodes: plan }, print);

    const nodes: UpState["nodes"] = [];
    for (const node of boot.nodes) {
      const dataDir = path.join(config.hyphaDir, "nodes", String(node.nodeId));
      const agent = startChild({
        name: `agent-${node.nodeId}`,
        command: process.execPath,
        args: [
          cli,
          "node",
          "run",
          "--rpc",
          rpcUrl,
          "--deployment",
          boot.deploymentFile,
          "--node-id",
          String(node.nodeId),
          "--listen",
          node.url,
          "--store",
          storeUrl,
          "--data-dir",
          dataDir,
          "--restart-backoff-ms",
          String(config.restartBackoffMs),
          "--runtime",
          config.runtime,
          // Fenced before the watcher (probing every 1000 ms) may re-place a frozen node's replicas
          // (lease.ts); a window under 3.2 s leaves no room for that, and the lease keeps 1 s.
          "--lease-ms",
          String(Math.max(1000, maxLeaseMs(config.nodeLostAfterMs, 1000))),
        ],
        cwd: process.cwd(),
        env: { HYPHA_AGENT_KEY: node.agentPrivateKey },
        logDir,
      });
      children.push(agent);
      nodes.push({ nodeId: node.nodeId, url: node.url, pid: agent.process.pid ?? -1, dataDir });
    }
    for (const [i, node] of nodes.entries()) {
      await waitUntilReady(children[children.length - nodes.length + i], () => httpOk(`${node.url}/healthz`));
      print(`node ${node.nodeId}: agent up on ${node.url}`);
    }

    const watcherUrl = `http://127.0.0.1:${config.watcherPort}`;
    const watcher = startChild({
      name: "watcher",
      command: process.execPath,
      args: [
        // V8 would let the heap grow to ~4x the live state between full collections (bench:watcher).
        "--max-old-space-size=1024",
        cli,
        "watcher",
        "--rpc",
        rpcUrl,
        "--deployment",
        boot.deploymentFile,
        "--data-dir",
        path.join(config.hyphaDir, "watcher"),
        "--status-port",
        String(config.watcherPort),
        "--node-lost-after-ms",
        String(config.nodeLostAfterMs),
      ],
      cwd: process.cwd(),
      env: { HYPHA_ORCHESTRATOR_KEYS: boot.orchestratorPrivateKeys.join(",") },
      logDir,
    });
    children.push(watcher);
    await waitUntilReady(watcher, () => httpOk(`${watcherUrl}/healthz`));
    print(`watcher up on ${watcherUrl}`);

    const apiUrl = `http://127.0.0.1:${config.apiPort}`;
    const api = startChild({
      name: "api",
      command: process.execPath,
      args: [cli, "api", "--rpc", rpcUrl, "--deployment", boot.deploymentFile, "--store", storeUrl, "--listen", `127.0.0.1:${config.apiPort}`],
      cwd: process.cwd(),
      // The local admin account pays for relayed intents (a dev key; give your own in production).
      env: { HYPHA_RELAYER_KEY: boot.relayerPrivateKey },
      logDir,
    });
    children.push(api);
    await waitUntilReady(api, () => httpOk(`${apiUrl}/healthz`));
    print(`REST API and web console on ${apiUrl}`);

    const state: UpState = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      rpcUrl,
      storeUrl,
      watcherUrl,
      apiUrl,
      deploymentFile: boot.deploymentFile,
      nodes,
      watcherPid: watcher.process.pid ?? -1,
      apiPid: api.process.pid ?? -1,
      chainPid: chain.process.pid ?? -1,
      storePid: store.process.pid ?? -1,
      runtime: config.runtime === "auto" ? (autoRuntime().name ?? "none") : config.runtime,
      sandbox: config.runtime !== "process",
      ready: true,
    };
    writeUpState(config.hyphaDir, state);
    const crashed = new Promise<string>((resolve) => {
      for (const child of children) {
        void child.exited.then(() => {
          if (!stopping) resolve(child.name);
        });
      }
    });
    logger?.info({ state }, "hypha up ready");
    return { state, stop, crashed };
  } catch (err) {
    await stop();
    throw err;
  }
}
