/**
 * Turns raw eth_getLogs results into typed Hypha events, each decoded with the ABI of the contract
 * that emitted it, in chain order (block number, then log index). Logs the ABIs don't know are
 * dropped (they cannot change Hypha's state). A cold start decodes every log of the history, so
 * each event gets a decoder once, keyed by its topic0, that reads its fields straight from the hex
 * words (no byte arrays, no cursor objects); a log it cannot read canonically (a type it does not
 * know, a short or non-canonical word) goes through viem's decodeAbiParameters, so the result and
 * the errors are viem's in every case.
 */
import {
  checksumAddress,
  decodeAbiParameters,
  type parseEventLogs,
  toEventSelector,
  type Abi,
  type AbiEvent,
  type AbiParameter,
  type Address,
  type Hex,
  type Log,
} from "viem";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../chain/abi";

export type NodeRegistryEvent = ReturnType<typeof parseEventLogs<typeof nodeRegistryAbi, true>>[number];
export type DeploymentRegistryEvent = ReturnType<typeof parseEventLogs<typeof deploymentRegistryAbi, true>>[number];
/** A decoded event of either Hypha contract, with its block number, block hash and log index. */
export type HyphaEvent = NodeRegistryEvent | DeploymentRegistryEvent;

/**
 * Reads one value from `hex` (the data or a topic, without 0x) at character offset `at`; `base` is
 * where the enclosing tuple starts (dynamic offsets count from there). Returns NOT_CANONICAL when
 * the words are not what a canonical encoder writes; the log is then decoded by viem instead.
 */
type Reader = (hex: string, at: number, base: number) => unknown;

const NOT_CANONICAL = Symbol("not canonical");
const ZEROS = "0".repeat(64);

interface EventDecoder {
  name: string;
  indexed: AbiEvent["inputs"];
  data: AbiEvent["inputs"];
  names: string[];
  isIndexed: boolean[];
  /** Fast readers of the indexed inputs (one topic each) and the data's head, or undefined when a type has none. */
  topicReaders?: Reader[];
  dataReaders?: Reader[];
  /** Where each data input's head starts (a static tuple's head is all its words). */
  dataOffsets: number[];
}

/**
 * A copy of `s` that holds its own characters. A slice of a string keeps the whole string alive in
 * V8, and these values live in the state for as long as their deployment: a 32-byte hash sliced
 * from a log's data would keep the log's data (a kilobyte or more) in memory with it.
 */
function own(s: string): string {
  return Buffer.from(s, "latin1").toString("latin1");
}

function zeroPrefixed(hex: string, at: number, keep: number): boolean {
  return hex.startsWith(ZEROS.slice(0, 64 - keep), at);
}

/** The number a 32-byte word holds, when it fits in a double exactly (offsets and lengths). */
function wordNumber(hex: string, at: number): number {
  if (hex.length < at + 64 || !zeroPrefixed(hex, at, 12)) return Number.NaN;
  return Number.parseInt(hex.slice(at + 52, at + 64), 16);
}

/** A reader for one ABI type, or undefined when only viem decodes it (arrays, signed ints). */
function readerOf(param: AbiParameter): Reader | undefined {
  const type = param.type;
  const uint = /^uint(\d*)$/.exec(type);
  if (uint) {
    const bits = Number(uint[1] || 256);
    const digits = bits / 4;
    if (bits <= 48)
      return (hex, at) => (hex.length >= at + 64 && zeroPrefixed(hex, at, digits) ? Number.parseInt(hex.slice(at + 64 - digits, at + 64), 16) : NOT_CANONICAL);
    return (hex, at) => (hex.length >= at + 64 && zeroPrefixed(hex, at, digits) ? BigInt(`0x${hex.slice(at + 64 - digits, at + 64)}`) : NOT_CANONICAL);
  }
  if (type === "address")
    return (hex, at) =>
      hex.length >= at + 64 && zeroPrefixed(hex, at, 40) ? checksumAddress(own(`0x${hex.slice(at + 24, at + 64)}`) as Address) : NOT_CANONICAL;
  if (type === "bool")
    return (hex, at) => {
      if (hex.length < at + 64 || !zeroPrefixed(hex, at, 1)) return NOT_CANONICAL;
      const last = hex.charCodeAt(at + 63);
      return last === 48 ? false : last === 49 ? true : NOT_CANONICAL;
    };
  const fixed = /^bytes(\d+)$/.exec(type);
  if (fixed) {
    const digits = Number(fixed[1]) * 2;
    return (hex, at) => (hex.length >= at + 64 && ZEROS.startsWith(hex.slice(at + digits, at + 64)) ? own(`0x${hex.slice(at, at + digits)}`) : NOT_CANONICAL);
  }
  if (type === "string" || type === "bytes")
    return (hex, at, base) => {
      const start = base + wordNumber(hex, at) * 2;
      const length = wordNumber(hex, start);
      if (Number.isNaN(start) || Number.isNaN(length) || hex.length < start + 64 + length * 2) return NOT_CANONICAL;
      const body = hex.slice(start + 64, start + 64 + length * 2);
      return type === "bytes" ? own(`0x${body}`) : Buffer.from(body, "hex").toString("utf8");
    };
  if (type === "tuple") {
    const components = (param as { components: readonly AbiParameter[] }).components;
    // Unnamed components (viem answers an array) and nested tuples: viem's.
    if (components.some((c) => !c.name || c.type.startsWith("tuple"))) return undefined;
    const readers = components.map(readerOf);
    if (readers.some((r) => r === undefined)) return undefined;
    const names = components.map((c) => c.name!);
    const readTuple = (hex: string, start: number): unknown => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < readers.length; i++) {
        const v = readers[i]!(hex, start + i * 64, start);
        if (v === NOT_CANONICAL) return NOT_CANONICAL;
        out[names[i]!] = v;
      }
      return out;
    };
    if (!components.some(isDynamic)) return (hex, at) => readTuple(hex, at);
    return (hex, at, base) => {
      const start = base + wordNumber(hex, at) * 2;
      return Number.isNaN(start) ? NOT_CANONICAL : readTuple(hex, start);
    };
  }
  return undefined;
}

function isDynamic(param: AbiParameter): boolean {
  return param.type === "string" || param.type === "bytes" || param.type.endsWith("[]");
}

function readersOf(params: readonly AbiParameter[]): Reader[] | undefined {
  const readers = params.map(readerOf);
  return readers.every((r) => r !== undefined) ? (readers as Reader[]) : undefined;
}

/** Words an input takes in the head: a static tuple is inline, anything else one word (a value or an offset). */
function headWords(param: AbiParameter): number {
  if (param.type !== "tuple") return 1;
  const components = (param as { components: readonly AbiParameter[] }).components;
  return components.some(isDynamic) ? 1 : components.reduce((n, c) => n + headWords(c), 0);
}

function decodersOf(abi: Abi): Map<string, EventDecoder> {
  const out = new Map<string, EventDecoder>();
  for (const item of abi) {
    if (item.type !== "event" || item.anonymous) continue;
    const indexed = item.inputs.filter((i) => i.indexed);
    const data = item.inputs.filter((i) => !i.indexed);
    // Every indexed parameter of these contracts is a static type, so its topic holds its value.
    out.set(toEventSelector(item), {
      name: item.name,
      indexed,
      data,
      names: item.inputs.map((i) => i.name ?? ""),
      isIndexed: item.inputs.map((i) => Boolean(i.indexed)),
      // An indexed string, bytes or tuple leaves only its hash in the topic: viem's case.
      topicReaders: indexed.every((i) => i.type !== "tuple" && !isDynamic(i)) ? readersOf(indexed) : undefined,
      dataReaders: readersOf(data),
      dataOffsets: data.map((_, i) => data.slice(0, i).reduce((n, p) => n + headWords(p) * 64, 0)),
    });
  }
  return out;
}

const NODE_REGISTRY = decodersOf(nodeRegistryAbi as Abi);
const DEPLOYMENT_REGISTRY = decodersOf(deploymentRegistryAbi as Abi);

/** The fast path: undefined when a value is not canonically encoded (viem decides then). */
function readFast(log: Log, d: EventDecoder): unknown[] | undefined {
  if (!d.topicReaders || !d.dataReaders) return undefined;
  const values: unknown[] = [];
  for (let i = 0; i < d.topicReaders.length; i++) {
    const v = d.topicReaders[i]!(log.topics[i + 1]!.slice(2), 0, 0);
    if (v === NOT_CANONICAL) return undefined;
    values.push(v);
  }
  const data = log.data.slice(2);
  for (let i = 0; i < d.dataReaders.length; i++) {
    const v = d.dataReaders[i]!(data, d.dataOffsets[i]!, 0);
    if (v === NOT_CANONICAL) return undefined;
    values.push(v);
  }
  return values;
}

function readWithViem(log: Log, d: EventDecoder): unknown[] {
  const fromTopics = d.indexed.length
    ? decodeAbiParameters(
        d.indexed,
        `0x${log.topics
          .slice(1)
          .map((t) => t!.slice(2))
          .join("")}` as Hex,
      )
    : [];
  const fromData = d.data.length ? decodeAbiParameters(d.data, log.data) : [];
  return [...fromTopics, ...fromData];
}

function decodeOne(log: Log, decoders: Map<string, EventDecoder>): HyphaEvent | undefined {
  const d = decoders.get(log.topics[0] ?? "");
  if (!d || log.topics.length !== d.indexed.length + 1) return undefined;
  const values = readFast(log, d) ?? readWithViem(log, d);
  const args: Record<string, unknown> = {};
  let t = 0;
  let v = d.indexed.length;
  for (let i = 0; i < d.names.length; i++) args[d.names[i]!] = d.isIndexed[i] ? values[t++] : values[v++];
  // An event without inputs has no args (as viem decodes it).
  return { ...log, args: d.names.length ? args : undefined, eventName: d.name } as unknown as HyphaEvent;
}

/**
 * Decode logs of the NodeRegistry and DeploymentRegistry and sort them into chain order.
 * @example decodeHyphaLogs(await client.getLogs({ address: [nr, dr], fromBlock, toBlock }), { nodeRegistry: nr, deploymentRegistry: dr })
 */
export function decodeHyphaLogs(logs: Log[], addresses: { nodeRegistry: Address; deploymentRegistry: Address }): HyphaEvent[] {
  const nr = addresses.nodeRegistry.toLowerCase();
  const dr = addresses.deploymentRegistry.toLowerCase();
  const events: HyphaEvent[] = [];
  let sorted = true;
  for (const l of logs) {
    if (l.removed) continue;
    const address = l.address.toLowerCase();
    const e = address === nr ? decodeOne(l, NODE_REGISTRY) : address === dr ? decodeOne(l, DEPLOYMENT_REGISTRY) : undefined;
    if (!e) continue;
    const last = events[events.length - 1];
    if (last && (last.blockNumber! > e.blockNumber! || (last.blockNumber === e.blockNumber && last.logIndex > e.logIndex))) sorted = false;
    events.push(e);
  }
  // Nodes answer in chain order already; sort only when one did not.
  return sorted ? events : events.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber! < b.blockNumber! ? -1 : 1));
}
