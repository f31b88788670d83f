/**
 * Starts and stops the local system's child processes for `hypha up`: each child's output goes to
 * its own log file under .hypha/logs/, readiness is awaited by polling a URL, and stopping sends
 * SIGTERM, then SIGKILL after a grace period, in reverse start order.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { HyphaError } from "../../errors";

export interface ChildSpec {
  /** Short name used for the log file and messages, e.g. "chain", "agent-1". */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  logDir: string;
}

export interface SupervisedChild {
  name: string;
  process: ChildProcess;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const EXIT_WITH_PARENT = path.join(__dirname, "..", "..", "..", "bin", "exit-with-parent.js");

/**
 * Spawns one child with stdout and stderr appended to `<logDir>/<name>.log`.
 * @example const chain = startChild({ name: "chain", command: process.execPath, args: [hardhatCli, "node"], cwd, logDir })
 */
export function startChild(spec: ChildSpec): SupervisedChild {
  fs.mkdirSync(spec.logDir, { recursive: true });
  const logFile = path.join(spec.logDir, `${spec.name}.log`);
  const fd = fs.openSync(logFile, "a");
  // Node children stop themselves if `hypha up` dies without stopping them (bin/exit-with-parent.js).
  const preload = spec.command === process.execPath ? ["--require", EXIT_WITH_PARENT] : [];
  const child = spawn(spec.command, [...preload, ...spec.args], {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env, HYPHA_UP_PID: String(process.pid) },
    stdio: ["ignore", fd, fd],
    detached: true, // own process group: Ctrl-C in the terminal reaches only `hypha up`, which stops children in order
  });
  fs.closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", () => resolve({ code: -1, signal: null }));
  });
  return { name: spec.name, process: child, logFile, exited };
}

/** A service `hypha up` started exited or did not get ready (the CLI exits 2), with its log's tail. */
export class ServiceStartError extends HyphaError {
  override name = "ServiceStartError";
}

/**
 * Resolves once `probe` returns true, polling every `intervalMs`; rejects with the child's log tail
 * if the child exits first or `timeoutMs` passes.
 */
export async function waitUntilReady(
  child: SupervisedChild,
  probe: () => Promise<boolean>,
  { timeoutMs = 60_000, intervalMs = 150 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  let exited = false;
  void child.exited.then(() => (exited = true));
  const started = Date.now();
  for (;;) {
    if (exited) throw new ServiceStartError(`${child.name} exited while starting`, { details: logTail(child.logFile) });
    if (await probe().catch(() => false)) return;
    if (Date.now() - started > timeoutMs) {
      throw new ServiceStartError(`${child.name} not ready after ${timeoutMs} ms`, { details: logTail(child.logFile) });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Stops children in reverse order: SIGTERM to each process group, SIGKILL after `graceMs`. */
export async function stopChildren(children: SupervisedChild[], graceMs = 5_000): Promise<void> {
  for (const child of [...children].reverse()) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) continue;
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
    await child.exited;
    clearTimeout(timer);
  }
}

function signalGroup(child: SupervisedChild, signal: NodeJS.Signals): void {
  try {
    if (child.process.pid) process.kill(-child.process.pid, signal);
  } catch {
    // already gone
  }
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** True when an HTTP GET of `url` answers 2xx within a second. */
export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  return res.ok;
}

/** True when a JSON-RPC endpoint answers eth_chainId. */
export async function rpcReady(url: string): Promise<boolean> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(1_000),
  });
  return res.ok && typeof ((await res.json()) as { result?: string }).result === "string";
}
