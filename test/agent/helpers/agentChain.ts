/**
 * Test fixture for the agent: a real `hardhat node` over JSON-RPC with Hypha deployed, a real
 * store server holding a busybox image, registered nodes, and helpers to submit and place
 * deployments the way the CLI and the watcher do (deployer #11 signs, orchestrator #1 places).
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { maxUint96, parseEther, type Hex, type PublicClient, type WalletClient } from "viem";
import { deploymentRegistryAbi, hyphaTokenAbi, nodeRegistryAbi } from "../../../src/chain/abi";
import type { HyphaAddresses } from "../../../src/chain/addresses";
import { makeChain, makePublicClient, makeWalletClient } from "../../../src/chain/clients";
import { approveMeasurement, deployHypha, fundAccounts } from "../../../src/chain/deploy";
import { devAccount } from "../../../src/chain/devAccounts";
import { hyphaDomain, type DeploymentIntent } from "../../../src/chain/eip712";
import { buildIntent } from "../../../src/chain/intentBuilder";
import { computeDeploymentId, signIntent } from "../../../src/chain/signing";
import { importImage } from "../../../src/image/importImage";
import { startStoreServer, type StoreServer } from "../../../src/image/storeServer";
import { canonicalSpecJson } from "../../../src/spec/canonicalSpec";
import { intentWorkloadFields } from "../../../src/spec/intentResources";
import { parseManifests } from "../../../src/spec/parseManifests";
import type { WorkloadSpec } from "../../../src/spec/workloadSpec";
import { agentMeasurement } from "../../../src/agent/measurement";
import { startHardhatNode } from "../../helpers/chain";
import { makeTestRootfs } from "./testRootfs";

export interface AgentFixture {
  rpcUrl: string;
  /** The `hardhat node` process (its own process group), for fault injection. */
  chainPid: number;
  dir: string;
  publicClient: PublicClient;
  wallets: Record<number, WalletClient>;
  addresses: HyphaAddresses;
  store: StoreServer;
  imageRoot: Hex;
  /** Submit an intent for `spec` (its canonical JSON put in the store) and place replicas. */
  deploy(
    spec: WorkloadSpec,
    placements: { replicaIndex: number; nodeId: number }[],
    opts?: { replicas?: number; quorum?: number; putSpec?: boolean; imageRoot?: Hex; schedule?: boolean; maxRetries?: number },
  ): Promise<{ id: Hex; intent: DeploymentIntent }>;
  /** Admin: release a node jailed by a Tampered attestation. */
  unjail(nodeId: number): Promise<void>;
  waitReplica(id: Hex, index: number, status: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const ReplicaStatus = ["Pending", "Scheduled", "Running", "Completed", "Failed", "Tampered", "Stopped"];

/** The spec of the first workload in `yaml`. */
export function specOf(yaml: string): WorkloadSpec {
  return parseManifests(yaml)[0].spec;
}

/**
 * Start everything; `endpoints[i]` is node i+1's registered endpoint (node i+1: operator #5+i,
 * agent #8+i; node 1 operator #5 agent #8, node 2 operator #6 agent #9).
 */
export async function startAgentFixture(endpoints: string[]): Promise<AgentFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hypha-agent-e2e-"));
  const node = await startHardhatNode();
  const chain = makeChain(31337, node.rpcUrl);
  const publicClient = makePublicClient(node.rpcUrl, { pollingIntervalMs: 50, chain });
  const wallets: Record<number, WalletClient> = {};
  const operators = endpoints.map((_, i) => 5 + i);
  for (const i of [0, 1, 11, ...operators]) wallets[i] = makeWalletClient(node.rpcUrl, devAccount(i), { chain, pollingIntervalMs: 50 });
  const addresses = await deployHypha({ walletClient: wallets[0], publicClient, params: { orchestrators: [devAccount(1).address] } });
  await fundAccounts({
    walletClient: wallets[0],
    publicClient,
    addresses,
    accounts: [...operators, 11].map((i) => devAccount(i).address),
    amount: parseEther("100000"),
  });
  await approveMeasurement({ walletClient: wallets[0], publicClient, addresses, measurement: agentMeasurement() });
  const send = async (w: WalletClient, call: Record<string, unknown>) => {
    const hash = await w.writeContract({ ...call, account: w.account!, chain } as never);
    const r = await publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`tx ${String(call.functionName)} reverted`);
  };
  for (const [i, endpoint] of endpoints.entries()) {
    const op = wallets[5 + i];
    await send(op, { address: addresses.token, abi: hyphaTokenAbi, functionName: "approve", args: [addresses.nodeRegistry, maxUint96] });
    await send(op, {
      address: addresses.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: "register",
      args: [
        {
          agent: devAccount(8 + i).address,
          cpuMillis: 8000,
          memoryMiB: 8192,
          diskMiB: 65536,
          slots: 50,
          pricePerSecond: 1n,
          measurement: agentMeasurement(),
          endpoint,
        },
        parseEther("1000"),
      ],
    });
  }
  await send(wallets[11], { address: addresses.token, abi: hyphaTokenAbi, functionName: "approve", args: [addresses.deploymentRegistry, maxUint96] });
  const store = await startStoreServer({ dir: path.join(dir, "store") });
  const rootfs = await makeTestRootfs(path.join(dir, "image-src"));
  const { rootHex: imageRoot } = await importImage(rootfs, store.store);
  const domain = hyphaDomain(31337, addresses.deploymentRegistry);
  let nonce = 1n;

  return {
    rpcUrl: node.rpcUrl,
    chainPid: node.pid,
    dir,
    publicClient,
    wallets,
    addresses,
    store,
    imageRoot,
    async deploy(spec, placements, opts = {}) {
      const json = canonicalSpecJson(spec);
      if (opts.putSpec !== false) await store.store.put(Buffer.from(json, "utf8"));
      const fields = intentWorkloadFields(spec);
      const { createHash } = await import("node:crypto");
      const intent = buildIntent({
        deployer: devAccount(11).address,
        specHash: `0x${createHash("sha256").update(json).digest("hex")}`,
        imageRoot: opts.imageRoot ?? imageRoot,
        replicas: opts.replicas ?? placements.length,
        resources: { cpuMillis: fields.cpuMillis, memoryMiB: fields.memoryMiB, diskMiB: fields.diskMiB },
        kind: spec.kind,
        quorum: spec.kind === "job" ? (opts.quorum ?? 1) : 0,
        maxPricePerSecond: 10n,
        budget: parseEther("10"),
        nonce: nonce++,
        deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
        maxRetries: opts.maxRetries ?? 0,
      });
      const signature = await signIntent(devAccount(11), domain, intent);
      await send(wallets[11], { address: addresses.deploymentRegistry, abi: deploymentRegistryAbi, functionName: "submitIntent", args: [intent, signature] });
      // schedule: false leaves the placement to a watcher.
      if (opts.schedule !== false)
        await send(wallets[1], {
          address: addresses.deploymentRegistry,
          abi: deploymentRegistryAbi,
          functionName: "schedule",
          args: [intent, placements.map((p) => ({ ...p, pricePerSecond: 1n }))],
        });
      return { id: computeDeploymentId(domain, intent), intent };
    },
    async unjail(nodeId) {
      await send(wallets[0], { address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "unjail", args: [nodeId] });
    },
    async waitReplica(id, index, status, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        const r = (await publicClient.readContract({
          address: addresses.deploymentRegistry,
          abi: deploymentRegistryAbi,
          functionName: "getReplica",
          args: [id, index],
        })) as { status: number };
        last = ReplicaStatus[r.status];
        if (last === status) return;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`replica ${id}/${index} did not become ${status} (last: ${last})`);
    },
    async stop() {
      await store.close();
      await node.stop();
    },
  };
}
