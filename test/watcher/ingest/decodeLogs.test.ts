/**
 * decodeHyphaLogs against viem's decodeEventLog for every event of both Hypha contracts, with
 * random field values (fast-check), plus the cases its fast path hands to viem: non-canonical
 * words, short data, unknown topics. The same comparison over a real chain's history is in
 * followChain.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Abi, type AbiEvent, type AbiParameter, decodeEventLog, encodeAbiParameters, encodeEventTopics, type Hex, type Log } from "viem";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../../src/chain/abi";
import { decodeHyphaLogs } from "../../../src/watcher/ingest/decodeLogs";

const addresses = { nodeRegistry: "0x00000000000000000000000000000000000000a1", deploymentRegistry: "0x00000000000000000000000000000000000000b2" } as const;
const contracts = [
  { abi: nodeRegistryAbi as Abi, address: addresses.nodeRegistry },
  { abi: deploymentRegistryAbi as Abi, address: addresses.deploymentRegistry },
];

function arbitraryOf(p: AbiParameter): fc.Arbitrary<unknown> {
  const uint = /^uint(\d+)$/.exec(p.type);
  if (uint) {
    const bits = Number(uint[1]);
    return bits <= 48 ? fc.integer({ min: 0, max: 2 ** bits - 1 }) : fc.bigInt({ min: 0n, max: 2n ** BigInt(bits) - 1n });
  }
  if (p.type === "address") return fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString("hex")}`);
  if (p.type === "bool") return fc.boolean();
  const fixed = /^bytes(\d+)$/.exec(p.type);
  if (fixed) return fc.uint8Array({ minLength: Number(fixed[1]), maxLength: Number(fixed[1]) }).map((b) => `0x${Buffer.from(b).toString("hex")}`);
  if (p.type === "bytes") return fc.uint8Array({ maxLength: 100 }).map((b) => `0x${Buffer.from(b).toString("hex")}`);
  if (p.type === "string") return fc.string({ unit: "binary", maxLength: 80 });
  if (p.type === "tuple") {
    const cs = (p as { components: readonly AbiParameter[] }).components;
    return fc.tuple(...cs.map(arbitraryOf)).map((vs) => Object.fromEntries(cs.map((c, i) => [c.name!, vs[i]])));
  }
  if (p.type.endsWith("[]")) return fc.array(arbitraryOf({ ...p, type: p.type.slice(0, -2) } as AbiParameter), { maxLength: 3 });
  throw new Error(`no arbitrary for ${p.type}`);
}

function logOf(address: Hex, abi: Abi, event: AbiEvent, args: Record<string, unknown>, blockNumber: bigint, logIndex: number): Log {
  const topics = encodeEventTopics({ abi, eventName: event.name, args } as never) as Hex[];
  const data = event.inputs.filter((i) => !i.indexed);
  return {
    address,
    topics: topics as never,
    data: data.length ? encodeAbiParameters(data, data.map((i) => args[i.name!]) as never) : "0x",
    blockNumber,
    blockHash: `0x${"ab".repeat(32)}`,
    logIndex,
    transactionHash: `0x${"cd".repeat(32)}`,
    transactionIndex: 0,
    removed: false,
  };
}

const events = contracts.flatMap(({ abi, address }) => abi.filter((i): i is AbiEvent => i.type === "event").map((event) => ({ abi, address, event })));

describe("decodeHyphaLogs", () => {
  it.each(events.map((e) => [e.event.name, e] as const))("decodes %s as viem's decodeEventLog does", (_name, { abi, address, event }) => {
    fc.assert(
      fc.property(fc.tuple(...event.inputs.map(arbitraryOf)), (values) => {
        const args = Object.fromEntries(event.inputs.map((p, i) => [p.name!, values[i]]));
        const log = logOf(address, abi, event, args, 7n, 3);
        const [ours] = decodeHyphaLogs([log], addresses);
        const viems = decodeEventLog({ abi, data: log.data, topics: log.topics, strict: true });
        expect(ours).toEqual({ ...log, args: viems.args, eventName: viems.eventName });
      }),
      { numRuns: 40 },
    );
  });

  it("hands non-canonical words to viem (a uint8 with high bits set: viem's out-of-range error)", () => {
    const event = (deploymentRegistryAbi as Abi).find((i): i is AbiEvent => i.type === "event" && i.name === "DeploymentStatusChanged")!;
    const log = logOf(addresses.deploymentRegistry, deploymentRegistryAbi as Abi, event, { id: `0x${"11".repeat(32)}`, from: 1, to: 2 }, 1n, 0);
    const dirty = { ...log, data: `0x${"f".repeat(63)}1${log.data.slice(66)}` as Hex };
    expect(() => decodeEventLog({ abi: deploymentRegistryAbi, data: dirty.data, topics: dirty.topics, strict: true })).toThrow(/safe integer range/);
    expect(() => decodeHyphaLogs([dirty], addresses)).toThrow(/safe integer range/);
    // A high bit under 2^53 is within viem's range: the value viem reads, not the low byte.
    const wide = { ...log, data: `0x${"0".repeat(50)}1${"0".repeat(12)}1${log.data.slice(66)}` as Hex };
    expect(decodeHyphaLogs([wide], addresses)[0]!.args).toEqual(
      decodeEventLog({ abi: deploymentRegistryAbi, data: wide.data, topics: wide.topics, strict: true }).args,
    );
  });

  it("throws viem's error for data too short for the event, and drops logs of unknown events or contracts", () => {
    const event = (deploymentRegistryAbi as Abi).find((i): i is AbiEvent => i.type === "event" && i.name === "Scaled")!;
    const log = logOf(addresses.deploymentRegistry, deploymentRegistryAbi as Abi, event, { id: `0x${"11".repeat(32)}`, from: 1, to: 2 }, 1n, 0);
    expect(() => decodeHyphaLogs([{ ...log, data: log.data.slice(0, 66) as Hex }], addresses)).toThrow(/data|size|bounds|position/i);
    expect(decodeHyphaLogs([{ ...log, topics: [`0x${"00".repeat(32)}`, ...log.topics.slice(1)] as never }], addresses)).toEqual([]);
    expect(decodeHyphaLogs([{ ...log, address: "0x00000000000000000000000000000000000000c3" }], addresses)).toEqual([]);
  });

  it("puts events into chain order when the reply was not", () => {
    const event = (deploymentRegistryAbi as Abi).find((i): i is AbiEvent => i.type === "event" && i.name === "Scaled")!;
    const at = (block: bigint, index: number) =>
      logOf(addresses.deploymentRegistry, deploymentRegistryAbi as Abi, event, { id: `0x${"11".repeat(32)}`, from: 1, to: 2 }, block, index);
    const out = decodeHyphaLogs([at(2n, 0), at(1n, 5), at(1n, 2)], addresses);
    expect(out.map((e) => [e.blockNumber, e.logIndex])).toEqual([
      [1n, 2],
      [1n, 5],
      [2n, 0],
    ]);
  });
});
