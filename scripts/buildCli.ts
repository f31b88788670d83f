/**
 * `npm run build:cli`: compiles src/ to CommonJS in dist/ (one .js per .ts, same folders: dist/cli,
 * dist/agent, …, at the depth of src/, so paths built from __dirname still reach bin/, artifacts/,
 * src/ and dist/console), which bin/hypha.js runs instead of loading tsx at each start. With
 * `--if-stale` it builds only when dist/ is missing or older than src/ (what `npm test` and `npm run
 * demo` run, so a fresh clone gets the build after `npm ci` alone). Prints one line either way.
 */
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";

interface CliPaths {
  srcDir: string;
  distDir: string;
  stampFile: string;
  mainFile: string;
}
// bin/ is plain CommonJS (bin/hypha.js reads the same paths and freshness rule).
const { cliPaths, compiledCliFresh } = require("../bin/compiledCli.js") as {
  cliPaths(root?: string): CliPaths;
  compiledCliFresh(paths?: CliPaths): boolean;
};
export { cliPaths, compiledCliFresh };

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/**
 * Build `paths.srcDir` into `paths.distDir`; returns how many modules.
 * @example await buildCompiledCli(cliPaths()) // 203
 */
export async function buildCompiledCli(paths: CliPaths): Promise<number> {
  // The stamp goes first (a `hypha` started meanwhile runs the sources), then what the last build
  // wrote (its stamp lists it) and what this one will write: a deleted source leaves no module
  // behind, and the rest of dist/ (dist/console) is not ours.
  const outputsOf = (names: string[]) => names.map((n) => n.replace(/\.ts$/, ".js"));
  let earlier: string[] = [];
  try {
    earlier = (JSON.parse(fs.readFileSync(paths.stampFile, "utf8")) as { outputs?: string[] }).outputs ?? [];
  } catch {
    /* no earlier build */
  }
  fs.rmSync(paths.stampFile, { force: true });
  const startedAt = new Date();
  const outputs = outputsOf(fs.readdirSync(paths.srcDir));
  for (const name of new Set([...earlier, ...outputs])) fs.rmSync(path.join(paths.distDir, path.basename(name)), { recursive: true, force: true });
  const entryPoints = tsFiles(paths.srcDir);
  await build({ entryPoints, outdir: paths.distDir, outbase: paths.srcDir, format: "cjs", platform: "node", target: "node20", logLevel: "warning" });
  fs.writeFileSync(paths.stampFile, `${JSON.stringify({ modules: entryPoints.length, outputs, builtAt: startedAt.toISOString() })}\n`);
  // Stamped with the moment the build began: a source saved during the build leaves it stale.
  fs.utimesSync(paths.stampFile, startedAt, startedAt);
  return entryPoints.length;
}

async function main(): Promise<void> {
  const paths = cliPaths();
  if (process.argv.includes("--if-stale") && compiledCliFresh(paths)) return console.log("cli: dist/ is up to date");
  const started = Date.now();
  const n = await buildCompiledCli(paths);
  console.log(`cli: built ${n} modules into dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (require.main === module)
  main().catch((err: unknown) => {
    console.error(`cli: build failed: ${(err as Error).message}`);
    process.exit(1);
  });
