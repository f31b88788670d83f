/**
 * A Hypha deployment on a real `hardhat node` (JSON-RPC over HTTP) for the watcher's tests: the
 * contracts deployed with orchestrators #1..#4, operators and deployers funded, an approved agent
 * measurement, and helpers to register nodes, submit signed intents (dev deployer accounts, signed
 * with viem + the eip712 module) and attest with the node agents' dev keys.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createPublicClient, createWalletClient, http as viemHttp, maxUint256, parseEther, type Hex, type PublicClient, type WalletClient } from "viem";
import { hardhat } from "viem/chains";
import { deploymentRegistryAbi, hyphaTokenAbi, nodeRegistryAbi } from "../../../src/chain/abi";
import type { HyphaAddresses } from "../../../src/chain/addresses";
import { approveMeasurement, deployHypha, fundAccounts } from "../../../src/chain/deploy";
import { DEV_ROLES, devAccount } from "../../../src/chain/devAccounts";
import type { DeploymentIntent } from "../../../src/chain/eip712";
import { computeDeploymentId, domainFor, signAttestation, signIntent } from "../../../src/chain/signing";

export const MEASUREMENT = `0x${"a5".repeat(32)}` as Hex;

export interface HyphaFixture {
  rpcUrl: string;
  publicClient: PublicClient;
  addresses: HyphaAddresses;
  wallet(i: number): WalletClient;
  registerNode(opts: { endpoint: string; slots?: number; cpuMillis?: number; pricePerSecond?: bigint }): Promise<number>;
  submitIntents(
    count: number,
    opts?: {
      cpuMillis?: number;
      replicas?: number;
      deployer?: number;
      nonceBase?: bigint;
      kind?: number;
      quorum?: number;
      maxRetries?: number;
      maxPricePerSecond?: bigint;
    },
  ): Promise<{ ids: Hex[]; intents: DeploymentIntent[] }>;
  attest(id: Hex, replicaIndex: number, nodeId: number, attempt: number, status: number, outputHash?: Hex): Promise<void>;
  /** Several attestations (each signed by its node's agent) in one attestMany transaction. */
  attestMany(list: { id: Hex; replicaIndex: number; nodeId: number; attempt: number; status: number; outputHash?: Hex }[]): Promise<void>;
  rpc(method: string, params?: unknown[]): Promise<unknown>;
}

let nodeCount = 0;

/**
 * Deploy Hypha on the chain at `rpcUrl` and return helpers.
 * @example const fx = await setupHypha(node.rpcUrl); await fx.registerNode({ endpoint });
 */
export async function setupHypha(rpcUrl: string): Promise<HyphaFixture> {
  const transport = viemHttp(rpcUrl, { batch: { wait: 0 } });
  const publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 20 }) as PublicClient;
  const wallets = new Map<number, WalletClient>();
  const wallet = (i: number) => {
    if (!wallets.has(i)) wallets.set(i, createWalletClient({ account: devAccount(i), chain: hardhat, transport, pollingInterval: 20 }) as WalletClient);
    return wallets.get(i)!;
  };
  const send = async (i: number, call: Parameters<WalletClient["writeContract"]>[0]) => {
    const hash = await wallet(i).writeContract({ ...call, account: devAccount(i), chain: hardhat } as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${call.functionName} reverted`);
  };
  const addresses = await deployHypha({
    walletClient: wallet(0),
    publicClient,
    params: { orchestrators: DEV_ROLES.orchestrators.map((i) => devAccount(i).address) },
  });
  await fundAccounts({
    walletClient: wallet(0),
    publicClient,
    addresses,
    accounts: [...DEV_ROLES.nodeOperators, ...DEV_ROLES.deployers].map((i) => devAccount(i).address),
    amount: parseEther("1000000"),
  });
  await approveMeasurement({ walletClient: wallet(0), publicClient, addresses, measurement: MEASUREMENT });
  const domain = domainFor(addresses);
  const approved = new Set<number>();
  let registered = 0;
  nodeCount = 0;

  const signed = async (a: { id: Hex; replicaIndex: number; nodeId: number; attempt: number; status: number; outputHash?: Hex }) => {
    const agent = DEV_ROLES.nodeAgents[a.nodeId - 1]!;
    const outputHash = a.outputHash ?? (`0x${"00".repeat(32)}` as Hex);
    const attestation = {
      deploymentId: a.id,
      replicaIndex: a.replicaIndex,
      nodeId: a.nodeId,
      attempt: a.attempt,
      status: a.status,
      measurement: MEASUREMENT,
      outputHash,
      timestamp: (await publicClient.getBlock()).timestamp,
    };
    return { agent, attestation, signature: await signAttestation(devAccount(agent), domain, attestation) };
  };
  return {
    rpcUrl,
    publicClient,
    addresses,
    wallet,
    rpc: (method, params = []) => publicClient.request({ method, params } as never) as Promise<unknown>,
    async registerNode({ endpoint, slots = 64, cpuMillis = 64_000, pricePerSecond = 1n }) {
      const k = registered++;
      const operator = DEV_ROLES.nodeOperators[k]!;
      const agent = DEV_ROLES.nodeAgents[k]!;
      await send(operator, { address: addresses.token, abi: hyphaTokenAbi, functionName: "approve", args: [addresses.nodeRegistry, maxUint256] } as never);
      await send(operator, {
        address: addresses.nodeRegistry,
        abi: nodeRegistryAbi,
        functionName: "register",
        args: [
          { agent: devAccount(agent).address, cpuMillis, memoryMiB: 64_000, diskMiB: 64_000, slots, pricePerSecond, measurement: MEASUREMENT, endpoint },
          parseEther("100"),
        ],
      } as never);
      return ++nodeCount;
    },
    async submitIntents(count, opts = {}) {
      const deployer = opts.deployer ?? DEV_ROLES.defaultDeployer;
      if (!approved.has(deployer)) {
        await send(deployer, {
          address: addresses.token,
          abi: hyphaTokenAbi,
          functionName: "approve",
          args: [addresses.deploymentRegistry, maxUint256],
        } as never);
        approved.add(deployer);
      }
      const now = (await publicClient.getBlock()).timestamp;
      const intents: DeploymentIntent[] = Array.from({ length: count }, (_, i) => ({
        deployer: devAccount(deployer).address,
        specHash: `0x${(BigInt(i) + 1n).toString(16).padStart(64, "0")}` as Hex,
        imageRoot: `0x${"22".repeat(32)}` as Hex,
        replicas: opts.replicas ?? 1,
        cpuMillis: opts.cpuMillis ?? 100,
        memoryMiB: 64,
        diskMiB: 10,
        maxPricePerSecond: opts.maxPricePerSecond ?? 10n,
        budget: parseEther("1"),
        nonce: (opts.nonceBase ?? 0n) + BigInt(i),
        deadline: now + 3600n,
        kind: opts.kind ?? 0,
        quorum: opts.quorum ?? 0,
        maxRetries: opts.maxRetries ?? 3,
        maxRunSeconds: (opts.kind ?? 0) === 1 ? 3600 : 0,
      }));
      const signatures = await Promise.all(intents.map((intent) => signIntent(devAccount(deployer), domain, intent)));
      for (let i = 0; i < intents.length; i += 50) {
        await send(deployer, {
          address: addresses.deploymentRegistry,
          abi: deploymentRegistryAbi,
          functionName: "submitIntents",
          args: [intents.slice(i, i + 50), signatures.slice(i, i + 50)],
        } as never);
      }
      return { ids: intents.map((intent) => computeDeploymentId(domain, intent)), intents };
    },
    async attest(id, replicaIndex, nodeId, attempt, status, outputHash = `0x${"00".repeat(32)}`) {
      const { agent, attestation, signature } = await signed({ id, replicaIndex, nodeId, attempt, status, outputHash });
      await send(agent, { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "attest", args: [attestation, signature] } as never);
    },
    async attestMany(list) {
      const all = await Promise.all(list.map(signed));
      await send(all[0]!.agent, {
        address: addresses.deploymentRegistry,
        abi: deploymentRegistryAbi,
        functionName: "attestMany",
        args: [all.map((a) => a.attestation), all.map((a) => a.signature)],
      } as never);
    },
  };
}

/** A tiny real HTTP server answering GET /healthz 200 (a stand-in node agent endpoint for liveness). */
export async function startHealthServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: req.url === "/healthz" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    // A dying agent: stop listening AND drop open keep-alive connections (the watcher probes every
    // 250 ms, so a connection busy at close() would otherwise keep answering, and close() wait, forever).
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Poll `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
