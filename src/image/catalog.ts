/**
 * Catalog: image names ("ubuntu-latest", "ubuntu:latest", "zero-image://ubuntu-latest") -> root CID,
 * persisted as `<store dir>/catalog.json` (written to a temp file and renamed). Names are resolved
 * when an intent is built; the intent pins the root, never the name.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { JSON_CODEC, parseCid } from "./cid";
import { ImageError } from "./imageError";

const NAME_RE = /^[a-z0-9][a-z0-9._:@/-]{0,127}$/;
export const ZERO_IMAGE_SCHEME = "zero-image://";

/**
 * Strip `zero-image://` and check the name; throws BAD_INPUT naming the reason.
 * @example normalizeImageName("zero-image://ubuntu-latest") // "ubuntu-latest"
 */
export function normalizeImageName(name: string): string {
  if (typeof name !== "string") throw new ImageError("image name: expected a string", { code: "BAD_INPUT" });
  const n = name.startsWith(ZERO_IMAGE_SCHEME) ? name.slice(ZERO_IMAGE_SCHEME.length) : name;
  if (!NAME_RE.test(n) || n.includes("..") || n.includes("//"))
    throw new ImageError(`image name ${JSON.stringify(name.slice(0, 140))}: use 1-128 of a-z 0-9 . _ : @ / - starting with a letter or digit`, {
      code: "BAD_INPUT",
    });
  return n;
}

/**
 * @example const cat = new Catalog(".hypha/store"); await cat.set("ubuntu-latest", root); await cat.resolve("ubuntu-latest")
 */
export class Catalog {
  readonly file: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.file = path.join(path.resolve(dir), "catalog.json");
  }

  /** All names -> root CID strings, sorted by name. */
  async list(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw err;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      throw new ImageError(`catalog ${this.file}: not valid JSON`, { code: "BAD_INPUT", cause });
    }
    if (typeof data !== "object" || data === null || Array.isArray(data))
      throw new ImageError(`catalog ${this.file}: expected an object`, { code: "BAD_INPUT" });
    return data as Record<string, string>;
  }

  /** Root CID string for a name, or undefined. */
  async get(name: string): Promise<string | undefined> {
    const n = normalizeImageName(name);
    const all = await this.list();
    return Object.hasOwn(all, n) ? all[n] : undefined;
  }

  /** Like get, but throws NOT_FOUND. */
  async resolve(name: string): Promise<string> {
    const r = await this.get(name);
    if (r === undefined) throw new ImageError(`image name "${normalizeImageName(name)}": not in the catalog`, { code: "NOT_FOUND" });
    return r;
  }

  /** Point a name at a root (a manifest CID). */
  async set(name: string, root: string): Promise<void> {
    const n = normalizeImageName(name);
    const cid = parseCid(root, "root");
    if (cid.code !== JSON_CODEC)
      throw new ImageError(`root ${cid}: not an image manifest CID (codec must be json)`, { code: "BAD_INPUT", cid: cid.toString() });
    await this.update((all) => ({ ...all, [n]: cid.toString() }));
  }

  async delete(name: string): Promise<void> {
    const n = normalizeImageName(name);
    await this.update((all) => {
      const { [n]: _drop, ...rest } = all;
      return rest;
    });
  }

  private update(change: (all: Record<string, string>) => Record<string, string>): Promise<void> {
    const run = this.writing.then(async () => {
      const next = change(await this.list());
      const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      await fsp.mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${randomBytes(6).toString("hex")}.tmp`;
      await fsp.writeFile(tmp, JSON.stringify(sorted, null, 2) + "\n");
      await fsp.rename(tmp, this.file);
    });
    this.writing = run.catch(() => undefined);
    return run;
  }
}
