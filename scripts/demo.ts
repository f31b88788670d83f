/**
 * `npm run demo`: the whole story on a local chain, in under two minutes. Starts `hypha up`
 * (chain, contracts, store, three staked nodes with agents, watcher), applies the seed's three
 * example manifests verbatim, follows them to Running/Completed, prints their output, signs and
 * applies the seed's ConfigMap, audits every deployment, kills a node agent and shows its replicas
 * re-placed, corrupts an image file on a node and shows the Tampered attestation and the
 * replacement, then shuts everything down.
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { readLiveUpState, type UpState } from "../src/cli/up/lock";

const projectDir = path.join(__dirname, "..");
const hyphaDir = path.join(process.cwd(), ".hypha");
const cli = path.join(projectDir, "bin", "hypha.js");
const started = Date.now();

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

function step(title: string): void {
  console.log(`\n${bold(`== ${title}`)}  (${elapsed()})`);
}

/** Runs `hypha ARGS`, echoing its output; returns stdout. Throws on a non-zero exit. */
function hypha(args: string[], { echo = true, allowFail = false } = {}): { stdout: string; status: number } {
  console.log(`$ hypha ${args.join(" ")}`);
  const res = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
  if (echo && res.stdout) process.stdout.write(indent(res.stdout));
  if (res.stderr) process.stdout.write(indent(res.stderr));
  if (res.status !== 0 && !allowFail) throw new Error(`hypha ${args[0]} exited ${res.status}`);
  return { stdout: res.stdout ?? "", status: res.status ?? -1 };
}

function indent(text: string): string {
  return text.replace(/^/gm, "  ");
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export {};
