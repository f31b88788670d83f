/**
 * The precompiled CLI (scripts/buildCli.ts, bin/compiledCli.js): a real esbuild build of the real
 * src/ into a temporary tree laid out like the project (src and node_modules linked), run by a
 * real Node process; fresh only until a source changes; the agent measured from its TypeScript
 * sources also when it runs compiled.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildCompiledCli, cliPaths, compiledCliFresh } from "../../scripts/buildCli";
import { agentMeasurement } from "../../src/agent/measurement";

const project = path.join(__dirname, "..", "..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "hypha-cli-build-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("compiled CLI", () => {
  it("builds src/ into dist/ at the same depth; the build runs, and measures the agent from its sources", async () => {
    const root = path.join(tmp, "whole");
    mkdirSync(root);
    symlinkSync(path.join(project, "src"), path.join(root, "src"));
    symlinkSync(path.join(project, "node_modules"), path.join(root, "node_modules"));
    const paths = cliPaths(root);
    expect(compiledCliFresh(paths)).toBe(false); // nothing built yet
    const modules = await buildCompiledCli(paths);
    expect(modules).toBeGreaterThan(100);
    expect(compiledCliFresh(paths)).toBe(true);
    const script = `const m = require(${JSON.stringify(path.join(paths.distDir, "agent", "measurement.js"))}); console.log(m.agentMeasurement())`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(agentMeasurement());
  }, 60_000);

  it("is stale once any source under src/ is newer than the build, and rebuilt without the removed modules", async () => {
    const root = path.join(tmp, "small");
    const paths = cliPaths(root);
    mkdirSync(path.join(paths.srcDir, "a"), { recursive: true });
    writeFileSync(path.join(paths.srcDir, "a", "x.ts"), 'import { y } from "../b";\nexport const x: number = y + 1;\n');
    writeFileSync(path.join(paths.srcDir, "b.ts"), "export const y: number = 41;\n");
    writeFileSync(path.join(paths.srcDir, "gone.ts"), "export {};\n");
    await buildCompiledCli(paths);
    const x = spawnSync(process.execPath, ["-p", `require(${JSON.stringify(path.join(paths.distDir, "a", "x.js"))}).x`], { encoding: "utf8" });
    expect(x.stdout.trim()).toBe("42");
    expect(compiledCliFresh(paths)).toBe(true);
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(paths.srcDir, "a", "x.ts"), later, later); // an edit after the build
    expect(compiledCliFresh(paths)).toBe(false);
    rmSync(path.join(paths.srcDir, "gone.ts"));
    const earlier = new Date(Date.now() - 5_000);
    utimesSync(path.join(paths.srcDir, "a", "x.ts"), earlier, earlier);
    await buildCompiledCli(paths);
    expect(compiledCliFresh(paths)).toBe(true);
    expect(existsSync(path.join(paths.distDir, "gone.js"))).toBe(false);
    expect(existsSync(path.join(paths.distDir, "b.js"))).toBe(true);
  });
});
