/**
 * Starts the whole local system the way a user does, `hypha up` as a child process (real hardhat
 * node, store, agents and watcher processes), on free ports and in a temporary state directory,
 * for end-to-end tests and the e2e benchmark.
 */
import { stopRecordedReplicas } from "../../src/agent/runtime/hostDriver";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./chain";
import { readLiveUpState, type UpState } from "../../src/cli/up/lock";

export const projectDir = path.join(__dirname, "..", "..");
export const cliPath = path.join(projectDir, "bin", "hypha.js");

export interface LocalSystem {
  state: UpState;
  hyphaDir: string;
  /** Global flags that point a `hypha` command at this system. */
  flags: string[];
  /** Runs `hypha ARGS` against this system and returns its exit code and output. */
  hypha(args: string[]): { status: number; stdout: string; stderr: string };
  stop(): Promise<void>;
}

/** Starts `hypha up` and resolves once it reports ready (or rejects with its output). */
export async function startLocalSystem(opts: { nodes?: number; extraArgs?: string[]; timeoutMs?: number } = {}): Promise<LocalSystem> {
  const nodes = opts.nodes ?? 3;
  const hyphaDir = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-e2e-"));
  const [chainPort, storePort, watcherPort, apiPort, ...agentPorts] = await Promise.all(Array.from({ length: 4 + nodes }, () => freePort()));
  const args = [
    cliPath,
    "up",
    "--dir",
    hyphaDir,
    "--nodes",
    String(nodes),
    "--chain-port",
    String(chainPort),
    "--store-port",
    String(storePort),
    "--watcher-port",
    String(watcherPort),
    "--api-port",
    String(apiPort),
    "--agent-ports",
    agentPorts.join(","),
    "--runtime",
    "auto", // bubblewrap where installed (CI), else the util-linux sandbox
    ...(opts.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: projectDir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hypha up not ready after ${opts.timeoutMs ?? 150_000} ms:\n${output}`)), opts.timeoutMs ?? 150_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("hypha up: ready")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`hypha up exited ${code}:\n${output}`));
    });
  });
  const state = readLiveUpState(hyphaDir);
  if (!state) throw new Error("hypha up is ready but wrote no state file");
  const flags = ["--rpc", state.rpcUrl, "--store", state.storeUrl, "--deployment", state.deploymentFile];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    state,
    hyphaDir,
    flags,
    hypha(cmd) {
      const res = spawnSync(process.execPath, [cliPath, ...flags, ...cmd], { cwd: projectDir, encoding: "utf8" });
      return { status: res.status ?? -1, stdout: res.stdout ?? "", stderr: res.stderr ?? "" };
    },
    async stop() {
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
      // A test may have SIGKILLed an agent and then `hypha up` itself: stop what that agent left running.
      for (const node of state.nodes) await stopRecordedReplicas(path.join(node.dataDir, "runtime"));
      if (!process.env.KEEP_E2E) fs.rmSync(hyphaDir, { recursive: true, force: true });
    },
  };
}
