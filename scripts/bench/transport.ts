/**
 * `npm run bench:transport [-- N]`: client CPU per JSON-RPC request, viem's `http()` (fetch) against
 * the keep-alive `node:http` transport (src/chain/keepAliveTransport.ts), against a real `hardhat
 * node`. Rounds alternate A and B (interleaved, so machine load hits both alike); each round makes
 * N requests: sequential eth_blockNumber, then sequential readContract (eth_call), then N
 * concurrent readContract (batched). Prints one JSON object: medians of the rounds, in ms of this
 * process's CPU (user + system) per request.
 */
import os from "node:os";
import { createPublicClient, createWalletClient, http, type PublicClient, type Transport, type WalletClient } from "viem";
import { hardhat } from "viem/chains";
import { deployHypha } from "../../src/chain/deploy";
import { devAccount } from "../../src/chain/devAccounts";
import { keepAliveHttp } from "../../src/chain/keepAliveTransport";
import { startHardhatNode } from "../../test/helpers/chain";

const N = Number(process.argv[2] ?? 400);
const ROUNDS = 5;
const ZERO = "0x0000000000000000000000000000000000000000" as const;
const balanceOfAbi = [
  { type: "function", name: "balanceOf", stateMutability: "view", inputs: [{ name: "a", type: "address" }], outputs: [{ type: "uint256" }] },
] as const;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]! * 1000) / 1000;
}

async function measure(client: PublicClient, token: `0x${string}`): Promise<{ sequentialBlockNumber: number; sequentialCall: number; concurrentCall: number }> {
  let t = cpuMs();
  for (let i = 0; i < N; i++) await client.getBlockNumber({ cacheTime: 0 });
  const sequentialBlockNumber = (cpuMs() - t) / N;
  t = cpuMs();
  for (let i = 0; i < N; i++) await client.readContract({ address: token, abi: balanceOfAbi, functionName: "balanceOf", args: [ZERO] });
  const sequentialCall = (cpuMs() - t) / N;
  t = cpuMs();
  await Promise.all(Array.from({ length: N }, () => client.readContract({ address: token, abi: balanceOfAbi, functionName: "balanceOf", args: [ZERO] })));
  const concurrentCall = (cpuMs() - t) / N;
  return { sequentialBlockNumber, sequentialCall, concurrentCall };
}

async function main(): Promise<void> {
  const node = await startHardhatNode();
  try {
    const make = (transport: Transport) => createPublicClient({ transport, pollingInterval: 100 }) as PublicClient;
    const clients = {
      viemHttp: make(http(node.rpcUrl, { batch: { wait: 0 }, retryCount: 2, retryDelay: 100, timeout: 20_000 })),
      keepAlive: make(keepAliveHttp(node.rpcUrl, { retryCount: 2, retryDelay: 100, timeout: 20_000 })),
    };
    // A real eth_call: balanceOf on the HyphaToken, deployed for the bench.
    const wallet = createWalletClient({ account: devAccount(0), chain: hardhat, transport: http(node.rpcUrl) }) as WalletClient;
    const addresses = await deployHypha({ walletClient: wallet, publicClient: clients.viemHttp, params: { orchestrators: [devAccount(1).address] } });
    const token = addresses.token;
    for (const c of Object.values(clients)) await measure(c, token); // warm up both (JIT, connections)
    const rounds: Record<string, { sequentialBlockNumber: number[]; sequentialCall: number[]; concurrentCall: number[] }> = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, c] of Object.entries(clients)) {
        const m = await measure(c, token);
        rounds[name] ??= { sequentialBlockNumber: [], sequentialCall: [], concurrentCall: [] };
        for (const k of Object.keys(m) as (keyof typeof m)[]) rounds[name]![k].push(m[k]);
      }
    }
    const result = Object.fromEntries(Object.entries(rounds).map(([name, r]) => [name, Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]))]));
    console.log(
      JSON.stringify(
        {
          bench: "transport",
          unit: "ms of client CPU (user+system) per request, median of rounds",
          requestsPerRound: N,
          rounds: ROUNDS,
          ...result,
          loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
          machine: { node: process.version, cores: os.cpus().length },
        },
        null,
        2,
      ),
    );
  } finally {
    await node.stop();
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message ?? err);
  process.exit(1);
});
