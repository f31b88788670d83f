/**
 * The single-instance lock of `hypha up`: a file holding the running supervisor's pid and what it
 * started, so a second `hypha up` says one is running and other commands (the demo) find the
 * endpoints and child pids.
 */
import fs from "node:fs";
import path from "node:path";

export interface UpState {
  pid: number;
  startedAt: string;
  rpcUrl: string;
  storeUrl: string;
  watcherUrl: string;
  apiUrl: string;
  deploymentFile: string;
  nodes: Array<{ nodeId: number; url: string; pid: number; dataDir: string }>;
  watcherPid: number;
  apiPid: number;
  chainPid: number;
  storePid: number;
  /** The agents' runtime driver (what `auto` chose). */
  runtime: string;
  sandbox: boolean;
  ready: boolean;
}

/** Path of the state file inside a `.hypha` directory. */
export function upStatePath(hyphaDir: string): string {
  return path.join(hyphaDir, "up.json");
}

/** The state of a live `hypha up`, or undefined when none runs (a stale file is ignored). */
export function readLiveUpState(hyphaDir: string): UpState | undefined {
  let state: UpState;
  try {
    state = JSON.parse(fs.readFileSync(upStatePath(hyphaDir), "utf8")) as UpState;
  } catch {
    return undefined;
  }
  return isAlive(state.pid) ? state : undefined;
}

/** Writes the state file atomically (temp file + rename). */
export function writeUpState(hyphaDir: string, state: UpState): void {
  fs.mkdirSync(hyphaDir, { recursive: true });
  const file = upStatePath(hyphaDir);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

export function removeUpState(hyphaDir: string, pid: number): void {
  try {
    const state = JSON.parse(fs.readFileSync(upStatePath(hyphaDir), "utf8")) as UpState;
    if (state.pid === pid) fs.rmSync(upStatePath(hyphaDir));
  } catch {
    // nothing to remove
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
