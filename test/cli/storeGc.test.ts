/**
 * `hypha store gc` as a real child process against a real `hardhat node`: it keeps the image of an
 * active deployment even when no catalog name points at it, the spec blob of every deployment
 * (terminated ones too: an auditor re-hashes them), and what the catalog names; it removes the
 * image only a terminated deployment used and unreferenced blobs. --dry-run changes nothing; an
 * unreachable chain removes nothing and exits 2.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEther, type Hex, type PublicClient, type WalletClient } from "viem";
import { deploymentRegistryAbi } from "../../src/chain/abi";
import { writeAddresses, type HyphaAddresses } from "../../src/chain/addresses";
import { makeChain, makePublicClient, makeWalletClient } from "../../src/chain/clients";
import { deployHypha, fundAccounts } from "../../src/chain/deploy";
import { devAccount } from "../../src/chain/devAccounts";
import { readIntent } from "../../src/chain/intents";
import { bytes32ToRoot, decodeManifest, importImage, RAW_CODEC, startStoreServer, type StoreServer } from "../../src/image";
import { startHardhatNode } from "../helpers/chain";

const ROOT = path.join(__dirname, "..", "..");
let node: Awaited<ReturnType<typeof startHardhatNode>>;
let store: StoreServer;
let pc: PublicClient;
let addresses: HyphaAddresses;
let tmp: string;
let env: NodeJS.ProcessEnv;

function hypha(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin/hypha.js"), ...args], {
      cwd: tmp,
      env: { ...env, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const wallet = (i: number): WalletClient => makeWalletClient(node.rpcUrl, devAccount(i), { chain: makeChain(31337, node.rpcUrl) });

async function imageOf(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  fs.writeFileSync(path.join(dir, "bin", "hello"), `#!/bin/sh\necho ${name}\n`, { mode: 0o755 });
  return (await importImage(dir, store.store)).root.toString();
}

async function objectsOf(root: string): Promise<string[]> {
  return [root, ...decodeManifest((await store.store.get(root))!).entries.flatMap((e) => e.chunks ?? [])];
}

function files(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-gc-"));
  node = await startHardhatNode();
  pc = makePublicClient(node.rpcUrl);
  addresses = await deployHypha({ walletClient: wallet(0), publicClient: pc, params: { orchestrators: [devAccount(1).address] } });
  await fundAccounts({ walletClient: wallet(0), publicClient: pc, addresses, accounts: [devAccount(11).address], amount: parseEther("10000") });
  writeAddresses(path.join(tmp, "deployments"), addresses);
  store = await startStoreServer({ dir: path.join(tmp, "store") });
  env = { PATH: process.env.PATH, HOME: tmp, HYPHA_RPC: node.rpcUrl, HYPHA_DEPLOYMENT: path.join(tmp, "deployments"), HYPHA_STORE: store.url };
  fs.writeFileSync(path.join(tmp, "app.yaml"), fs.readFileSync(path.join(ROOT, "examples/deployment.yaml"), "utf8").replace("replicas: 3", "replicas: 1"));
}, 180_000);

afterAll(async () => {
  await store?.close();
  await node?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("hypha store gc against a real chain", () => {
  it("keeps what the catalog and the chain need, removes the rest; dry run first", async () => {
    const apply = async (): Promise<Hex> => {
      const r = await hypha(["apply", "-f", "app.yaml", "--budget", "1", "-o", "json"]);
      expect(r.stderr).toBe("");
      return (JSON.parse(r.stdout) as { id: Hex }).id;
    };
    const ended = await imageOf("ended");
    await store.catalog.set("ubuntu:latest", ended);
    const endedId = await apply();
    const active = await imageOf("active");
    await store.catalog.set("ubuntu:latest", active);
    // ubuntu:latest points at other content now: apply replaces the deployment (and deletes the old one)
    const activeId = await apply();
    expect(activeId).not.toBe(endedId);
    expect(
      (await pc.readContract({ address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "getDeployment", args: [endedId] })).status,
    ).toBe(5); // Terminated
    await store.catalog.delete("ubuntu:latest"); // no name points at the active image any more
    const named = await imageOf("named");
    await store.catalog.set("named:1", named);
    const junk = (await store.store.put(Buffer.from("nobody wants this"))).toString();
    const spec = bytes32ToRoot((await readIntent(pc, addresses, activeId)).intent.specHash, RAW_CODEC).toString();
    expect(bytes32ToRoot((await readIntent(pc, addresses, endedId)).intent.specHash, RAW_CODEC).toString()).toBe(spec);

    const keep = [...(await objectsOf(active)), ...(await objectsOf(named)), spec];
    const gone = [...(await objectsOf(ended)).filter((c) => !keep.includes(c)), junk].sort();
    expect(gone.length).toBe(3); // the ended image's manifest and its own file's chunk, and the junk blob

    const before = files(path.join(tmp, "store"));
    const dry = await hypha(["store", "gc", "--dir", "store", "--dry-run", "--min-age", "0"]);
    expect(dry.stderr).toBe("");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would remove 3 object\(s\), \d+ bytes; kept \d+ .*1 active deployment image\(s\) and 2 deployment spec\(s\)/);
    for (const c of gone) expect(dry.stdout).toContain(c);
    expect(files(path.join(tmp, "store"))).toEqual(before);

    const young = await hypha(["store", "gc", "--dir", "store", "-o", "json"]); // default --min-age 1h: all of it is new
    expect(JSON.parse(young.stdout)).toMatchObject({ remove: [], removed: 0, young: 3 });

    const real = await hypha(["store", "gc", "--dir", "store", "--min-age", "0", "-o", "json"]);
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({ remove: gone, removed: 3, dryRun: false, deployments: 2, activeImages: 1 });
    expect(await store.store.list()).toEqual([...new Set(keep)].sort());
    for (const c of keep) expect(await store.store.getVerified(c)).toBeDefined();
  }, 120_000);

  it("refuses to guess: with no chain to ask it removes nothing and exits 2", async () => {
    const before = files(path.join(tmp, "store"));
    const r = await hypha(["store", "gc", "--dir", "store", "--min-age", "0"], { HYPHA_RPC: "http://127.0.0.1:1" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: /);
    expect(files(path.join(tmp, "store"))).toEqual(before);
    const bad = await hypha(["store", "gc", "--dir", "store", "--min-age", "soon"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--min-age: expected a duration like 90s, 30m, 1h or 2d, got "soon"/);
  });
});
