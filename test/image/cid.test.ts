import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { JSON_CODEC, bytes32ToRoot, cidForBytes, parseCid, rootToBytes32 } from "../../src/image/cid";
import { ImageError } from "../../src/image/imageError";

describe("cid", () => {
  it("matches the published CIDv1 raw sha256 of 'hello world'", () => {
    // Vector from the IPFS docs / `ipfs add --raw-leaves --cid-version 1`.
    expect(cidForBytes(Buffer.from("hello world")).toString()).toBe("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  });

  it("rootToBytes32 is the sha256 digest, and bytes32ToRoot inverts it", () => {
    const bytes = Buffer.from('{"entries":[],"version":1}');
    const root = cidForBytes(bytes, JSON_CODEC);
    const hex = rootToBytes32(root);
    expect(hex).toBe("0x" + createHash("sha256").update(bytes).digest("hex"));
    expect(bytes32ToRoot(hex).toString()).toBe(root.toString());
    // json codec 0x0200 = varint 0x80 0x04, base32 computed independently (Python base64.b32encode)
    expect(cidForBytes(Buffer.from("hello world"), JSON_CODEC).toString()).toBe("bagaaieraxfgspomtju7arjjokll5u7nl7lcij37dpjjyb3uqrd32zyxpzxuq");
  });

  it("rejects malformed roots with a clear error", () => {
    expect(() => bytes32ToRoot("0x1234")).toThrow(/imageRoot: expected 0x followed by 64 hex digits/);
    expect(() => parseCid("not-a-cid", "root")).toThrow(ImageError);
    expect(() => parseCid("not-a-cid", "root")).toThrow(/root: not a valid CID/);
    // CIDv0 (Qm...) is refused
    expect(() => parseCid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")).toThrow(/only CIDv1/);
  });
});
