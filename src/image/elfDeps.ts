/**
 * What an ELF executable needs before it can start: its program interpreter (PT_INTERP, e.g.
 * /lib64/ld-linux-x86-64.so.2) and its DT_NEEDED shared libraries, plus where to look for them in
 * an image. Used to prefetch "the entrypoint and its shared libraries" first on lazy start.
 * Pure: bytes in, names out; little-endian ELF32/ELF64 only (anything else gives no deps).
 */
import { resolveInImage } from "./entryPath";

export interface ElfDeps {
  interp?: string;
  needed: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;

/**
 * @example parseElfDeps(fs.readFileSync("/bin/ls")) // { interp: "/lib64/ld-linux-x86-64.so.2", needed: ["libselinux.so.1", "libc.so.6"] }
 */
export function parseElfDeps(bytes: Uint8Array): ElfDeps {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const none: ElfDeps = { needed: [] };
  if (b.length < 52 || b.readUInt32BE(0) !== 0x7f454c46 || b[5] !== 1) return none;
  const is64 = b[4] === 2;
  if (!is64 && b[4] !== 1) return none;
  try {
    const word = (off: number) => (is64 ? Number(b.readBigUInt64LE(off)) : b.readUInt32LE(off));
    const phoff = word(is64 ? 0x20 : 0x1c);
    const phentsize = b.readUInt16LE(is64 ? 0x36 : 0x2a);
    const phnum = b.readUInt16LE(is64 ? 0x38 : 0x2c);
    type Ph = { type: number; offset: number; vaddr: number; filesz: number };
    const phs: Ph[] = [];
    for (let i = 0; i < phnum && i < 256; i++) {
      const o = phoff + i * phentsize;
      if (o + phentsize > b.length) break;
      phs.push(
        is64
          ? { type: b.readUInt32LE(o), offset: word(o + 8), vaddr: word(o + 16), filesz: word(o + 32) }
          : { type: b.readUInt32LE(o), offset: word(o + 4), vaddr: word(o + 8), filesz: word(o + 16) },
      );
    }
    const cstr = (off: number, max: number) => {
      if (off < 0 || off >= b.length) return undefined;
      const end = b.indexOf(0, off);
      const stop = end < 0 ? Math.min(b.length, off + max) : Math.min(end, off + max);
      return b.subarray(off, stop).toString("utf8");
    };
    const out: ElfDeps = { needed: [] };
    const interp = phs.find((p) => p.type === PT_INTERP);
    if (interp) out.interp = cstr(interp.offset, Math.min(interp.filesz, 4096));
    const dyn = phs.find((p) => p.type === PT_DYNAMIC);
    if (!dyn) return out;
    const entSize = is64 ? 16 : 8;
    let strtabVaddr: number | undefined;
    const neededOffsets: number[] = [];
    for (let o = dyn.offset; o + entSize <= Math.min(b.length, dyn.offset + dyn.filesz); o += entSize) {
      const tag = word(o);
      const val = word(o + entSize / 2);
      if (tag === DT_NULL) break;
      if (tag === DT_NEEDED) neededOffsets.push(val);
      if (tag === DT_STRTAB) strtabVaddr = val;
    }
    if (strtabVaddr === undefined) return out;
    const load = phs.find((p) => p.type === PT_LOAD && strtabVaddr! >= p.vaddr && strtabVaddr! < p.vaddr + p.filesz);
    if (!load) return out;
    const strtab = strtabVaddr - load.vaddr + load.offset;
    for (const n of neededOffsets) {
      const s = cstr(strtab + n, 4096);
      if (s) out.needed.push(s);
    }
    return out;
  } catch {
    return none; // truncated or odd ELF: no hints, the file is still fetched normally
  }
}

/** Library directories searched in an image, in ld.so's usual order. */
export const LIBRARY_DIRS = [
  "lib/x86_64-linux-gnu",
  "usr/lib/x86_64-linux-gnu",
  "lib64",
  "usr/lib64",
  "lib",
  "usr/lib",
  "usr/local/lib",
  "lib/aarch64-linux-gnu",
  "usr/lib/aarch64-linux-gnu",
];

/**
 * Image paths for an ELF's interpreter and needed libraries that exist in the image (via `lookup`).
 * @example libraryPaths(parseElfDeps(bytes), (p) => byPath.get(p)) // ["lib64/ld-linux-x86-64.so.2", "lib/x86_64-linux-gnu/libc.so.6"]
 */
export function libraryPaths(deps: ElfDeps, lookup: (p: string) => { type: string; target?: string } | undefined): string[] {
  const out: string[] = [];
  const add = (p: string | undefined) => {
    if (p === undefined) return false;
    const r = resolveInImage(p, lookup);
    if (r === undefined || !lookup(r)) return false;
    out.push(p.replace(/^\/+/, ""));
    return true;
  };
  if (deps.interp) add(deps.interp);
  for (const name of deps.needed) {
    if (name.includes("/")) add(name);
    else for (const d of LIBRARY_DIRS) if (add(`${d}/${name}`)) break;
  }
  return out;
}
