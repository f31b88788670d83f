/**
 * The error tree's root: HyphaError keeps shortMessage, details and cause, and walk() follows the
 * cause chain (viem's BaseError); InputError is the one "field: reason" shape every part uses.
 */
import { describe, expect, it } from "vitest";
import { AgentError } from "../src/agent/errors";
import { IntentError } from "../src/chain/intentBuilder";
import { ChainError, ChainUnavailableError } from "../src/chain/chainError";
import { HyphaError, InputError } from "../src/errors";
import { WatcherConfigError } from "../src/watcher/errors";

describe("HyphaError.walk", () => {
  const network = new Error("ECONNREFUSED");
  const unavailable = new ChainUnavailableError("cannot reach the chain", { cause: network });
  const wrapper = new ChainError("submitting: cannot reach the chain", { cause: unavailable });

  it("finds the first error in the cause chain that matches", () => {
    expect(wrapper.walk((e) => e instanceof ChainUnavailableError)).toBe(unavailable);
    expect(wrapper.walk((e) => e === network)).toBe(network);
    expect(wrapper.walk((e) => e instanceof InputError)).toBeNull();
  });

  it("without a predicate, returns the deepest cause (itself when it has none)", () => {
    expect(wrapper.walk()).toBe(network);
    const alone = new HyphaError("alone");
    expect(alone.walk()).toBe(alone);
  });

  it("stops on a cycle", () => {
    const a = new HyphaError("a");
    const b = new HyphaError("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(a.walk((e) => e === "never")).toBeNull();
  });
});

describe("InputError", () => {
  it("names the field and the reason, with each part's label", () => {
    expect(new InputError("replicas", "must be at least 1").shortMessage).toBe("replicas: must be at least 1");
    const cases: Array<[InputError, string]> = [
      [new IntentError("quorum", "more than replicas"), "intent field quorum: more than replicas"],
      [new WatcherConfigError("rpcUrl", "not a URL"), "watcher config rpcUrl: not a URL"],
      [new AgentError("listen", "127.0.0.1:1: EADDRINUSE"), "listen: 127.0.0.1:1: EADDRINUSE"],
    ];
    for (const [err, message] of cases) {
      expect(err).toBeInstanceOf(InputError);
      expect(err.shortMessage).toBe(message);
      expect(message.endsWith(`${err.field}: ${err.reason}`)).toBe(true);
    }
  });
});
