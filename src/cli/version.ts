/**
 * `hypha --version`: the package version, and the git commit when the CLI runs from a clone.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * The version line; asks git for the commit only when `withCommit` (i.e. when --version is asked,
 * so other commands do not pay for a git process).
 * @example cliVersion(true) // "hypha 0.1.0 (6bdddb1), node v20.19.0"
 */
export function cliVersion(withCommit = true): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
  let commit = "";
  if (withCommit)
    try {
      commit = execFileSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 2_000,
      }).trim();
    } catch {
      commit = ""; // not a clone (or no git): the version alone
    }
  return `hypha ${pkg.version}${commit ? ` (${commit})` : ""}, node ${process.version}`;
}
