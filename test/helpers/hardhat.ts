/**
 * Loads Hardhat's runtime in-process for tests. Hardhat registers ts-node for its TypeScript
 * config only when started from its own CLI, so tests register it (transpile-only) first.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";

let hre: HardhatRuntimeEnvironment | undefined;

/** The in-process Hardhat runtime (the real Hardhat network, EDR), loaded once per test worker. */
export function loadHardhat(): HardhatRuntimeEnvironment {
  if (!hre) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("ts-node").register({ transpileOnly: true });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    hre = require("hardhat") as HardhatRuntimeEnvironment;
  }
  return hre;
}
