/**
 * Errors the watcher raises: bad configuration (an InputError naming the field) and trouble it
 * could not recover from (its data directory held by another process, ...). Each names the field
 * or thing and the reason.
 */
import { HyphaError, InputError, type HyphaErrorOptions } from "../errors";

/** A watcher failure: bad config, or a chain/RPC problem that retries did not cure. */
export class WatcherError extends HyphaError {
  override name = "WatcherError";
  constructor(shortMessage: string, options: HyphaErrorOptions = {}) {
    super(shortMessage, options);
  }
}

/** The watcher's configuration names a field with a bad value. Nothing was started. */
export class WatcherConfigError extends InputError {
  override name = "WatcherConfigError";
  constructor(field: string, reason: string) {
    super(field, reason, { label: "watcher config " });
  }
}
