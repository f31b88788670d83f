/**
 * Errors the watcher raises: bad configuration (exit code 1) and chain/network trouble it could
 * not recover from (exit code 2). Each names the field or thing and the reason.
 */
import { HyphaError, type HyphaErrorOptions } from "../errors";

/** A watcher failure: bad config, or a chain/RPC problem that retries did not cure. */
export class WatcherError extends HyphaError {
  override name = "WatcherError";
  constructor(shortMessage: string, options: HyphaErrorOptions = {}) {
    super(shortMessage, options);
  }
}

/** The watcher's configuration names a field with a bad value. Nothing was started. */
export class WatcherConfigError extends WatcherError {
  override name = "WatcherConfigError";
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`watcher config ${field}: ${reason}`, { exitCode: 1 });
    this.field = field;
  }
}
