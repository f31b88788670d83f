/**
 * Errors raised by the node agent: bad configuration or API input (AgentError, an InputError naming
 * the field), and failures of the runtime that launches workloads (RuntimeError).
 */
import { HyphaError, InputError } from "../errors";

/** Bad agent configuration or request input: `field` names what was wrong, `reason` why. */
export class AgentError extends InputError {
  override name = "AgentError";
}

/** A workload could not be launched or supervised (sandbox missing, cgroup failure, bad argv). */
export class RuntimeError extends HyphaError {
  override name = "RuntimeError";
}
