/**
 * The API's HTTP status for an error, decided here from the error's class (core errors carry no
 * HTTP concerns): bad input 400, an unknown deployment or node 404, a duplicate 409, a contract
 * refusal 422, anything else (the chain, the store or this server failing) 502.
 */
import { ChainError, ChainRefusedError, ChainUnavailableError } from "../chain/chainError";
import { InputError } from "../errors";
import { ImageError } from "../image/imageError";
import { AlreadySubmittedError } from "./relayIntent";

/** Contract errors that mean "no such thing". */
const NOT_FOUND_ERRORS = new Set(["UnknownDeployment", "UnknownNode"]);

/**
 * @example httpStatusOf(new InputError("limit", "must be an integer from 1 to 1000, got 0")) // 400
 */
export function httpStatusOf(err: unknown): number {
  if (err instanceof AlreadySubmittedError) return 409;
  if (err instanceof InputError) return 400;
  if (err instanceof ImageError && err.code === "BAD_INPUT") return 400;
  if (err instanceof ChainRefusedError) {
    if (err.errorName === "AlreadySubmitted") return 409;
    return err.errorName && NOT_FOUND_ERRORS.has(err.errorName) ? 404 : 422;
  }
  // A plain ChainError wraps another error met on the way: its cause decides.
  if (err instanceof ChainError && !(err instanceof ChainUnavailableError) && err.cause !== undefined) return httpStatusOf(err.cause);
  return 502;
}
