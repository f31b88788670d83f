/**
 * Human units for HYPHA amounts (18 decimals), prices and resources (pure), for the console, the
 * CLI and anyone who shows a deployment to a person.
 */
import { formatUnits, parseUnits } from "viem";
import { HyphaError } from "../errors";

export const HYPHA_DECIMALS = 18;

/**
 * Token amount in wei from "10", "0.5" or "1500wei"; throws naming the field.
 * @example parseHypha("budget", "1.5") // 1500000000000000000n
 */
export function parseHypha(field: string, text: string): bigint {
  const t = String(text).trim();
  if (/^\d+wei$/.test(t)) return BigInt(t.slice(0, -3));
  if (/^\d+(\.\d{1,18})?$/.test(t)) return parseUnits(t, HYPHA_DECIMALS);
  throw new HyphaError(`${field}: not a token amount: ${JSON.stringify(text)} (use e.g. 10, 0.5 or 1500wei)`);
}

/**
 * Decimal HYPHA, cut to `maxDecimals` places; an amount that would show as 0 is shown exactly.
 * @example formatHypha(1500000000000000000n) // "1.5 HYPHA"; formatHypha(1000n) // "0.000000000000001 HYPHA"
 */
export function formatHypha(wei: bigint | string, maxDecimals = 6): string {
  const s = formatUnits(BigInt(wei), HYPHA_DECIMALS);
  const [whole, frac = ""] = s.split(".");
  const cut = frac.slice(0, maxDecimals).replace(/0+$/, "");
  const shown = cut ? `${whole}.${cut}` : whole;
  return `${shown === "0" && BigInt(wei) > 0n ? s : shown} HYPHA`;
}

/** @example formatCpu(1500) // "1.5 CPU" */
export function formatCpu(millis: number): string {
  return `${millis / 1000} CPU`;
}

/** @example formatMiB(2048) // "2 GiB" */
export function formatMiB(mib: number): string {
  if (mib >= 1024 && mib % 1024 === 0) return `${mib / 1024} GiB`;
  if (mib >= 1024) return `${(mib / 1024).toFixed(2)} GiB`;
  return `${mib} MiB`;
}
