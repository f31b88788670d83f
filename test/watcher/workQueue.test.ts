/** WorkQueue: deduplicated, never the same key twice at once, nothing signalled during a pass lost. */
import { describe, expect, it } from "vitest";
import { WorkQueue } from "../../src/watcher/workQueue";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("WorkQueue", () => {
  it("runs one pass for many adds of a waiting key, and one more for adds during a pass", async () => {
    const passes: string[] = [];
    let active = 0;
    let maxActive = 0;
    let release: () => void = () => undefined;
    const q = new WorkQueue<string>(
      async (key) => {
        active++;
        maxActive = Math.max(maxActive, active);
        passes.push(key);
        if (passes.length === 1) await new Promise<void>((r) => (release = r));
        active--;
      },
      () => undefined,
    );
    q.add("a");
    q.add("a");
    await tick();
    expect(passes).toEqual(["a"]); // the first pass is still running
    q.add("a");
    q.add("a");
    q.add("b");
    expect(q.depth()).toBe(2); // "a" processing (and dirty again), "b" waiting
    release();
    for (let i = 0; i < 20 && q.depth() > 0; i++) await tick();
    expect(passes.sort()).toEqual(["a", "a", "b"]);
    expect(maxActive).toBe(1);
  });

  it("reports a failing pass and keeps working; after shutDown nothing more runs", async () => {
    const errors: unknown[] = [];
    const passes: number[] = [];
    const q = new WorkQueue<number>(
      async (key) => {
        passes.push(key);
        if (key === 1) throw new Error("boom");
      },
      (_key, err) => errors.push(err),
    );
    q.add(1);
    q.add(2);
    await q.shutDown();
    q.add(3);
    await tick();
    expect(passes).toEqual([1]); // shut down while 1 ran: 2 was dropped
    expect(String(errors[0])).toMatch(/boom/);
    const q2 = new WorkQueue<number>(
      async (key) => {
        passes.push(key);
        if (key === 1) throw new Error("boom");
      },
      (_key, err) => errors.push(err),
    );
    q2.add(1);
    q2.add(2);
    for (let i = 0; i < 20 && q2.depth() > 0; i++) await tick();
    expect(passes).toEqual([1, 1, 2]);
  });
});
