/**
 * Archive importers: a plain (optionally gzipped) tar of a root filesystem, an OCI image layout
 * (directory or tar) and a `docker save` tarball. Image layers are applied in order with OCI
 * whiteouts (".wh.NAME" removes NAME, ".wh..wh..opq" empties its directory) honoured; each layer's
 * whiteouts apply only to the layers below it, as the OCI image spec says.
 *
 * Memory stays bounded whatever the image size: members of an image archive larger than
 * `spoolAboveBytes` (layers) are written to a temporary file as they are read, hashed on the way,
 * and streamed from there; only small members (manifests, configs, small layers) stay in memory.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import * as tar from "tar-stream";
import { ImageError } from "./imageError";
import { normalizeArchivePath, parentPath } from "./entryPath";
import type { TreeBuilder } from "./treeBuilder";

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";
/** Upper bound on a JSON document of an image (index, manifest, config) read into memory. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** Members larger than this are spooled to a temporary file instead of kept in memory. */
const DEFAULT_SPOOL_ABOVE = 8 * 1024 * 1024;

/** A tar (or tar.gz) to read: in memory or a file. */
type TarSource = Buffer | { file: string };
/** A tar member's body (a streamx Readable). */
type MemberBody = AsyncIterable<Buffer> & { resume(): unknown };
/** A member of an image archive (or a file of an OCI layout directory), with its size and sha256. */
interface Member {
  source: TarSource;
  size: number;
  sha256: string;
}

/**
 * Import an archive file: detects docker-save / OCI-layout tarballs, otherwise treats it as a
 * root filesystem tar.
 */
export async function addArchiveFile(
  builder: TreeBuilder,
  file: string,
  opts: { forceTar?: boolean; spoolAboveBytes?: number } = {},
): Promise<{ format: "tar" | "oci-layout" | "docker-save"; layers: number }> {
  const open: TarSource = { file };
  if (!opts.forceTar) {
    const names = new Set<string>();
    await eachMember(open, async (h, body) => {
      names.add(normalizeArchivePath(h.name));
      body.resume();
    });
    if (names.has("manifest.json") || (names.has("oci-layout") && names.has("index.json"))) {
      const spoolDir = await fsp.mkdtemp(path.join(os.tmpdir(), "hypha-import-"));
      try {
        const files = new Map<string, Member>();
        const links = new Map<string, string>(); // member -> archive path it links to
        let spooled = 0;
        await eachMember(open, async (h, body) => {
          const p = normalizeArchivePath(h.name);
          if (h.type === "file" || h.type === "contiguous-file") {
            files.set(p, await readMemberBody(body, () => path.join(spoolDir, String(spooled++)), opts.spoolAboveBytes ?? DEFAULT_SPOOL_ABOVE));
          } else if (h.type === "link") body.resume(), links.set(p, h.linkname ?? "");
          else if (h.type === "symlink") {
            // docker save links layer directories with relative symlinks; resolve inside the archive only
            body.resume();
            const t = h.linkname ?? "";
            links.set(p, t.startsWith("/") ? t : path.posix.join(parentPath(p), t));
          } else body.resume();
        });
        const read = (p: string) => readMember(files, links, p);
        if (names.has("manifest.json")) return { format: "docker-save", layers: await applyDockerSave(builder, read) };
        return { format: "oci-layout", layers: await applyOciLayout(builder, read) };
      } finally {
        await fsp.rm(spoolDir, { recursive: true, force: true });
      }
    }
  }
  await applyTar(builder, open, false);
  return { format: "tar", layers: 1 };
}

/** Import an OCI image layout directory (has `oci-layout` and `index.json`). */
export async function addOciLayoutDirectory(builder: TreeBuilder, dir: string): Promise<number> {
  return applyOciLayout(builder, async (p) => {
    const file = path.join(dir, p);
    try {
      const hash = createHash("sha256");
      let size = 0;
      for await (const chunk of createReadStream(file)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      return { source: { file }, size, sha256: hash.digest("hex") };
    } catch (cause) {
      throw new ImageError(`OCI layout: cannot read "${p}"`, { code: "BAD_ARCHIVE", cause, path: p });
    }
  });
}

type ReadMember = (p: string) => Promise<Member>;

async function applyDockerSave(builder: TreeBuilder, read: ReadMember): Promise<number> {
  const manifest = (await parseJson(await read("manifest.json"), "manifest.json")) as Array<{ Layers?: unknown }>;
  if (!Array.isArray(manifest) || manifest.length === 0 || !Array.isArray(manifest[0]?.Layers))
    throw new ImageError("docker archive: manifest.json must be a non-empty array whose first image has Layers", { code: "BAD_ARCHIVE" });
  const layers = manifest[0].Layers as unknown[];
  for (const [i, l] of layers.entries()) {
    if (typeof l !== "string") throw new ImageError(`docker archive: manifest.json Layers[${i}] is not a path`, { code: "BAD_ARCHIVE" });
    const member = await read(normalizeArchivePath(l));
    await applyLayer(builder, member.source, `layer ${i} (${l})`);
  }
  return layers.length;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string };
}

async function applyOciLayout(builder: TreeBuilder, read: ReadMember): Promise<number> {
  let doc = (await parseJson(await read("index.json"), "index.json")) as { mediaType?: string; manifests?: Descriptor[]; layers?: Descriptor[] };
  for (let depth = 0; !Array.isArray(doc.layers); depth++) {
    if (depth > 4 || !Array.isArray(doc.manifests) || doc.manifests.length === 0)
      throw new ImageError("OCI layout: index.json lists no image manifest", { code: "BAD_ARCHIVE" });
    const pick = doc.manifests.find((m) => m.platform?.os === "linux" && m.platform?.architecture === "amd64") ?? doc.manifests[0];
    doc = (await parseJson(await readBlob(read, pick), `blob ${pick.digest}`)) as typeof doc;
  }
  for (const [i, layer] of doc.layers!.entries()) {
    if (typeof layer.mediaType === "string" && layer.mediaType.includes("zstd"))
      throw new ImageError(`OCI layout: layer ${i} is zstd-compressed, which is not supported (use tar or tar+gzip)`, { code: "BAD_ARCHIVE" });
    await applyLayer(builder, (await readBlob(read, layer)).source, `layer ${i} (${layer.digest})`);
  }
  return doc.layers!.length;
}

/** Read a blob by descriptor and check its sha256 digest and size (OCI blobs are content-addressed). */
async function readBlob(read: ReadMember, d: Descriptor): Promise<Member> {
  const m = typeof d?.digest === "string" ? /^sha256:([a-f0-9]{64})$/.exec(d.digest) : null;
  if (!m) throw new ImageError(`OCI layout: descriptor digest ${JSON.stringify(d?.digest)} is not sha256:<64 hex>`, { code: "BAD_ARCHIVE" });
  const blob = await read(`blobs/sha256/${m[1]}`);
  if (blob.sha256 !== m[1]) throw new ImageError(`OCI layout: blob ${d.digest} is corrupt (its sha256 is ${blob.sha256})`, { code: "TAMPERED", cid: d.digest });
  if (d.size !== undefined && d.size !== blob.size)
    throw new ImageError(`OCI layout: blob ${d.digest} has ${blob.size} bytes, descriptor says ${d.size}`, { code: "BAD_ARCHIVE" });
  return blob;
}

/** Apply one image layer: its whiteouts first (they hide lower layers only), then its entries. */
async function applyLayer(builder: TreeBuilder, open: TarSource, what: string): Promise<void> {
  try {
    await eachMember(open, async (h, body) => {
      body.resume();
      const p = normalizeArchivePath(h.name);
      const base = p.slice(p.lastIndexOf("/") + 1);
      if (base === OPAQUE) builder.removeChildren(parentPath(p));
      else if (base.startsWith(WHITEOUT_PREFIX)) {
        const dir = parentPath(p);
        const victim = base.slice(WHITEOUT_PREFIX.length);
        normalizeArchivePath(victim); // no "..", no "/" tricks in the whiteout name
        builder.remove(dir === "" ? victim : `${dir}/${victim}`);
      }
    });
    await applyTar(builder, open, true);
  } catch (err) {
    if (err instanceof ImageError) throw new ImageError(`${what}: ${err.shortMessage}`, { code: err.code, cause: err, path: err.path, cid: err.cid });
    throw err;
  }
}

/** Add every member of a tar stream to the builder (whiteout markers skipped when `layer`). */
async function applyTar(builder: TreeBuilder, open: TarSource, layer: boolean): Promise<void> {
  await eachMember(open, async (h, body) => {
    const p = normalizeArchivePath(h.name);
    const base = p.slice(p.lastIndexOf("/") + 1);
    if (p === "" || (layer && base.startsWith(WHITEOUT_PREFIX))) {
      body.resume();
      return;
    }
    const owner = { mode: h.mode ?? 0o644, uid: h.uid ?? 0, gid: h.gid ?? 0 };
    switch (h.type) {
      case "file":
      case "contiguous-file":
        await builder.addFile(p, owner, body);
        return;
      case "directory":
        body.resume();
        builder.addDir(p, owner);
        return;
      case "symlink":
        body.resume();
        builder.addSymlink(p, owner, h.linkname ?? "");
        return;
      case "link":
        body.resume();
        builder.addHardlink(p, owner, normalizeArchivePath(h.linkname ?? ""));
        return;
      default:
        body.resume();
        builder.skipped++;
    }
  });
}

/** Iterate tar members (gunzipping if needed); a corrupt or truncated tar becomes BAD_ARCHIVE. */
async function eachMember(src: TarSource, onMember: (h: tar.Header, body: MemberBody) => Promise<void>): Promise<void> {
  const extract = tar.extract();
  const source = await openSource(src);
  source.on("error", (err) => extract.destroy(err));
  source.pipe(extract);
  let count = 0;
  try {
    for await (const entry of extract) {
      count++;
      await onMember(entry.header, entry as unknown as MemberBody);
    }
  } catch (err) {
    source.destroy();
    if (err instanceof ImageError) throw err;
    throw new ImageError(`corrupt or unsupported tar: ${(err as Error).message}`, { code: "BAD_ARCHIVE", cause: err });
  }
  if (count === 0) throw new ImageError("corrupt or unsupported tar: no entries", { code: "BAD_ARCHIVE" });
}

/** Open a tar source as a stream, gunzipped when it starts with the gzip magic. */
async function openSource(src: TarSource): Promise<Readable> {
  let magic: Buffer;
  if (Buffer.isBuffer(src)) magic = src.subarray(0, 2);
  else {
    const fh = await fsp.open(src.file, "r");
    try {
      magic = Buffer.alloc(2);
      const { bytesRead } = await fh.read(magic, 0, 2, 0);
      magic = magic.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
  const raw = Buffer.isBuffer(src) ? Readable.from([src], { objectMode: false }) : createReadStream(src.file);
  if (magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
    const gunzip = createGunzip();
    raw.on("error", (e: Error) => gunzip.destroy(e));
    return raw.pipe(gunzip);
  }
  return raw;
}

/**
 * A member's bytes and sha256: in memory up to `spoolAbove` bytes, else written on to the file
 * `spoolPath()` names as they arrive.
 */
async function readMemberBody(body: MemberBody, spoolPath: () => string, spoolAbove: number): Promise<Member> {
  const hash = createHash("sha256");
  const parts: Buffer[] = [];
  let size = 0;
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    const next = await it.next();
    if (next.done) return { source: Buffer.concat(parts), size, sha256: hash.digest("hex") };
    hash.update(next.value);
    size += next.value.length;
    parts.push(next.value);
    if (size > spoolAbove) break;
  }
  const file = spoolPath();
  async function* rest() {
    yield* parts.splice(0);
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      hash.update(next.value);
      size += next.value.length;
      yield next.value;
    }
  }
  await pipeline(rest, createWriteStream(file));
  return { source: { file }, size, sha256: hash.digest("hex") };
}

function readMember(files: Map<string, Member>, links: Map<string, string>, p: string): Promise<Member> {
  let at = p;
  for (let hops = 0; !files.has(at) && links.has(at); hops++) {
    if (hops > 8) return Promise.reject(new ImageError(`image archive: too many links at "${p}"`, { code: "BAD_ARCHIVE", path: p }));
    try {
      at = normalizeArchivePath(links.get(at)!);
    } catch (err) {
      return Promise.reject(err);
    }
  }
  const m = files.get(at);
  if (!m) return Promise.reject(new ImageError(`image archive: member "${p}" is missing`, { code: "BAD_ARCHIVE", path: p }));
  return Promise.resolve(m);
}

/** Parse a JSON document of the image (index, manifest, config), read into memory if spooled. */
async function parseJson(member: Member, what: string): Promise<unknown> {
  if (member.size > MAX_JSON_BYTES)
    throw new ImageError(`image archive: ${what} is ${member.size} bytes, more than ${MAX_JSON_BYTES} for a JSON document`, { code: "TOO_LARGE" });
  const bytes = Buffer.isBuffer(member.source) ? member.source : await fsp.readFile(member.source.file);
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (cause) {
    throw new ImageError(`image archive: ${what} is not valid JSON`, { code: "BAD_ARCHIVE", cause });
  }
}
