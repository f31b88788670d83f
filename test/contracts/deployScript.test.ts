/**
 * scripts/deploy.ts against a real `hardhat node` child process over HTTP JSON-RPC: deploys,
 * funds the dev accounts and writes deployments/<chainId>.json that readAddresses accepts.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPublicClient, http } from "viem";
import { readAddresses } from "../../src/chain/addresses";
import { deploymentRegistryAbi, hyphaTokenAbi } from "../../src/chain/abi";
import { devAccount } from "../../src/chain/devAccounts";
import { startHardhatNode } from "../helpers/chain";

const run = promisify(execFile);
let node: Awaited<ReturnType<typeof startHardhatNode>>;

beforeAll(async () => {
  node = await startHardhatNode();
}, 90_000);
afterAll(async () => {
  await node?.stop();
});

describe("scripts/deploy.ts on a hardhat node", () => {
  it("deploys, funds and writes the addresses file", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-deploy-"));
    const root = path.join(__dirname, "..", "..");
    const { stdout } = await run(
      process.execPath,
      [path.join(root, "node_modules/tsx/dist/cli.mjs"), "scripts/deploy.ts", "--rpc", node.rpcUrl, "--out", out],
      { cwd: root },
    );
    const printed = JSON.parse(stdout.trim().split("\n").pop()!);
    const a = readAddresses(out, 31337);
    expect(printed.deploymentRegistry).toBe(a.deploymentRegistry);
    const pc = createPublicClient({ transport: http(node.rpcUrl) });
    expect((await pc.getCode({ address: a.deploymentRegistry }))?.length).toBeGreaterThan(2);
    expect(await pc.readContract({ address: a.token, abi: hyphaTokenAbi, functionName: "balanceOf", args: [devAccount(11).address] })).toBeGreaterThan(0n);
    const role = await pc.readContract({ address: a.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "ORCHESTRATOR_ROLE" });
    expect(
      await pc.readContract({ address: a.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "hasRole", args: [role, devAccount(1).address] }),
    ).toBe(true);
    expect(a.deployBlock).toBeGreaterThan(0n);
  }, 120_000);

  it("fails with a clear message when nothing answers at --rpc", async () => {
    const root = path.join(__dirname, "..", "..");
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-deploy-"));
    const err = await run(
      process.execPath,
      [path.join(root, "node_modules/tsx/dist/cli.mjs"), "scripts/deploy.ts", "--rpc", "http://127.0.0.1:9", "--out", out],
      { cwd: root },
    ).catch((e) => e);
    expect(err.code).toBe(1);
    expect(fs.readdirSync(out)).toEqual([]);
  }, 60_000);
});
