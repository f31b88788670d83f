/**
 * Compiles the contracts on demand: when an artifact `hypha up` deploys is missing, or older than
 * any file under contracts/ or hardhat.config.ts, it runs `hardhat compile` (which itself only
 * recompiles what changed). So a fresh clone's `npm run demo` or `hypha up` works without a
 * separate `npm run compile`. Used by up.ts; nothing else writes artifacts/.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { HyphaError } from "../../errors";

/** The contracts whose artifacts `hypha up` needs. */
export const DEPLOYED_CONTRACTS = ["HyphaToken", "NodeRegistry", "DeploymentRegistry"] as const;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Why the artifacts need compiling, or null when they are present and newer than every source (pure over the file system).
 * @example staleArtifacts("/repo") // "artifact HyphaToken is missing"
 */
export function staleArtifacts(projectDir: string): string | null {
  const sources = Math.max(newestMtime(path.join(projectDir, "contracts")), fs.statSync(path.join(projectDir, "hardhat.config.ts")).mtimeMs);
  for (const name of DEPLOYED_CONTRACTS) {
    const file = path.join(projectDir, "artifacts", "contracts", `${name}.sol`, `${name}.json`);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st) return `artifact ${name} is missing`;
    if (st.mtimeMs < sources) return `artifact ${name} is older than contracts/ or hardhat.config.ts`;
  }
  return null;
}

/**
 * Compile the contracts when their artifacts are missing or stale; print why. Throws HyphaError when compiling fails.
 * @example ensureCompiled("/repo", console.log)
 */
export function ensureCompiled(projectDir: string, print: (line: string) => void): void {
  const why = staleArtifacts(projectDir);
  if (!why) return;
  print(`compiling the contracts (${why}): hardhat compile`);
  const hardhatCli = require.resolve("hardhat/internal/cli/cli", { paths: [projectDir] });
  const res = spawnSync(process.execPath, [hardhatCli, "compile", "--quiet"], { cwd: projectDir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (res.status !== 0) {
    throw new HyphaError("compiling the contracts failed", { details: `${res.stdout ?? ""}${res.stderr ?? ""}`.trim() || `hardhat exited ${res.status}` });
  }
  // hardhat leaves an up-to-date artifact untouched: mark it checked, so the next start does not compile again.
  const now = new Date();
  for (const name of DEPLOYED_CONTRACTS) {
    const file = path.join(projectDir, "artifacts", "contracts", `${name}.sol`, `${name}.json`);
    if (fs.existsSync(file)) fs.utimesSync(file, now, now);
  }
  const still = staleArtifacts(projectDir);
  if (still) throw new HyphaError(`compiling the contracts left them stale: ${still}`);
}
