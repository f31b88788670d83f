import { describe, expect, it } from "vitest";
import { backoffDelayMs, decideOnExit, KUBERNETES_BACKOFF, shouldRestart } from "../../src/agent/restartPolicy";

const ok = { code: 0, signal: null };
const bad = { code: 3, signal: null };
const killed = { code: null, signal: "SIGKILL" };

describe("restart policy (Kubernetes semantics)", () => {
  it("Always / OnFailure / Never", () => {
    expect([shouldRestart("Always", ok), shouldRestart("Always", bad)]).toEqual([true, true]);
    expect([shouldRestart("OnFailure", ok), shouldRestart("OnFailure", bad), shouldRestart("OnFailure", killed)]).toEqual([false, true, true]);
    expect([shouldRestart("Never", ok), shouldRestart("Never", bad)]).toEqual([false, false]);
  });

  it("backoff doubles from 10 s and caps at 5 min", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, KUBERNETES_BACKOFF))).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    expect(backoffDelayMs(1000, KUBERNETES_BACKOFF)).toBe(300_000);
  });

  it("decides per kind and policy", () => {
    const backoff = { baseMs: 100, capMs: 1000, resetAfterMs: 10_000 };
    expect(decideOnExit({ kind: "service", policy: "Always", exit: ok, restarts: 2, ranForMs: 5, backoff })).toEqual({
      action: "restart",
      delayMs: 400,
      localStatus: "CrashLoopBackOff",
    });
    expect(decideOnExit({ kind: "service", policy: "Always", exit: ok, restarts: 2, ranForMs: 20_000, backoff })).toMatchObject({ delayMs: 100 });
    expect(decideOnExit({ kind: "service", policy: "Never", exit: ok, restarts: 0, ranForMs: 5, backoff })).toEqual({
      action: "none",
      localStatus: "Completed",
    });
    expect(decideOnExit({ kind: "service", policy: "OnFailure", exit: bad, restarts: 0, ranForMs: 5, backoff }).action).toBe("restart");
    expect(decideOnExit({ kind: "service", policy: "Never", exit: bad, restarts: 0, ranForMs: 5, backoff })).toMatchObject({
      action: "attest",
      status: "Failed",
    });
    expect(decideOnExit({ kind: "job", policy: "Always", exit: ok, restarts: 0, ranForMs: 5, backoff })).toMatchObject({
      action: "attest",
      status: "Completed",
    });
    expect(decideOnExit({ kind: "job", policy: "OnFailure", exit: killed, restarts: 0, ranForMs: 5, backoff })).toMatchObject({
      action: "attest",
      status: "Failed",
    });
  });
});
