// Bad watcher config: a clear error naming the field, and nothing started or written.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { devPrivateKey } from "../../src/chain/devAccounts";
import { resolveWatcherConfig, type WatcherConfig, type WatcherAddresses } from "../../src/watcher/config";
import { InputError } from "../../src/errors";
import { WatcherConfigError } from "../../src/watcher/errors";
import { runWatcher } from "../../src/watcher/runWatcher";

const addresses: WatcherAddresses = {
  nodeRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  deploymentRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
};
const good: WatcherConfig & { addresses: WatcherAddresses } = { rpcUrl: "http://127.0.0.1:8545", addresses, senderPrivateKeys: [devPrivateKey(1)] };

describe("resolveWatcherConfig", () => {
  it("fills in defaults (poll interval well under viem's 4 s)", () => {
    const c = resolveWatcherConfig(good);
    expect(c.pollIntervalMs).toBeLessThanOrEqual(250);
    expect(c.dataDir).toBe(".hypha/watcher");
    expect(c.nodeLostAfterMs).toBe(5000);
    expect(c.addresses.startBlock).toBe(0n);
    expect(c.leaderLeaseMs).toBe(5000);
  });

  it.each<[string, Partial<WatcherConfig>, string]>([
    ["rpcUrl", { rpcUrl: "not a url" }, "rpcUrl"],
    ["rpcUrl protocol", { rpcUrl: "ftp://x" }, "rpcUrl"],
    ["nodeRegistry", { addresses: { ...addresses, nodeRegistry: "0x12" as never } }, "addresses.nodeRegistry"],
    ["no senders", { senderPrivateKeys: [] }, "senderPrivateKeys"],
    ["short key", { senderPrivateKeys: ["0x1234"] }, "senderPrivateKeys[0]"],
    ["duplicate key", { senderPrivateKeys: [devPrivateKey(1), devPrivateKey(1)] }, "senderPrivateKeys"],
    ["poll interval", { pollIntervalMs: 0 }, "pollIntervalMs"],
    ["negative lost timeout", { nodeLostAfterMs: -1 }, "nodeLostAfterMs"],
    ["port", { statusPort: 70000 }, "statusPort"],
    ["range", { maxBlockRange: 10, initialBlockRange: 20 }, "initialBlockRange"],
    ["lease too short to renew", { leaderLeaseMs: 299 }, "leaderLeaseMs"],
  ])("rejects a bad %s naming the field", (_name, patch, field) => {
    let err: unknown;
    try {
      resolveWatcherConfig({ ...good, ...patch } as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WatcherConfigError);
    expect((err as WatcherConfigError).field).toBe(field);
    expect((err as WatcherConfigError).shortMessage).toMatch(new RegExp(`^watcher config ${field.replace(/[[\]]/g, "\\$&")}: `));
    expect(err).toBeInstanceOf(InputError);
    expect((err as WatcherConfigError).reason).not.toBe("");
  });

  it("runWatcher with a bad config creates no data dir", async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), "hypha-badcfg-"));
    const dataDir = path.join(tmp, "w");
    await expect(runWatcher({ ...good, rpcUrl: "http://127.0.0.1:1", senderPrivateKeys: ["0xnope"] as never, dataDir })).rejects.toThrow(
      /senderPrivateKeys\[0\]/,
    );
    expect(existsSync(dataDir)).toBe(false);
    await rm(tmp, { recursive: true, force: true });
  });
});
