/** The CLI's exit code comes from the error's class (no error carries an exit code of its own). */
import { describe, expect, it } from "vitest";
import { ChainError, ChainRefusedError, ChainUnavailableError } from "../../src/chain/chainError";
import { exitCodeOf } from "../../src/cli/exitCode";
import { DeploymentEndedError, WaitTimeoutError } from "../../src/cli/progress";
import { StoreAccessError } from "../../src/cli/storeAccess";
import { ServiceStartError } from "../../src/cli/up/supervisor";
import { HyphaError, InputError } from "../../src/errors";
import { ImageError } from "../../src/image/imageError";
import { HyphaApiError } from "../../src/sdk/apiClient";
import { SpecError } from "../../src/spec";

describe("exitCodeOf", () => {
  it.each<[string, unknown, 1 | 2 | 3]>([
    ["bad input", new InputError("replicas", "must be at least 1"), 1],
    ["a bad manifest", new SpecError([{ document: 0, path: "spec.replicas", message: "must be at most 255" }]), 1],
    ["a contract refusal", new ChainRefusedError("intent field replicas: more than 255", { errorName: "InvalidIntent" }), 1],
    ["an unreachable chain", new ChainUnavailableError("cannot reach the chain at http://127.0.0.1:1"), 2],
    ["a wrapper over an unreachable chain", new ChainError("submitting: x", { cause: new ChainUnavailableError("x") }), 2],
    ["a wrapper over bad input", new ChainError("submitting: x: y", { cause: new InputError("x", "y") }), 1],
    ["an unreachable store", new StoreAccessError("publishing the spec: cannot reach the store"), 2],
    ["no mirror answered", new ImageError("chunk x: no mirror answered", { code: "UNAVAILABLE" }), 2],
    ["a tampered chunk", new ImageError("chunk x is tampered", { code: "TAMPERED" }), 1],
    ["an API's 5xx", new HyphaApiError(502, "the chain did not answer"), 2],
    ["an API's 4xx", new HyphaApiError(400, "must be at least 1", "replicas"), 1],
    ["a service that did not start", new ServiceStartError("watcher exited while starting"), 2],
    ["a wait that timed out", new WaitTimeoutError("deployment x is still Requested after 60 s"), 2],
    ["a deployment that ended otherwise", new DeploymentEndedError("deployment x ended Failed"), 3],
    ["any other Hypha error", new HyphaError("something"), 1],
    ["a foreign error", new Error("boom"), 1],
  ])("%s -> %i", (_what, err, code) => {
    expect(exitCodeOf(err)).toBe(code);
  });
});
