/**
 * Parses the amounts people type on the command line: token amounts ("10", "0.5", "1500wei"),
 * CPU ("500m", "2") and sizes ("512Mi", "4Gi", or a plain number of MiB), each with an error
 * naming the flag.
 */
import { formatUnits, parseUnits } from "viem";
import { HyphaError } from "../errors";
import { byteQuantityToBytes, cpuQuantityToMillis } from "../spec/quantity";

const U96 = 2n ** 96n - 1n;

/**
 * Token amount in wei: decimal HYPHA (18 decimals) or an integer with a `wei` suffix.
 * @example parseTokenAmount("--budget", "1.5") // 1500000000000000000n
 */
export function parseTokenAmount(flag: string, text: string, max = U96): bigint {
  const t = String(text).trim();
  let wei: bigint;
  if (/^\d+wei$/.test(t)) wei = BigInt(t.slice(0, -3));
  else if (/^\d+(\.\d{1,18})?$/.test(t)) wei = parseUnits(t, 18);
  else throw new HyphaError(`${flag}: not a token amount: ${JSON.stringify(text)} (use e.g. 10, 0.5 or 1500wei)`);
  if (wei > max) throw new HyphaError(`${flag}: ${t} is too large (at most ${formatUnits(max, 18)} HYPHA)`);
  return wei;
}

/** @example formatTokens(1500000000000000000n) // "1.5 HYPHA" */
export function formatTokens(wei: bigint): string {
  return `${formatUnits(wei, 18)} HYPHA`;
}

/**
 * CPU in millicores from a Kubernetes quantity.
 * @example parseCpu("--cpu", "1.5") // 1500
 */
export function parseCpu(flag: string, text: string): number {
  const r = cpuQuantityToMillis(String(text));
  if (!r.ok) throw new HyphaError(`${flag}: ${r.reason}`);
  if (r.value < 1n || r.value > 0xffffffffn) throw new HyphaError(`${flag}: must be from 1m to ${0xffffffff}m, got ${text}`);
  return Number(r.value);
}

/**
 * Size in MiB from a quantity ("4Gi") or a bare number meaning MiB ("4096"), rounded up.
 * @example parseMiB("--mem", "4Gi") // 4096
 */
export function parseMiB(flag: string, text: string): number {
  const t = String(text).trim();
  let mib: bigint;
  if (/^\d+$/.test(t)) mib = BigInt(t);
  else {
    const r = byteQuantityToBytes(t);
    if (!r.ok) throw new HyphaError(`${flag}: ${r.reason}`);
    mib = (r.value + 1048575n) / 1048576n;
  }
  if (mib < 1n || mib > 0xffffffffn) throw new HyphaError(`${flag}: must be from 1Mi to ${0xffffffff}Mi, got ${text}`);
  return Number(mib);
}

/**
 * A whole number within bounds.
 * @example parseIntIn("--replicas", "3", 1, 1000) // 3
 */
export function parseIntIn(flag: string, text: string, min: number, max: number): number {
  const t = String(text).trim();
  if (!/^\d+$/.test(t)) throw new HyphaError(`${flag}: must be a whole number, got ${JSON.stringify(text)}`);
  const n = Number(t);
  if (n < min || n > max) throw new HyphaError(`${flag}: must be from ${min} to ${max}, got ${n}`);
  return n;
}

/**
 * A 0x-prefixed 32-byte value.
 * @example parseBytes32("--measurement", "0x" + "00".repeat(32))
 */
export function parseBytes32(flag: string, text: string): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new HyphaError(`${flag}: must be 0x followed by 64 hex digits, got ${text}`);
  return text.toLowerCase() as `0x${string}`;
}
