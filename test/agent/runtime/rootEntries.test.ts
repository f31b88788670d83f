/**
 * The image tree's top-level entries, on the real file system: read as dir/file/symlink, reused
 * while the directory is unchanged and settled, read again once an entry appears, and never
 * cached while the directory is still changing (a lazily fetched tree).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRootEntriesCache, readRootEntries } from "../../../src/agent/runtime/rootEntries";

const tmp = mkdtempSync(path.join(os.tmpdir(), "hypha-root-entries-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tree = (name: string) => {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, "usr"), { recursive: true });
  writeFileSync(path.join(dir, "hello"), "x");
  symlinkSync("usr/bin", path.join(dir, "bin"));
  return dir;
};
const sorted = (e: { name: string }[]) => [...e].sort((a, b) => a.name.localeCompare(b.name));
const settle = (dir: string) => utimesSync(dir, new Date(Date.now() - 5_000), new Date(Date.now() - 5_000));

describe("root entries", () => {
  it("reads dirs, files and symlinks", async () => {
    expect(sorted(await readRootEntries(tree("plain")))).toEqual([
      { name: "bin", type: "symlink", target: "usr/bin" },
      { name: "hello", type: "file" },
      { name: "usr", type: "dir" },
    ]);
  });

  it("reuses a settled tree's listing until the directory changes", async () => {
    const dir = tree("settled");
    settle(dir);
    const cache = createRootEntriesCache();
    const first = await cache.read(dir);
    expect(await cache.read(dir)).toBe(first); // the same listing, not read again
    mkdirSync(path.join(dir, "etc")); // the directory's mtime moves
    const second = await cache.read(dir);
    expect(second).not.toBe(first);
    expect(second.map((e) => e.name)).toContain("etc");
  });

  it("does not cache a tree that just changed (it may still be gaining entries)", async () => {
    const dir = tree("fresh"); // mtime: now
    const cache = createRootEntriesCache();
    const first = await cache.read(dir);
    const again = await cache.read(dir);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
