// The watcher's node prober against real HTTP endpoints: a node not heard from since the watcher
// started is NotReady (takes no new replica) until it answers, while lost() still waits the whole
// window before calling it lost; with probing off (lostAfterMs 0) no node is held back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeProber } from "../../../src/watcher/liveness/nodeProber";
import { freePort } from "../../helpers/chain";
import { startHealthServer } from "../helpers/hyphaFixture";

let live: Awaited<ReturnType<typeof startHealthServer>>;
let deadUrl: string;

beforeAll(async () => {
  live = await startHealthServer();
  deadUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens there
});
afterAll(async () => {
  await live?.close();
});

describe("NodeProber", () => {
  it("a node never heard from is NotReady (no new replica), not lost before the window; it is ready once it answers", async () => {
    let now = 1_000_000;
    const prober = new NodeProber(
      () => [
        { nodeId: 1, endpoint: live.url },
        { nodeId: 2, endpoint: deadUrl },
      ],
      { intervalMs: 1000, lostAfterMs: 5000, now: () => now },
    );
    expect(prober.conditions()).toEqual(
      new Map([
        [1, ["NotReady"]],
        [2, ["NotReady"]],
      ]),
    );
    await prober.probeAll();
    expect(prober.conditions()).toEqual(new Map([[2, ["NotReady"]]]));
    expect([...prober.lost()]).toEqual([]);
    now += 6000;
    await prober.probeAll();
    expect([...prober.lost()]).toEqual([2]);
    expect(prober.conditions()).toEqual(new Map([[2, ["NotReady"]]]));
  });

  it("with probing off (lostAfterMs 0) no node is NotReady", async () => {
    const prober = new NodeProber(() => [{ nodeId: 2, endpoint: deadUrl }], { intervalMs: 1000, lostAfterMs: 0 });
    expect(prober.conditions()).toEqual(new Map());
  });
});
