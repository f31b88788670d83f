// Where the precompiled CLI lives (dist/, built from src/ by scripts/buildCli.ts) and whether it
// is fresh: built after the last change to any file under src/. bin/hypha.js runs it when fresh
// (a start without tsx's TypeScript loader) and src/ through tsx otherwise, so an edited checkout
// never runs stale code.
const fs = require("node:fs");
const path = require("node:path");

/** The project's layout: sources, their build, and the stamp a successful build writes last. */
function cliPaths(root = path.resolve(__dirname, "..")) {
  const distDir = path.join(root, "dist");
  return {
    srcDir: path.join(root, "src"),
    distDir,
    stampFile: path.join(distDir, ".cli-build.json"),
    mainFile: path.join(distDir, "cli", "main.js"),
  };
}

function newestMtimeMs(dir) {
  let t = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newestMtimeMs(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

/** True when dist/ holds a build of the current src/ (the stamp's mtime is when that build began). */
function compiledCliFresh(paths = cliPaths()) {
  let builtAt;
  try {
    builtAt = fs.statSync(paths.stampFile).mtimeMs;
  } catch {
    return false;
  }
  return builtAt >= newestMtimeMs(paths.srcDir);
}

module.exports = { cliPaths, compiledCliFresh };
