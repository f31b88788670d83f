/**
 * Builds the web console (Preact + viem through hypha/sdk) into dist/console, which `hypha api`
 * serves at /. `npm run build:console`.
 */
import path from "node:path";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "./",
  resolve: {
    alias: {
      "hypha/sdk": path.resolve(import.meta.dirname, "../src/sdk/index.ts"),
      "hypha/abi": path.resolve(import.meta.dirname, "../src/chain/abi.ts"),
    },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: path.resolve(import.meta.dirname, "../dist/console"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  logLevel: "warn",
});
