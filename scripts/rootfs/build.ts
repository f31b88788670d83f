/**
 * Build the demo root filesystem (busybox-static stand-in for "ubuntu:latest") and optionally import
 * it into a store under the seed's names.
 *   tsx scripts/rootfs/build.ts OUT_DIR [--store .hypha/store]
 */
import { buildDemoRootfs } from "../../src/cli/up/demoRootfs";
import { Catalog, ChunkStore, importImage } from "../../src/image";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const out = args[0];
  if (!out || out.startsWith("--")) {
    console.error("usage: tsx scripts/rootfs/build.ts OUT_DIR [--store DIR]");
    process.exit(1);
  }
  const storeIdx = args.indexOf("--store");
  const rootfs = await buildDemoRootfs(out);
  console.log(
    `built demo rootfs in ${rootfs.dir} (busybox sha256 ${rootfs.busyboxSha256}); no container registry is reachable here, so this stands in for ubuntu:latest`,
  );
  if (storeIdx > 0) {
    const dir = args[storeIdx + 1];
    const { root, rootHex, stats } = await importImage(rootfs.dir, new ChunkStore(dir));
    const catalog = new Catalog(dir);
    for (const name of ["ubuntu-latest", "ubuntu:latest"]) await catalog.set(name, root.toString());
    console.log(JSON.stringify({ root: root.toString(), rootHex, files: stats.files, bytes: stats.bytes, names: ["ubuntu-latest", "ubuntu:latest"] }));
  }
}

main().catch((err) => {
  console.error(err?.shortMessage ?? err);
  process.exit(1);
});
