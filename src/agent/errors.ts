/**
 * Errors raised by the node agent: bad configuration or API input (AgentError, exit code 1),
 * and failures of the runtime that launches workloads (RuntimeError).
 */
import { HyphaError, type HyphaErrorOptions } from "../errors";

/** Bad agent configuration or request input. `field` names what was wrong. */
export class AgentError extends HyphaError {
  override name = "AgentError";
  readonly field?: string;
  constructor(shortMessage: string, options: HyphaErrorOptions & { field?: string } = {}) {
    super(shortMessage, options);
    this.field = options.field;
  }
}

/** A workload could not be launched or supervised (sandbox missing, cgroup failure, bad argv). */
export class RuntimeError extends HyphaError {
  override name = "RuntimeError";
}
