/**
 * JSON forms of Hypha's values (pure): bigints as decimal strings (JSON has no 64- or 96-bit
 * integers), and typed data exactly as `eth_signTypedData_v4` takes it (with its EIP712Domain type).
 */
import { getTypesForEIP712Domain, type TypedDataDomain } from "viem";
import { hyphaTypes, type DeploymentIntent } from "../chain/eip712";

/** Replaces every bigint in a value by its decimal string. */
export function toWire<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

/** A DeploymentIntent as POST /v1/intents takes it: uint64/uint96 fields as decimal strings. */
export type WireIntent = { [K in keyof DeploymentIntent]: DeploymentIntent[K] extends bigint ? string : DeploymentIntent[K] };

/**
 * @example intentToWire(intent).budget // "10000000000000000000"
 */
export function intentToWire(intent: DeploymentIntent): WireIntent {
  return toWire(intent) as WireIntent;
}

/** Typed data as JSON-RPC wallets take it: the payload of eth_signTypedData_v4. */
export interface WalletTypedData {
  types: Record<string, { name: string; type: string }[]>;
  primaryType: string;
  domain: Record<string, unknown>;
  message: Record<string, unknown>;
}

/**
 * The eth_signTypedData_v4 payload of viem-style typed data: the EIP712Domain type added (from
 * the domain's fields), numbers as decimal strings.
 * @example await provider.request({ method: "eth_signTypedData_v4", params: [account, JSON.stringify(typedDataForWallet(p.typedData))] })
 */
export function typedDataForWallet(td: {
  domain: TypedDataDomain;
  types: Record<string, readonly { name: string; type: string }[]>;
  primaryType: string;
  message: object;
}): WalletTypedData {
  const types: WalletTypedData["types"] = { EIP712Domain: getTypesForEIP712Domain({ domain: td.domain }) };
  for (const [name, fields] of Object.entries(td.types)) if (name !== "EIP712Domain") types[name] = fields.map((f) => ({ name: f.name, type: f.type }));
  return toWire({ types, primaryType: td.primaryType, domain: td.domain, message: td.message }) as WalletTypedData;
}

/**
 * The intent back from its JSON form (as GET /v1/deployments/{id} answers it), for contract calls
 * such as scale and terminate that take the intent.
 * @example encodeFunctionData({ abi, functionName: "terminate", args: [intentFromWire(d.intent)] })
 */
export function intentFromWire(w: Record<string, unknown>): DeploymentIntent {
  // Field by field from the one EIP-712 definition: ints wider than 53 bits become bigint.
  const out: Record<string, unknown> = {};
  for (const { name, type } of hyphaTypes.DeploymentIntent) {
    const v = w[name];
    const bits = /^uint(\d+)$/.exec(type)?.[1];
    out[name] = bits === undefined ? v : Number(bits) > 53 ? BigInt(v as string) : Number(v);
  }
  return out as unknown as DeploymentIntent;
}
