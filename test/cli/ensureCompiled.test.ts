/**
 * Contracts compile on demand: staleArtifacts says why artifacts must be (re)built, from the real
 * file system of a small project tree (compiling itself is what `hypha up` then runs: hardhat).
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEPLOYED_CONTRACTS, staleArtifacts } from "../../src/cli/up/ensureCompiled";

const dir = mkdtempSync(path.join(os.tmpdir(), "hypha-compile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const at = (file: string, seconds: number) => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, "x");
  utimesSync(file, seconds, seconds);
};

describe("staleArtifacts", () => {
  it("missing, then fresh, then older than a changed contract or config", () => {
    at(path.join(dir, "contracts", "libraries", "Lib.sol"), 1000);
    at(path.join(dir, "hardhat.config.ts"), 1000);
    expect(staleArtifacts(dir)).toBe("artifact HyphaToken is missing");
    for (const name of DEPLOYED_CONTRACTS) at(path.join(dir, "artifacts", "contracts", `${name}.sol`, `${name}.json`), 2000);
    expect(staleArtifacts(dir)).toBeNull();
    at(path.join(dir, "contracts", "libraries", "Lib.sol"), 3000); // a nested source changed
    expect(staleArtifacts(dir)).toBe("artifact HyphaToken is older than contracts/ or hardhat.config.ts");
    for (const name of DEPLOYED_CONTRACTS) at(path.join(dir, "artifacts", "contracts", `${name}.sol`, `${name}.json`), 4000);
    at(path.join(dir, "hardhat.config.ts"), 5000);
    expect(staleArtifacts(dir)).toBe("artifact HyphaToken is older than contracts/ or hardhat.config.ts");
  });
});
