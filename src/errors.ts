/**
 * The root of Hypha's error tree. Every error a user can see carries a one-line `shortMessage`
 * that names the field or thing and the reason, optional `details`, and the `cause` it wraps, so
 * the CLI prints one clean line and logs keep the chain. Each part defines its own subclasses
 * (SpecError in spec/, ImageError in image/, ChainError in chain/, ...); this file is a leaf that
 * every part may import.
 */
export interface HyphaErrorOptions {
  details?: string;
  cause?: unknown;
  /** CLI exit code: 1 bad input (default), 2 chain or network failure, 3 the deployment waited for ended otherwise (failed, deleted, out of budget). */
  exitCode?: 1 | 2 | 3;
}

export class HyphaError extends Error {
  override name = "HyphaError";
  readonly shortMessage: string;
  readonly details?: string;
  readonly exitCode: 1 | 2 | 3;

  constructor(shortMessage: string, options: HyphaErrorOptions = {}) {
    super(options.details ? `${shortMessage}\n${options.details}` : shortMessage, { cause: options.cause });
    this.shortMessage = shortMessage;
    this.details = options.details;
    this.exitCode = options.exitCode ?? 1;
  }
}
