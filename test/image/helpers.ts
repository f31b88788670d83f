/** Shared fixtures for the image tests: temp dirs, seeded bytes, a store listing. */
import { createHash } from "node:crypto";
import { mkdtempSync, promises as fsp, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const made: string[] = [];

/** Remove every dir made by tempDir (each test file calls this in afterAll). */
export function cleanupTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A fresh temp dir; removed by cleanupTempDirs. */
export function tempDir(prefix = "hypha-image-"): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Deterministic pseudo-random bytes (sha256 counter mode) so failures reproduce. */
export function seededBytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0, block = 0; i < n; block++) {
    const h = createHash("sha256").update(`${seed}:${block}`).digest();
    i += h.copy(out, i, 0, Math.min(32, n - i));
  }
  return out;
}

/** Every file under a dir (relative paths), to check "nothing changed". */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let names: string[];
    try {
      names = await fsp.readdir(path.join(dir, rel));
    } catch {
      return;
    }
    for (const n of names) {
      const p = rel ? `${rel}/${n}` : n;
      const st = await fsp.lstat(path.join(dir, p));
      if (st.isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk("");
  return out.sort();
}

export async function writeTree(root: string, files: Record<string, string | Buffer>, modes: Record<string, number> = {}): Promise<void> {
  for (const [p, content] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(root, p)), { recursive: true });
    await fsp.writeFile(path.join(root, p), content);
    await fsp.chmod(path.join(root, p), modes[p] ?? 0o644);
  }
}
