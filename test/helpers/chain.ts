/**
 * Test chains: a real `hardhat node` child process on a free port (JSON-RPC over HTTP), or the
 * in-process Hardhat network with Hypha's contracts deployed once per test worker, viem clients
 * for the 20 dev accounts, and snapshot/revert so each test starts from the same state.
 */
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { createPublicClient, createWalletClient, custom, parseEther, type EIP1193Provider, type HDAccount, type PublicClient, type WalletClient } from "viem";
import { hardhat } from "viem/chains";
import type { HyphaAddresses } from "../../src/chain/addresses";
import { deployHypha, fundAccounts, type DeployParams } from "../../src/chain/deploy";
import { DEV_ROLES, devAccount } from "../../src/chain/devAccounts";
import { loadHardhat } from "./hardhat";

const ROOT = path.join(__dirname, "..", "..");

/** The 20 Hardhat default accounts (default mnemonic), index = dev account number. */
export const devAccounts: HDAccount[] = Array.from({ length: 20 }, (_, i) => devAccount(i));

/** A free TCP port on 127.0.0.1 (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    const body = (await res.json()) as { result?: string };
    return typeof body.result === "string";
  } catch {
    return false;
  }
}

/**
 * Starts a real `hardhat node` child process; resolves when it answers eth_chainId.
 * @example const node = await startHardhatNode(); ...; await node.stop();
 */
export async function startHardhatNode(
  opts: { port?: number; timeoutMs?: number } = {},
): Promise<{ rpcUrl: string; port: number; pid: number; stop(): Promise<void> }> {
  const port = opts.port ?? (await freePort());
  const rpcUrl = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "node_modules/hardhat/internal/cli/cli.js"), "node", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  const stop = async () => {
    if (exited) return;
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      /* already gone */
    }
    await Promise.race([exitedPromise, new Promise((r) => setTimeout(r, 5000))]);
    if (!exited) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  };
  // If the test process exits without calling stop(), don't leave the node running.
  const killOnExit = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* already gone */
    }
  };
  process.once("exit", killOnExit);
  exitedPromise.then(() => process.removeListener("exit", killOnExit));
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (!(await rpcAnswers(rpcUrl))) {
    if (exited) throw new Error(`hardhat node exited before answering on ${rpcUrl}:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`hardhat node did not answer on ${rpcUrl} in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { rpcUrl, port, pid: child.pid!, stop };
}

/** The in-process chain with Hypha deployed (see inProcessChain). */
export interface InProcessChain {
  provider: EIP1193Provider;
  publicClient: PublicClient;
  /** Wallet clients for dev accounts 0..19 (index = dev account number). */
  walletClients: WalletClient[];
  accounts: HDAccount[];
  addresses: HyphaAddresses;
  /** Parameters the contracts were deployed with. */
  params: Required<Pick<DeployParams, "minStake" | "unbondingDelaySeconds" | "slashBps">>;
  snapshot(): Promise<string>;
  revert(id: string): Promise<void>;
  /** Moves the next block's timestamp forward by `seconds` (evm_increaseTime). */
  increaseTime(seconds: number | bigint): Promise<void>;
  /** Mines one empty block. */
  mine(): Promise<void>;
  /** Timestamp of the latest block. */
  now(): Promise<bigint>;
}

/** Amount minted to node operators and deployers in the in-process fixture. */
export const FIXTURE_FUNDS = parseEther("1000000");

let chainPromise: Promise<InProcessChain> | undefined;

/**
 * The in-process Hardhat network with Hypha deployed once per worker: admin #0, orchestrators
 * #1..#4, operators #5..#7 and deployers #11..#19 funded with FIXTURE_FUNDS. Take a snapshot in
 * beforeEach and revert in afterEach to isolate tests.
 * @example const chain = await inProcessChain(); const id = await chain.snapshot(); ...; await chain.revert(id);
 */
export function inProcessChain(): Promise<InProcessChain> {
  chainPromise ??= createInProcessChain();
  return chainPromise;
}

async function createInProcessChain(): Promise<InProcessChain> {
  const hre = loadHardhat();
  const provider = hre.network.provider as unknown as EIP1193Provider;
  // No retries: a revert is an answer, not a transport failure (retries only add seconds of backoff).
  const transport = custom(provider, { retryCount: 0 });
  const publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 10 }) as PublicClient;
  const walletClients = devAccounts.map((account) => createWalletClient({ account, chain: hardhat, transport, pollingInterval: 10 }) as WalletClient);
  const params = { minStake: parseEther("100"), unbondingDelaySeconds: 60n, slashBps: 1000 };
  const orchestrators = DEV_ROLES.orchestrators.map((i) => devAccounts[i].address);
  const addresses = await deployHypha({ walletClient: walletClients[0], publicClient, params: { ...params, orchestrators } });
  const funded = [...DEV_ROLES.nodeOperators, ...DEV_ROLES.deployers].map((i) => devAccounts[i].address);
  await fundAccounts({ walletClient: walletClients[0], publicClient, addresses, accounts: funded, amount: FIXTURE_FUNDS });
  const request = (method: string, params: unknown[] = []) => provider.request({ method, params } as never) as Promise<unknown>;
  return {
    provider,
    publicClient,
    walletClients,
    accounts: devAccounts,
    addresses,
    params,
    snapshot: async () => (await request("evm_snapshot")) as string,
    revert: async (id: string) => {
      const ok = await request("evm_revert", [id]);
      if (ok !== true) throw new Error(`evm_revert ${id} failed`);
    },
    increaseTime: async (seconds) => {
      await request("evm_increaseTime", [Number(seconds)]);
    },
    mine: async () => {
      await request("evm_mine");
    },
    now: async () => (await publicClient.getBlock()).timestamp,
  };
}
