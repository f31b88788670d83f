#!/usr/bin/env node
// Entry point for `npx hypha`: runs the precompiled CLI (dist/, built by scripts/buildCli.ts, e.g.
// by `npm test`) when it is fresh, else the TypeScript sources through tsx's CommonJS loader, so a
// clone needs no build step and an edited checkout never runs stale code (HYPHA_CLI_FROM_SOURCE=1
// forces the sources).
// `hypha ... | head` closes the pipe early: that is the reader's choice, not an error to report.
// Long-running commands (hypha up) add their own handler and shut down in order instead.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (stream.listenerCount("error") > 1) return;
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}
const { cliPaths, compiledCliFresh } = require("./compiledCli");
const paths = cliPaths();
if (process.env.HYPHA_CLI_FROM_SOURCE !== "1" && compiledCliFresh(paths)) require(paths.mainFile);
else {
  require("tsx/cjs");
  require("../src/cli/main.ts");
}
