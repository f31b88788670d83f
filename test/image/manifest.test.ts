import { describe, expect, it } from "vitest";
import { cidForBytes } from "../../src/image/cid";
import { type Entry, type ImageManifest, decodeManifest, encodeManifest } from "../../src/image/manifest";
import { prefetchOrder } from "../../src/image/prefetchOrder";

const chunk = cidForBytes(Buffer.from("x")).toString();
const entries: Entry[] = [
  { path: "bin", type: "dir", mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: "bin/busybox", type: "file", mode: 0o755, uid: 0, gid: 0, size: 1, chunks: [chunk] },
  { path: "bin/sh", type: "symlink", mode: 0o777, uid: 0, gid: 0, size: 7, target: "busybox" },
  { path: "bin/sh2", type: "hardlink", mode: 0o755, uid: 0, gid: 0, size: 0, target: "bin/busybox" },
  { path: "etc", type: "dir", mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: "etc/motd", type: "file", mode: 0o644, uid: 0, gid: 0, size: 1, chunks: [chunk] },
];

describe("manifest encoding and validation", () => {
  it("entry order and key order do not change the bytes", () => {
    const shuffled = [...entries].reverse().map((e) => Object.fromEntries(Object.entries(e).reverse()) as unknown as Entry);
    expect(Buffer.from(encodeManifest({ version: 1, entries: shuffled })).toString()).toBe(Buffer.from(encodeManifest({ version: 1, entries })).toString());
    expect(decodeManifest(encodeManifest({ version: 1, entries })).entries).toEqual(entries);
  });

  const bad = (mutate: (m: ImageManifest) => void, pattern: RegExp) => {
    const m: ImageManifest = JSON.parse(JSON.stringify({ version: 1, entries }));
    mutate(m);
    expect(() => decodeManifest(Buffer.from(JSON.stringify(m)))).toThrow(pattern);
  };

  it("names the entry and the field of every defect", () => {
    bad((m) => ([m.entries[1], m.entries[2]] = [m.entries[2], m.entries[1]]), /entries\[2\]\.path: "bin\/busybox" is not after "bin\/sh"/);
    bad((m) => (m.entries[1].path = "bin/../etc/x"), /entries\[1\]\.path: .*"\.\." component/);
    bad((m) => (m.entries[1].path = "/bin/busybox"), /entries\[1\]\.path: .*is absolute/);
    bad((m) => m.entries.splice(0, 1), /parent "bin" of "bin\/busybox" is not a directory/);
    bad((m) => (m.entries[2].target = "../../../etc/shadow"), /entries\[2\]\.target: .*points outside the image root/);
    bad((m) => (m.entries[3].target = "etc/motdx"), /hardlink "bin\/sh2": target "etc\/motdx" is not a regular file/);
    bad((m) => (m.entries[1].chunks = ["bafy-nonsense"]), /entries\[1\]\.chunks\[0\]: not a valid CID/);
    bad((m) => (m.entries[1].mode = 0o170000), /entries\[1\]\.mode: .* beyond 0o7777/);
    bad((m) => ((m.entries[1] as unknown as Record<string, unknown>).mtime = 5), /entries\[1\]: unknown field "mtime"/);
    bad((m) => ((m as unknown as Record<string, unknown>).version = 2), /version: expected 1/);
    expect(() => decodeManifest(Buffer.from("{not json"))).toThrow(/manifest: not valid JSON/);
    const canonical = Buffer.from(encodeManifest({ version: 1, entries })).toString();
    expect(() => decodeManifest(Buffer.from(JSON.stringify(JSON.parse(canonical), null, 1)))).toThrow(/not in RFC 8785 \(JCS\) canonical form/);
    expect(() => decodeManifest(Buffer.from(canonical.replace('{"entries"', '{"version":1,"entries"')))).toThrow(/canonical form/); // duplicate key
    expect(() => decodeManifest(Buffer.alloc(100, 32), { maxBytes: 50 })).toThrow(/over the limit of 50 bytes/);
  });

  it("prefetch order: the entrypoint through its symlink, hardlink targets before links, the rest after", () => {
    const plan = prefetchOrder({ version: 1, entries }, ["/bin/sh", "/bin/sh2"]);
    expect(plan.first.map((e) => e.path)).toEqual(["bin/busybox", "bin/sh2"]);
    expect(plan.rest.map((e) => e.path)).toEqual(["etc/motd"]);
    expect(prefetchOrder({ version: 1, entries }, ["sh"]).first.map((e) => e.path)).toEqual(["bin/busybox"]); // bare name: PATH lookup
    expect(prefetchOrder({ version: 1, entries }, ["nope", "/no/such"]).first).toEqual([]);
    expect(prefetchOrder({ version: 1, entries }, undefined).first.map((e) => e.path)).toEqual(["bin/busybox", "etc/motd", "bin/sh2"]);
  });
});
