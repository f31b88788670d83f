/** Deploy code and the addresses file: real in-process chain, real files in a temp dir. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { getAddress } from "viem";
import { readAddresses, writeAddresses, AddressesError } from "../../src/chain/addresses";
import { loadBytecode, DeployError } from "../../src/chain/deploy";
import { deploymentRegistryAbi, nodeRegistryAbi, hyphaTokenAbi } from "../../src/chain/abi";
import { inProcessChain, devAccounts, FIXTURE_FUNDS } from "../helpers/chain";

describe("deployHypha", () => {
  it("deploys three wired contracts", async () => {
    const c = await inProcessChain();
    const { publicClient: pc, addresses: a } = c;
    expect(a.chainId).toBe(31337);
    for (const addr of [a.token, a.nodeRegistry, a.deploymentRegistry]) {
      expect(addr).toBe(getAddress(addr)); // checksummed, as readAddresses returns them
      expect((await pc.getCode({ address: addr }))?.length).toBeGreaterThan(2);
    }
    const role = await pc.readContract({ address: a.nodeRegistry, abi: nodeRegistryAbi, functionName: "DEPLOYMENTS_ROLE" });
    expect(await pc.readContract({ address: a.nodeRegistry, abi: nodeRegistryAbi, functionName: "hasRole", args: [role, a.deploymentRegistry] })).toBe(true);
    const orch = await pc.readContract({ address: a.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "ORCHESTRATOR_ROLE" });
    for (const i of [1, 2, 3, 4]) {
      expect(
        await pc.readContract({ address: a.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "hasRole", args: [orch, devAccounts[i].address] }),
      ).toBe(true);
    }
    expect(
      await pc.readContract({ address: a.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "hasRole", args: [orch, devAccounts[11].address] }),
    ).toBe(false);
    expect(await pc.readContract({ address: a.token, abi: hyphaTokenAbi, functionName: "balanceOf", args: [devAccounts[11].address] })).toBe(FIXTURE_FUNDS);
    expect(await pc.readContract({ address: a.nodeRegistry, abi: nodeRegistryAbi, functionName: "minStake" })).toBe(c.params.minStake);
  });

  it("fails clearly when artifacts are missing", () => {
    expect(() => loadBytecode("HyphaToken", "/nonexistent")).toThrow(DeployError);
    expect(() => loadBytecode("HyphaToken", "/nonexistent")).toThrow(/npm run compile/);
  });
});

describe("addresses file", () => {
  const sample = {
    chainId: 31337,
    token: getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3"),
    nodeRegistry: getAddress("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"),
    deploymentRegistry: getAddress("0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"),
    deployBlock: 12345678901234567890n,
  };

  it("round-trips through <dir>/<chainId>.json with deployBlock as a decimal string", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-addr-"));
    const file = writeAddresses(dir, sample);
    expect(file).toBe(path.join(dir, "31337.json"));
    expect(JSON.parse(fs.readFileSync(file, "utf8")).deployBlock).toBe("12345678901234567890");
    expect(readAddresses(dir, 31337)).toEqual(sample);
    expect(readAddresses(file)).toEqual(sample);
    expect(fs.readdirSync(dir)).toEqual(["31337.json"]); // no temp file left behind
  });

  it("rejects missing files, wrong chains and bad fields, naming the field", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-addr-"));
    expect(() => readAddresses(dir, 1)).toThrow(/not found/);
    expect(() => readAddresses(dir)).toThrow(/chain id is needed/);
    writeAddresses(dir, sample);
    expect(() => readAddresses(path.join(dir, "31337.json"), 1)).toThrow(/expected 1/);
    const bad = path.join(dir, "bad.json");
    for (const [field, value, msg] of [
      ["token", "0x12", /field token/],
      ["deployBlock", 5, /field deployBlock/],
      ["chainId", "31337", /field chainId/],
    ] as const) {
      fs.writeFileSync(bad, JSON.stringify({ ...sample, deployBlock: "1", [field]: value }));
      expect(() => readAddresses(bad)).toThrow(AddressesError);
      expect(() => readAddresses(bad)).toThrow(msg);
    }
    fs.writeFileSync(bad, "{not json");
    expect(() => readAddresses(bad)).toThrow(/not valid JSON/);
    expect(() => writeAddresses(dir, { ...sample, token: "0xnope" as never })).toThrow(/field token/);
    expect(fs.readdirSync(dir).sort()).toEqual(["31337.json", "bad.json"]);
  });
});
