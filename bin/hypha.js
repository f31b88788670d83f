#!/usr/bin/env node
// Entry point for `npx hypha`: runs the TypeScript CLI through tsx's CommonJS loader, so a clone
// needs no build step.
// `hypha ... | head` closes the pipe early: that is the reader's choice, not an error to report.
// Long-running commands (hypha up) add their own handler and shut down in order instead.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (stream.listenerCount("error") > 1) return;
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}
require("tsx/cjs");
require("../src/cli/main.ts");
