/**
 * Builds the web console (npm run build:console) when dist/console is missing or older than its
 * sources (console/, src/sdk, src/spec, src/chain), so `npm test` and `npm run demo` work on a
 * fresh clone after `npm ci` alone. Prints one line either way.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "..");
const built = path.join(root, "dist", "console", "index.html");

function newest(dir: string): number {
  let t = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

const sources = ["console", "src/sdk", "src/spec", "src/chain", "examples"].map((d) => path.join(root, d));
const builtAt = fs.existsSync(built) ? fs.statSync(built).mtimeMs : 0;
const changedAt = Math.max(...sources.map(newest));
if (builtAt >= changedAt) {
  console.log("console: dist/console is up to date");
} else {
  const started = Date.now();
  const r = spawnSync(process.execPath, [path.join(root, "node_modules", "vite", "bin", "vite.js"), "build", "--config", "console/vite.config.mts"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: "true" },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  console.log(`console: built dist/console in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
