/**
 * Exact parsing of Kubernetes resource quantities (`500m`, `0.5`, `128Mi`, `1Gi`, `1G`, `1e3`)
 * with bigint arithmetic, never floating point, and conversion to CPU millicores and bytes.
 */

/** A quantity as an exact non-negative rational num/den. */
export interface Quantity {
  num: bigint;
  den: bigint;
}

export type QuantityResult = { ok: true; value: Quantity } | { ok: false; reason: string };

const BINARY_SUFFIX: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const QUANTITY_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE])([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;
const MAX_TEXT = 64;
const MAX_EXPONENT = 40;

/**
 * Parses a Kubernetes quantity exactly. Negative values are rejected (no resource can be negative).
 * @example parseQuantity("1.5Gi") // { ok: true, value: { num: 1610612736n, den: 1n } }
 */
export function parseQuantity(text: string): QuantityResult {
  if (text.length === 0) return { ok: false, reason: "is empty (expected a quantity like 500m, 0.5, 128Mi, 1Gi)" };
  if (text.length > MAX_TEXT) return { ok: false, reason: `is too long (${text.length} characters, max ${MAX_TEXT})` };
  const m = QUANTITY_RE.exec(text);
  if (!m) return { ok: false, reason: `"${text}" is not a quantity (expected e.g. 500m, 0.5, 128Mi, 1Gi, 1G, 1e3)` };
  const [, sign, digits, expMark, expDigits, suffix = ""] = m;
  if (sign === "-") return { ok: false, reason: `"${text}" is negative` };
  const [intPart, fracPart = ""] = digits.split(".");
  let num = BigInt((intPart || "0") + fracPart);
  let den = 10n ** BigInt(fracPart.length);
  if (expMark) {
    const exp = Number(expDigits);
    if (Math.abs(exp) > MAX_EXPONENT) return { ok: false, reason: `"${text}" has an exponent beyond ±${MAX_EXPONENT}` };
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  } else if (suffix in BINARY_SUFFIX) {
    num *= BINARY_SUFFIX[suffix];
  } else {
    const exp = DECIMAL_SUFFIX[suffix];
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  return { ok: true, value: reduce({ num, den }) };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function reduce(q: Quantity): Quantity {
  const g = gcd(q.num, q.den);
  return g === 0n ? { num: 0n, den: 1n } : { num: q.num / g, den: q.den / g };
}

/** The quantity times `scale`, if that is a whole number; otherwise undefined. */
export function quantityToWhole(q: Quantity, scale: bigint): bigint | undefined {
  const scaled = q.num * scale;
  return scaled % q.den === 0n ? scaled / q.den : undefined;
}

/**
 * CPU quantity -> millicores (exact). Finer than 1m is rejected rather than rounded.
 * @example cpuQuantityToMillis("0.5") // { ok: true, value: 500 }
 */
export function cpuQuantityToMillis(text: string): { ok: true; value: bigint } | { ok: false; reason: string } {
  const parsed = parseQuantity(text);
  if (!parsed.ok) return parsed;
  const millis = quantityToWhole(parsed.value, 1000n);
  if (millis === undefined) return { ok: false, reason: `"${text}" is finer than 1m (one millicore)` };
  return { ok: true, value: millis };
}

/**
 * Byte quantity (memory, ephemeral-storage) -> bytes (exact). Fractions of a byte are rejected.
 * @example byteQuantityToBytes("1Gi") // { ok: true, value: 1073741824n }
 */
export function byteQuantityToBytes(text: string): { ok: true; value: bigint } | { ok: false; reason: string } {
  const parsed = parseQuantity(text);
  if (!parsed.ok) return parsed;
  const bytes = quantityToWhole(parsed.value, 1n);
  if (bytes === undefined) return { ok: false, reason: `"${text}" is not a whole number of bytes` };
  return { ok: true, value: bytes };
}

/**
 * Shortest exact Kubernetes form of a byte count: `64Mi`, `1Gi`, `1500`.
 * @example formatBytes(67108864) // "64Mi"
 */
export function formatBytes(bytes: number): string {
  const b = BigInt(bytes);
  for (const suffix of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"]) {
    const unit = BINARY_SUFFIX[suffix];
    if (b > 0n && b % unit === 0n) return `${b / unit}${suffix}`;
  }
  return b.toString();
}

/**
 * Kubernetes form of a millicore count: `100m`, or `2` for whole cores.
 * @example formatMillis(2000) // "2"
 */
export function formatMillis(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}
