/**
 * The root of Hypha's error tree (modelled on viem's BaseError). Every error a user can see carries
 * a one-line `shortMessage` that names the field or thing and the reason, optional `details`, and
 * the `cause` it wraps, so the CLI prints one clean line and logs keep the chain; `walk()` follows
 * that chain. Errors carry no process concerns: the CLI's exit code (src/cli/exitCode.ts) and the
 * API's HTTP status (src/api/httpStatus.ts) are decided there, from the error's class. Each part
 * defines its own subclasses (SpecError in spec/, ImageError in image/, ChainError in chain/, ...);
 * this file is a leaf that every part may import.
 */
export interface HyphaErrorOptions {
  details?: string;
  cause?: unknown;
}

export class HyphaError extends Error {
  override name = "HyphaError";
  readonly shortMessage: string;
  readonly details?: string;

  constructor(shortMessage: string, options: HyphaErrorOptions = {}) {
    super(options.details ? `${shortMessage}\n${options.details}` : shortMessage, { cause: options.cause });
    this.shortMessage = shortMessage;
    this.details = options.details;
  }

  /**
   * Follows the `cause` chain from this error: the first error for which `fn` is true (or null),
   * or without `fn` the deepest cause.
   * @example err.walk((e) => e instanceof ChainUnavailableError) // the network failure under a wrapper, or null
   */
  walk(fn?: (err: unknown) => boolean): unknown {
    return walk(this, fn);
  }
}

function walk(err: unknown, fn?: (err: unknown) => boolean): unknown {
  const seen = new Set<unknown>();
  let e: unknown = err;
  for (;;) {
    if (fn?.(e)) return e;
    seen.add(e);
    const next = (e as { cause?: unknown } | null)?.cause;
    if (next === undefined || next === null || seen.has(next)) return fn ? null : e;
    e = next;
  }
}

/**
 * Bad input: the field (a dotted path, a flag, a config key) and the reason. Whatever was asked was
 * not done; nothing changed. The one input-error type of every part: the CLI exits 1, the API answers 400.
 * @example throw new InputError("replicas", "must be at least 1, got 0") // "replicas: must be at least 1, got 0"
 */
export class InputError extends HyphaError {
  override name = "InputError";
  readonly field: string;
  readonly reason: string;

  /** `label` goes before the field in the message ("intent field ", "watcher config "). */
  constructor(field: string, reason: string, options: HyphaErrorOptions & { label?: string } = {}) {
    super(`${options.label ?? ""}${field}: ${reason}`, options);
    this.field = field;
    this.reason = reason;
  }
}
