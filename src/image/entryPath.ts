/**
 * Path safety for image entries: what a manifest, a tar or a directory may contain. An entry path is
 * relative and "/"-separated, with no empty, "." or ".." components, so that materializing an image
 * can never write outside its target directory.
 */
import { ImageError } from "./imageError";

const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

/**
 * Throws ImageError BAD_PATH unless `p` is a safe relative entry path.
 * @example checkEntryPath("usr/bin/env") // ok; checkEntryPath("../etc") // throws
 */
export function checkEntryPath(p: unknown): asserts p is string {
  const fail = (why: string): never => {
    throw new ImageError(`path ${JSON.stringify(String(p).slice(0, 200))}: ${why}`, { code: "BAD_PATH", path: String(p) });
  };
  if (typeof p !== "string" || p.length === 0) fail("must be a non-empty string");
  const s = p as string;
  if (s.includes("\0")) fail("contains a NUL byte");
  if (s.startsWith("/")) fail("is absolute");
  if (Buffer.byteLength(s) > MAX_PATH_BYTES) fail(`is longer than ${MAX_PATH_BYTES} bytes`);
  for (const part of s.split("/")) {
    if (part === "") fail("has an empty component (// or a trailing /)");
    if (part === ".") fail('has a "." component');
    if (part === "..") fail('has a ".." component (climbs out of the root)');
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) fail(`has a component longer than ${MAX_NAME_BYTES} bytes`);
  }
}

/**
 * Normalize an archive member name ("./a/b/", "a//b") to an entry path, rejecting absolute names and
 * any ".." component. Returns "" for the root itself.
 * @example normalizeArchivePath("./usr/bin/") // "usr/bin"
 */
export function normalizeArchivePath(name: string): string {
  if (name.startsWith("/"))
    throw new ImageError(`archive entry ${JSON.stringify(name.slice(0, 200))}: absolute paths are not allowed`, { code: "BAD_PATH", path: name });
  const parts = name.split("/").filter((x) => x !== "" && x !== ".");
  if (parts.includes(".."))
    throw new ImageError(`archive entry ${JSON.stringify(name.slice(0, 200))}: ".." components are not allowed`, { code: "BAD_PATH", path: name });
  const p = parts.join("/");
  if (p !== "") checkEntryPath(p);
  return p;
}

/** Parent of an entry path ("" for top-level entries). */
export function parentPath(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
}

/**
 * Throws BAD_PATH if a symlink at `linkPath` with `target` points outside the image root. Absolute
 * targets are resolved inside the image (as the sandbox does), so they are allowed; a relative
 * target may not climb above the root with "..".
 * @example checkSymlinkTarget("bin/sh", "busybox") // ok; checkSymlinkTarget("a/x", "../../etc") // throws
 */
export function checkSymlinkTarget(linkPath: string, target: string): void {
  const fail = (why: string): never => {
    throw new ImageError(`symlink "${linkPath}" -> ${JSON.stringify(target.slice(0, 200))}: ${why}`, { code: "BAD_PATH", path: linkPath });
  };
  if (target.length === 0) fail("empty target");
  if (target.includes("\0")) fail("target contains a NUL byte");
  if (Buffer.byteLength(target) > MAX_PATH_BYTES) fail(`target longer than ${MAX_PATH_BYTES} bytes`);
  if (target.startsWith("/")) return;
  let depth = linkPath.split("/").length - 1; // directory depth of the link's parent
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      depth--;
      if (depth < 0) fail("points outside the image root");
    } else depth++;
  }
}

/**
 * Resolve a path inside the image lexically, following symlinks listed in `lookup` (absolute
 * targets from the image root), up to 40 hops. Returns the final entry path or undefined.
 */
export function resolveInImage(p: string, lookup: (path: string) => { type: string; target?: string } | undefined): string | undefined {
  let parts = p.split("/").filter((x) => x !== "" && x !== ".");
  let hops = 0;
  const out: string[] = [];
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === "..") {
      out.pop();
      continue;
    }
    out.push(part);
    const e = lookup(out.join("/"));
    if (e?.type === "symlink" && e.target !== undefined) {
      if (++hops > 40) return undefined;
      out.pop();
      const t = e.target.split("/").filter((x) => x !== "" && x !== ".");
      if (e.target.startsWith("/")) out.length = 0;
      parts = [...t, ...parts];
    }
  }
  return out.join("/");
}
