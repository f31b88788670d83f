/**
 * Zod building blocks shared by the manifest forms: typed fields with messages that say what was
 * expected and what was found, exact quantity fields, and conversion of zod issues to SpecIssues.
 */
import { z } from "zod";
import { NumericLiteral } from "./yamlDocuments";
import { byteQuantityToBytes, cpuQuantityToMillis } from "./quantity";
import { formatPath, joinPath, type SpecIssue } from "./specError";
import { LIMITS } from "./limits";
import { ENV_NAME_RE, NAME_RE, PORT_NAME_RE, labelKeyProblem, labelValueProblem, outputPathProblem } from "./workloadSpec";

/** Short description of a YAML value for error messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (v instanceof NumericLiteral) return `the number ${v.source}`;
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${String(v)}`;
}

type Ctx = { issues: { push(issue: unknown): void } };
function fail(ctx: Ctx, input: unknown, message: string): typeof z.NEVER {
  ctx.issues.push({ code: "custom", message, input });
  return z.NEVER;
}

/** A required string. */
export function str(expected = "a string") {
  return z.string({
    error: (iss) => (iss.input === undefined ? `is required (${expected})` : `must be ${expected}, got ${describeValue(iss.input)}`),
  });
}

/** A required non-empty string without whitespace (image references). */
export const imageRef = str("an image reference").check(
  z.refine((s) => s.length > 0 && !/\s/.test(s), { message: "must be a non-empty image reference without spaces" }),
);

/** A DNS-1123 name (lowercase letters, digits, '-', '.'). */
export const dnsName = str("a name").check(
  z.refine((s) => NAME_RE.test(s), {
    message: "must be a DNS-1123 name: lowercase letters, digits, '-' or '.', starting and ending alphanumeric, at most 253 characters",
  }),
);

/** An integer written as a YAML number (not a string, not 3.0). */
export function integer(min: number, max: number, why = "") {
  return z.unknown().transform((v, ctx) => {
    if (v === undefined) return fail(ctx, v, `is required (an integer ${min}..${max})`);
    if (!(v instanceof NumericLiteral)) return fail(ctx, v, `must be an integer, got ${describeValue(v)}`);
    if (!/^[+-]?\d+$/.test(v.source)) return fail(ctx, v, `must be a plain integer, got ${v.source}`);
    const n = Number(v.source);
    if (n < min) return fail(ctx, v, `must be at least ${min}, got ${v.source}`);
    if (n > max) return fail(ctx, v, `must be at most ${max}${why ? ` (${why})` : ""}, got ${v.source}`);
    return n;
  });
}

/** A CPU quantity -> millicores. */
export const cpuField = z.unknown().transform((v, ctx) => {
  const text = quantityText(v);
  if (text === undefined) return fail(ctx, v, `must be a CPU quantity like 500m or 0.5, got ${describeValue(v)}`);
  const r = cpuQuantityToMillis(text);
  if (!r.ok) return fail(ctx, v, r.reason);
  if (r.value < 1n) return fail(ctx, v, "must be at least 1m");
  if (r.value > BigInt(LIMITS.maxCpuMillis)) return fail(ctx, v, `must be at most ${LIMITS.maxCpuMillis}m (uint32 millicores)`);
  return Number(r.value);
});

/** A byte quantity (memory, ephemeral-storage) -> bytes. */
export const bytesField = z.unknown().transform((v, ctx) => {
  const text = quantityText(v);
  if (text === undefined) return fail(ctx, v, `must be a quantity like 128Mi or 1Gi, got ${describeValue(v)}`);
  const r = byteQuantityToBytes(text);
  if (!r.ok) return fail(ctx, v, r.reason);
  if (r.value < 1n) return fail(ctx, v, "must be more than 0 bytes");
  if (r.value > BigInt(LIMITS.maxBytes)) return fail(ctx, v, "must be below 4096Ti (uint32 MiB)");
  return Number(r.value);
});

function quantityText(v: unknown): string | undefined {
  if (v instanceof NumericLiteral) return v.source;
  if (typeof v === "string") return v.trim();
  return undefined;
}

/** A list of strings (command, args). */
export const stringList = z.array(str(), { error: (iss) => `must be a list of strings, got ${describeValue(iss.input)}` });

/**
 * A mapping of string -> string read from the raw object's own keys (zod's record would let a
 * `__proto__` key vanish silently), each key checked by `keyProblem`.
 */
export function stringMap(keyProblem: (key: string) => string | undefined, valueProblem: (value: string) => string | undefined = () => undefined) {
  return z.unknown().transform((v, ctx): Record<string, string> => {
    if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof NumericLiteral) {
      ctx.issues.push({ code: "custom", input: v, message: `must be a mapping, got ${describeValue(v)}` });
      return z.NEVER;
    }
    const entries: [string, string][] = [];
    for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
      if (typeof value !== "string") {
        ctx.issues.push({ code: "custom", input: value, path: [key], message: `must be a string (quote numbers and booleans), got ${describeValue(value)}` });
        continue;
      }
      const problem = keyProblem(key) ?? valueProblem(value);
      if (problem) ctx.issues.push({ code: "custom", input: value, path: [key], message: problem });
      entries.push([key, value]);
    }
    return Object.fromEntries(entries);
  });
}

/** A mapping of label key -> value, checked by Kubernetes rules. */
export const labelMap = stringMap(labelKeyProblem, labelValueProblem);

/** Why an environment variable name is invalid, or undefined. */
export function envNameProblem(name: string): string | undefined {
  if (!ENV_NAME_RE.test(name)) return `"${name}" is not a valid environment variable name ([-._a-zA-Z][-._a-zA-Z0-9]*)`;
  if (name === "__proto__") return `"${name}" is a reserved name`;
  return undefined;
}

export const envName = str("an environment variable name").check(
  z.superRefine((s, ctx) => {
    const problem = envNameProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem, input: s });
  }),
);

export const portName = str("a port name").check(z.refine((s) => PORT_NAME_RE.test(s), { message: "must be 1-15 lowercase letters, digits or '-'" }));

export const protocol = z.enum(["TCP", "UDP", "SCTP"], { error: (iss) => `must be TCP, UDP or SCTP, got ${describeValue(iss.input)}` });

export const restartPolicy = z.enum(["Always", "OnFailure", "Never"], {
  error: (iss) => `must be Always, OnFailure or Never, got ${describeValue(iss.input)}`,
});

/** An absolute file path a job writes as output. */
export const outputPath = str("an absolute path").check(
  z.superRefine((s, ctx) => {
    const problem = outputPathProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem, input: s });
  }),
);

/**
 * Zod accepts any object as a mapping, including our NumericLiteral wrapper; unwrap numbers first
 * so `metadata: 3` is "must be a mapping, got number 3", not a silently empty mapping.
 */
export function notNumber<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v instanceof NumericLiteral ? v.value : v), schema);
}

/** A strict mapping: unknown keys are errors ("not supported by Hypha"). */
export function strictMapping<T extends z.core.$ZodLooseShape>(shape: T) {
  return notNumber(
    z.strictObject(shape, { error: (iss) => (iss.code === "unrecognized_keys" ? undefined : `must be a mapping, got ${describeValue(iss.input)}`) }),
  );
}

/** A lenient mapping: unknown keys are ignored (metadata). */
export function looseMapping<T extends z.core.$ZodLooseShape>(shape: T) {
  return notNumber(z.object(shape, { error: (iss) => `must be a mapping, got ${describeValue(iss.input)}` }));
}

/** Converts zod issues to SpecIssues under `basePath` (unknown keys become one issue per key). */
export function zodToSpecIssues(error: z.ZodError, document: number, basePath = ""): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const issue of error.issues) {
    const path = joinPath(basePath, formatPath(issue.path));
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ document, path: joinPath(path, key), message: "unknown or unsupported field (Hypha does not implement it)" });
    } else if (issue.code === "invalid_union") {
      out.push({ document, path, message: issue.message });
    } else {
      out.push({ document, path, message: issue.message });
    }
  }
  return out;
}
