/**
 * JSON encoding for stored records that keeps bigints exact (LevelDB stores strings). A bigint
 * becomes {"$n":"123"}; nothing else is changed.
 */

/**
 * Encode a record to JSON, bigints included.
 * @example encodeRecord({ price: 5n }) // '{"price":{"$n":"5"}}'
 */
export function encodeRecord(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? { $n: v.toString() } : v));
}

/**
 * Decode a record written by encodeRecord.
 * @example decodeRecord('{"price":{"$n":"5"}}') // { price: 5n }
 */
export function decodeRecord<T = unknown>(text: string): T {
  return JSON.parse(text, (_k, v) => {
    if (v && typeof v === "object" && !Array.isArray(v) && typeof v.$n === "string" && Object.keys(v).length === 1) return BigInt(v.$n);
    return v;
  }) as T;
}
