import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Chain and process tests use real ports and child processes: run files one at a time per worker,
    // two workers for two cores.
    pool: "forks",
    maxWorkers: 2,
  },
});
