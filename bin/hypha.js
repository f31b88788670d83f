#!/usr/bin/env node
// Entry point for `npx hypha`: runs the TypeScript CLI through tsx's CommonJS loader, so a clone
// needs no build step.
require("tsx/cjs");
require("../src/cli/main.ts");
