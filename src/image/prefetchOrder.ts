/**
 * Which files of an image to materialize before a workload may start (its entrypoint, given as a
 * path or as a bare command name looked up on the default PATH, the files
 * the entrypoint's symlinks and hardlinks lead to, anything under a prioritized directory) and
 * which may follow in the background. Pure: manifest + priority paths in, two lists out.
 */
import { resolveInImage } from "./entryPath";
import type { Entry, ImageManifest } from "./manifest";

export interface PrefetchPlan {
  /** Files and hardlinks needed before start, in priority order (a hardlink after its target). */
  first: Entry[];
  /** Everything else, in manifest order. */
  rest: Entry[];
}

/**
 * @example prefetchOrder(manifest, ["/bin/sh"]).first.map((e) => e.path) // ["bin/busybox", ...]
 */
export function prefetchOrder(manifest: ImageManifest, priority: string[] | undefined): PrefetchPlan {
  const content = manifest.entries.filter((e) => e.type === "file" || e.type === "hardlink");
  if (priority === undefined) return { first: orderLinksLast(content), rest: [] };
  const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
  const chosen = new Set<string>();
  const order: Entry[] = [];
  const take = (e: Entry | undefined) => {
    if (!e || chosen.has(e.path)) return;
    if (e.type === "hardlink") take(byPath.get(e.target!));
    if (e.type !== "file" && e.type !== "hardlink") return;
    chosen.add(e.path);
    order.push(e);
  };
  for (const p of priority) {
    const raw = p.includes("/") ? p.replace(/^\/+/, "") : findOnPath(p, byPath);
    const resolved = resolveInImage(raw, (q) => byPath.get(q));
    const e = resolved === undefined ? undefined : byPath.get(resolved);
    // the link itself too (so e.g. the hardlink named in argv exists), then what it leads to
    take(byPath.get(raw));
    if (e?.type === "dir") {
      const prefix = e.path + "/";
      for (const c of content) if (c.path.startsWith(prefix)) take(c);
    } else take(e);
  }
  return { first: order, rest: orderLinksLast(content.filter((e) => !chosen.has(e.path))) };
}

/** Where the default PATH finds a bare command name (e.g. "echo") in the image. */
export const DEFAULT_PATH_DIRS = ["usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin"];

function findOnPath(name: string, byPath: Map<string, Entry>): string {
  for (const d of DEFAULT_PATH_DIRS) if (byPath.has(`${d}/${name}`)) return `${d}/${name}`;
  return name;
}

function orderLinksLast(entries: Entry[]): Entry[] {
  return [...entries.filter((e) => e.type === "file"), ...entries.filter((e) => e.type === "hardlink")];
}
