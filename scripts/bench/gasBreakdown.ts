/**
 * Where a transaction's gas goes, from its receipt, its input and a `debug_traceTransaction`
 * struct-log trace: the 21,000 intrinsic cost, calldata (EIP-2028: 16 per non-zero byte, 4 per
 * zero byte), and the execution split by what the opcodes did. Pure: the caller fetches the data.
 */
import { hexToBytes, type Hex } from "viem";

/** One step of a struct-log trace (the fields this module reads). */
export interface StructLog {
  depth: number;
  op: string;
  gas: number;
  gasCost: number;
}

/** Execution gas by kind of work. */
export interface ExecutionGas {
  /** SSTORE (new slots 22,100 cold; changes 5,000 cold / 2,900 warm; rewrites 100). */
  storageWrites: number;
  /** SLOAD (2,100 cold, 100 warm). */
  storageReads: number;
  /** LOG0..LOG4 (events). */
  logs: number;
  /** Precompile calls: ecrecover (3,000) and the call itself. */
  precompiles: number;
  /** Calls into other contracts, the call's own cost only (2,600 cold account, 100 warm). */
  contractCalls: number;
  /** KECCAK256 (hashing: mapping slots, EIP-712 digests). */
  hashing: number;
  /** Everything else: ABI decoding, arithmetic, memory, jumps, transient storage. */
  other: number;
}

export interface TxGas {
  /** Receipt gasUsed. */
  gasUsed: number;
  intrinsic: number;
  calldata: number;
  /** Sum of the execution kinds (before any refund). */
  execution: number;
  /** Storage-clearing refund: intrinsic + calldata + execution - gasUsed. */
  refund: number;
  byKind: ExecutionGas;
}

export const INTRINSIC_GAS = 21_000;

/**
 * EIP-2028 calldata cost of a transaction input.
 * @example calldataGas("0x00ff") // 20
 */
export function calldataGas(input: Hex): number {
  let gas = 0;
  for (const b of hexToBytes(input)) gas += b === 0 ? 4 : 16;
  return gas;
}

function emptyExecutionGas(): ExecutionGas {
  return { storageWrites: 0, storageReads: 0, logs: 0, precompiles: 0, contractCalls: 0, hashing: 0, other: 0 };
}

const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);

/**
 * Exclusive gas per step: a call that entered a contract costs its gasCost minus what it
 * forwarded (the child's first step's gas); a call that did not (a precompile, an account with no
 * code) costs the gas it took before the next step at its depth; every other step its gasCost.
 */
function stepCost(logs: StructLog[], i: number): { kind: keyof ExecutionGas; gas: number } {
  const s = logs[i];
  const next = logs[i + 1];
  if (CALLS.has(s.op)) {
    if (next && next.depth === s.depth + 1) return { kind: "contractCalls", gas: s.gasCost - next.gas };
    return { kind: "precompiles", gas: next ? s.gas - next.gas : s.gasCost };
  }
  if (s.op === "SSTORE") return { kind: "storageWrites", gas: s.gasCost };
  if (s.op === "SLOAD") return { kind: "storageReads", gas: s.gasCost };
  if (s.op.startsWith("LOG")) return { kind: "logs", gas: s.gasCost };
  if (s.op === "KECCAK256" || s.op === "SHA3") return { kind: "hashing", gas: s.gasCost };
  return { kind: "other", gas: s.gasCost };
}

/**
 * Splits one transaction's gas.
 * @example breakdownTx({ gasUsed: 46242, input: "0x095e...", structLogs }).byKind.storageWrites // 22100
 */
export function breakdownTx(tx: { gasUsed: number; input: Hex; structLogs: StructLog[] }): TxGas {
  const byKind = emptyExecutionGas();
  for (let i = 0; i < tx.structLogs.length; i++) {
    const { kind, gas } = stepCost(tx.structLogs, i);
    byKind[kind] += gas;
  }
  const execution = Object.values(byKind).reduce((a, b) => a + b, 0);
  const calldata = calldataGas(tx.input);
  return { gasUsed: tx.gasUsed, intrinsic: INTRINSIC_GAS, calldata, execution, refund: INTRINSIC_GAS + calldata + execution - tx.gasUsed, byKind };
}

/** Adds up several transactions' breakdowns (a lifecycle). */
export function sumTxGas(list: TxGas[]): TxGas {
  const total: TxGas = { gasUsed: 0, intrinsic: 0, calldata: 0, execution: 0, refund: 0, byKind: emptyExecutionGas() };
  for (const t of list) {
    total.gasUsed += t.gasUsed;
    total.intrinsic += t.intrinsic;
    total.calldata += t.calldata;
    total.execution += t.execution;
    total.refund += t.refund;
    for (const k of Object.keys(t.byKind) as (keyof ExecutionGas)[]) total.byKind[k] += t.byKind[k];
  }
  return total;
}
