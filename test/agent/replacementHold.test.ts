// When a re-placed replica may start (pure): a first placement at once; a re-placement only once
// the previous node's lease (plus its monitor's check interval) has surely lapsed, unless the
// node ran this attempt or the previous one; nothing held with fencing off. Checked against the lease's
// own bound: the hold is never shorter than the longest a read made before the re-placement can
// keep the old node's lease alive.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { replacementHoldMs, replacementStartAt } from "../../src/agent/replacementHold";

describe("replacementStartAt", () => {
  it("first placements start at once; re-placements wait out the lease", () => {
    expect(replacementStartAt({ attempt: 1, firstSeenMs: 1000, holdMs: 2700, ranHere: false })).toBe(1000);
    expect(replacementStartAt({ attempt: 2, firstSeenMs: 1000, holdMs: 2700, ranHere: false })).toBe(3700);
    expect(replacementStartAt({ attempt: 3, firstSeenMs: 1000, holdMs: 2700, ranHere: true })).toBe(1000);
    expect(replacementStartAt({ attempt: 2, firstSeenMs: 1000, holdMs: replacementHoldMs(0), ranHere: false })).toBe(1000);
    expect(replacementHoldMs(2500)).toBe(2700);
  });

  it("the old copy is gone before the new one starts, for any read timing (property)", () => {
    // The old node's last renewing read began at `readStart` <= the moment the re-placement was
    // mined (a read that began later sees it and stops the copy); its lease then runs to
    // readStart + leaseMs and its monitor kills within monitorMs after. This node sees the
    // re-placement no earlier than it was mined.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60_000 }), // leaseMs
        fc.integer({ min: 1, max: 1_000 }), // monitor interval
        fc.integer({ min: 0, max: 10_000 }), // mined at
        fc.integer({ min: 0, max: 10_000 }), // how long before the mining the old read began
        fc.integer({ min: 0, max: 10_000 }), // how long after the mining this node saw it
        fc.integer({ min: 2, max: 10 }), // attempt
        (leaseMs, monitorMs, minedAt, readEarlier, seenLater, attempt) => {
          const oldGoneBy = minedAt - readEarlier + leaseMs + monitorMs;
          const startAt = replacementStartAt({
            attempt,
            firstSeenMs: minedAt + seenLater,
            holdMs: replacementHoldMs(leaseMs, monitorMs),
            ranHere: false,
          });
          return startAt >= oldGoneBy;
        },
      ),
    );
  });
});
