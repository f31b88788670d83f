/**
 * JSON encoding for stored records that keeps bigints exact (LevelDB stores strings). A bigint
 * becomes {"$n":"123"}; nothing else is changed.
 */

/**
 * Encode a record to JSON, bigints included.
 * @example encodeRecord({ price: 5n }) // '{"price":{"$n":"5"}}'
 */
export function encodeRecord(value: unknown): string {
  // By hand rather than JSON.stringify with a replacer (which calls back for every key): a cold
  // start encodes every record it touches. The output is the same text, key for key.
  switch (typeof value) {
    case "bigint":
      return `{"$n":"${value}"}`;
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value))
        return `[${value.map((x) => (x === undefined || typeof x === "function" || typeof x === "symbol" ? "null" : encodeRecord(x))).join(",")}]`;
      if (typeof (value as { toJSON?: unknown }).toJSON === "function") return encodeRecord((value as { toJSON(): unknown }).toJSON());
      let out = "";
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        const x = (value as Record<string, unknown>)[key];
        if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
        out += `${out ? "," : ""}${JSON.stringify(key)}:${encodeRecord(x)}`;
      }
      return `{${out}}`;
    }
    default:
      return "null";
  }
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
