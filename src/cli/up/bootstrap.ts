/**
 * Brings a fresh local chain to a usable state for `hypha up`: deploys the contracts, records
 * their addresses, funds the dev accounts with tokens, approves the agent's measurement, imports
 * the demo root filesystem into the store under the seed's image names, and stakes and registers
 * one node per planned agent (operators and agent keys from DEV_ROLES).
 */
import path from "node:path";
import os from "node:os";
import fs from "node:fs";
import { parseEther, type Hex } from "viem";
import { makePublicClient, makeWalletClient } from "../../chain/clients";
import { deployHypha, fundAccounts, approveMeasurement } from "../../chain/deploy";
import { writeAddresses, type HyphaAddresses } from "../../chain/addresses";
import { devAccount, devPrivateKey, DEV_ROLES } from "../../chain/devAccounts";
import { hyphaTokenAbi, nodeRegistryAbi } from "../../chain/abi";
import { agentMeasurement } from "../../agent/measurement";
import { imageImport, imagePush } from "../../image";
import { buildDemoRootfs } from "./demoRootfs";

export interface LocalNodePlan {
  index: number;
  url: string;
}

export interface BootstrapResult {
  addresses: HyphaAddresses;
  deploymentFile: string;
  orchestratorPrivateKeys: Hex[];
  /** Pays the gas of intents relayed by the REST API (the local admin account). */
  relayerPrivateKey: Hex;
  nodes: Array<{ nodeId: number; url: string; agentPrivateKey: Hex }>;
  imageRoot: Hex;
}

/** Demo image names: the seed's examples say `ubuntu:latest` and `zero-image://ubuntu-latest`. */
export const DEMO_IMAGE_NAMES = ["ubuntu:latest", "ubuntu-latest"];

/** Per-node capacity registered for local nodes. */
export const LOCAL_NODE_CAPACITY = { cpuMillis: 4_000, memoryMiB: 4_096, diskMiB: 20_480, slots: 64 };

export async function bootstrapLocalChain(
  opts: { rpcUrl: string; storeUrl: string; hyphaDir: string; projectDir: string; nodes: LocalNodePlan[] },
  print: (line: string) => void,
): Promise<BootstrapResult> {
  if (opts.nodes.length > DEV_ROLES.nodeOperators.length) {
    throw new RangeError(`at most ${DEV_ROLES.nodeOperators.length} local nodes (dev accounts available)`);
  }
  const publicClient = makePublicClient(opts.rpcUrl);
  const admin = makeWalletClient(opts.rpcUrl, devAccount(DEV_ROLES.admin));
  const orchestrators = DEV_ROLES.orchestrators.map((i) => devAccount(i).address);
  const addresses = await deployHypha({ walletClient: admin, publicClient, params: { orchestrators } });
  // The default `.hypha` writes where the CLI looks by default (deployments/); another --dir keeps
  // its addresses to itself, so two local systems never overwrite each other's file.
  const isDefaultDir = path.resolve(opts.hyphaDir) === path.resolve(opts.projectDir, ".hypha");
  const deploymentFile = writeAddresses(path.join(isDefaultDir ? opts.projectDir : opts.hyphaDir, "deployments"), addresses);
  print(
    `contracts deployed: DeploymentRegistry ${addresses.deploymentRegistry}, NodeRegistry ${addresses.nodeRegistry} (${path.relative(process.cwd(), deploymentFile)})`,
  );

  const funded = [...DEV_ROLES.nodeOperators, ...DEV_ROLES.deployers].map((i) => devAccount(i).address);
  await fundAccounts({ walletClient: admin, publicClient, addresses, accounts: funded, amount: parseEther("1000000") });
  const measurement = agentMeasurement();
  await approveMeasurement({ walletClient: admin, publicClient, addresses, measurement });
  print(`agent measurement ${measurement} approved; ${funded.length} dev accounts funded with HYPHA`);

  let imageRoot: Hex;
  const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-rootfs-"));
  try {
    const demo = await buildDemoRootfs(rootfs);
    const storeDir = path.join(opts.hyphaDir, "image-build");
    const imported = await imageImport({ storeDir, path: rootfs, name: DEMO_IMAGE_NAMES });
    for (const name of DEMO_IMAGE_NAMES) await imagePush({ storeDir, ref: imported.root, url: opts.storeUrl, name });
    const madeOf =
      demo.source === "busybox"
        ? "Debian's busybox-static"
        : "this host's own shell and core tools with their libraries (busybox-static is not installed here)";
    print(
      `demo image: no container registry is reachable here, so ${DEMO_IMAGE_NAMES.join(" and ")} name a small real ` +
        `root filesystem built from ${madeOf} (root ${imported.root}, ${imported.stats.files} files, ${imported.stats.bytes} bytes)`,
    );
    imageRoot = imported.rootHex;
  } finally {
    fs.rmSync(rootfs, { recursive: true, force: true });
  }

  const minStake = (await publicClient.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "minStake" })) as bigint;
  const nodes: BootstrapResult["nodes"] = [];
  for (const plan of opts.nodes) {
    const operatorIndex = DEV_ROLES.nodeOperators[plan.index];
    const agentIndex = DEV_ROLES.nodeAgents[plan.index];
    const operator = makeWalletClient(opts.rpcUrl, devAccount(operatorIndex));
    const approveHash = await operator.writeContract({
      chain: null,
      account: operator.account!,
      address: addresses.token,
      abi: hyphaTokenAbi,
      functionName: "approve",
      args: [addresses.nodeRegistry, minStake],
    });
    await publicClient.waitForTransactionReceipt({ hash: approveHash });
    const registerHash = await operator.writeContract({
      chain: null,
      account: operator.account!,
      address: addresses.nodeRegistry,
      abi: nodeRegistryAbi,
      functionName: "register",
      args: [
        {
          agent: devAccount(agentIndex).address,
          ...LOCAL_NODE_CAPACITY,
          pricePerSecond: 1_000_000_000n,
          measurement,
          endpoint: plan.url,
        },
        minStake,
      ],
    });
    await publicClient.waitForTransactionReceipt({ hash: registerHash });
    const nodeId = Number(await publicClient.readContract({ address: addresses.nodeRegistry, abi: nodeRegistryAbi, functionName: "nodeCount" }));
    nodes.push({ nodeId, url: plan.url, agentPrivateKey: devPrivateKey(agentIndex) });
    print(`node ${nodeId}: operator ${devAccount(operatorIndex).address} staked ${minStake} wei, agent ${devAccount(agentIndex).address}, ${plan.url}`);
  }
  return {
    addresses,
    deploymentFile,
    orchestratorPrivateKeys: DEV_ROLES.orchestrators.map((i) => devPrivateKey(i)),
    relayerPrivateKey: devPrivateKey(DEV_ROLES.admin),
    nodes,
    imageRoot,
  };
}
