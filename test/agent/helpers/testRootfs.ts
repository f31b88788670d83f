/**
 * Test helper: a small, real root filesystem made from this machine's own shell and core tools
 * with their libraries (src/cli/up/hostRootfs.ts, the demo's image on a machine without busybox),
 * so sandbox and agent tests need nothing a fresh machine lacks.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { buildHostRootfs } from "../../../src/cli/up/hostRootfs";

/** Create `dir` (absent or empty) with bin/ (sh, echo, cat, sleep, ...), their libraries, etc/ and an empty home. Returns dir. */
export async function makeTestRootfs(dir: string): Promise<string> {
  const { dir: root } = await buildHostRootfs(dir);
  await fs.writeFile(path.join(root, "etc", "hostname"), "image\n");
  await fs.mkdir(path.join(root, "home"), { recursive: true });
  return root;
}
