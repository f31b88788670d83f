/**
 * The CLI's exit code for an error, decided here from the error's class (core errors carry no
 * process concerns): 3 the deployment waited for ended otherwise, 2 something the command needs did
 * not answer (the chain, the store, a service `hypha up` started, an API's 5xx) or a wait timed out,
 * 1 anything else (bad input, a refusal, a failed audit).
 */
import { ChainError, ChainRefusedError, ChainUnavailableError } from "../chain/chainError";
import { ImageError } from "../image/imageError";
import { HyphaApiError } from "../sdk/apiClient";
import { DeploymentEndedError, WaitTimeoutError } from "./progress";
import { StoreAccessError } from "./storeAccess";
import { ServiceStartError } from "./up/supervisor";

/**
 * @example exitCodeOf(new ChainUnavailableError("cannot reach the chain at http://127.0.0.1:8545")) // 2
 */
export function exitCodeOf(err: unknown): 1 | 2 | 3 {
  if (err instanceof DeploymentEndedError) return 3;
  if (err instanceof ChainUnavailableError || err instanceof StoreAccessError || err instanceof ServiceStartError || err instanceof WaitTimeoutError) return 2;
  if (err instanceof ImageError) return err.code === "UNAVAILABLE" ? 2 : 1;
  if (err instanceof HyphaApiError) return err.status >= 500 ? 2 : 1;
  // A plain ChainError wraps another error met on the way: its cause decides.
  if (err instanceof ChainError && !(err instanceof ChainRefusedError) && err.cause !== undefined) return exitCodeOf(err.cause);
  return 1;
}
