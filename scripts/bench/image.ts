/**
 * `npm run bench:image`: zero-image figures from issue 6, printed as ONE JSON object (medians of
 * several runs): import throughput, root computation for a 200 MB tree, bytes fetched to start a
 * workload whose base image is cached (and cold), as fractions of the image size, and chunk
 * verification throughput, and the peak memory of importing a docker archive with a 256 MiB
 * layer against reading it into memory. Uses temp dirs and a store server on a free port.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  AVG_CHUNK,
  ChunkStore,
  MAX_CHUNK,
  MIN_CHUNK,
  bytes32ToRoot,
  chunkFile,
  cidForBytes,
  importImage,
  materializeImage,
  startStoreServer,
} from "../../src/image";
import { buildDemoRootfs } from "../../src/cli/up/demoRootfs";
import { bytesMatchCid } from "../../src/image/cid";

const MB = 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const round = (x: number, d = 3) => Number(x.toFixed(d));

/** A tree of `totalMB` of incompressible data: 1 MiB files plus many 10 KiB files, like a rootfs's mix. */
async function makeTree(dir: string, totalMB: number): Promise<number> {
  let bytes = 0;
  const big = Math.floor(totalMB * 0.75);
  for (let i = 0; i < big; i++) {
    const d = path.join(dir, `lib${i % 10}`);
    await fsp.mkdir(d, { recursive: true });
    const b = randomBytes(MB);
    await fsp.writeFile(path.join(d, `big${i}.so`), b);
    bytes += b.length;
  }
  const small = Math.floor(((totalMB - big) * MB) / (10 * 1024));
  for (let i = 0; i < small; i++) {
    const d = path.join(dir, `share/d${i % 50}`);
    if (i < 50) await fsp.mkdir(d, { recursive: true });
    const b = randomBytes(10 * 1024);
    await fsp.writeFile(path.join(d, `f${i}`), b);
    bytes += b.length;
  }
  return bytes;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [(performance.now() - t) / 1000, r];
}

/**
 * Peak memory of importing a `docker save` archive with one 256 MiB layer, in a child process
 * each: layers spooled to a temp file (the default) against read into memory (the baseline).
 */
async function archiveImportMemory(work: string) {
  const layerDir = path.join(work, "layer");
  await makeTree(layerDir, 256);
  const layerTar = path.join(work, "layer.tar");
  execFileSync("tar", ["-cf", layerTar, "-C", layerDir, "."]);
  await fsp.writeFile(path.join(work, "manifest.json"), JSON.stringify([{ Config: "config.json", RepoTags: ["big:latest"], Layers: ["layer.tar"] }]));
  await fsp.writeFile(path.join(work, "config.json"), JSON.stringify({ os: "linux", architecture: "amd64" }));
  const archive = path.join(work, "docker.tar");
  execFileSync("tar", ["-cf", archive, "-C", work, "manifest.json", "config.json", "layer.tar"]);
  await fsp.rm(layerDir, { recursive: true, force: true });
  const child = path.join(__dirname, "archiveImportRss.ts");
  const run = (spoolAbove: number) => {
    const out = execFileSync(process.execPath, ["--import", "tsx", child, archive, String(spoolAbove)], { encoding: "utf8" });
    return JSON.parse(out.trim().split("\n").pop()!) as { peakRssMiB: number; seconds: number; root: string };
  };
  const spooled: { peakRssMiB: number; seconds: number; root: string }[] = [];
  const inMemory: typeof spooled = [];
  for (let i = 0; i < RUNS; i++) {
    spooled.push(run(8 * MB));
    inMemory.push(run(Number.MAX_SAFE_INTEGER));
  }
  if (new Set([...spooled, ...inMemory].map((r) => r.root)).size !== 1) throw new Error("spooled and in-memory imports gave different roots");
  const rss = (xs: typeof spooled) => median(xs.map((r) => r.peakRssMiB));
  return {
    archiveMB: round((await fsp.stat(archive)).size / MB, 1),
    peakRssMiB: rss(spooled),
    peakRssMiBInMemoryBaseline: rss(inMemory),
    ratioToBaseline: round(rss(spooled) / rss(inMemory), 2),
    seconds: round(median(spooled.map((r) => r.seconds)), 2),
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const work = mkdtempSync(path.join(os.tmpdir(), "hypha-bench-image-"));
  try {
    // 1. Root computation for a 200 MB tree (hash only, nothing stored).
    // Two 100 MB halves: the root is computed over both, imports use one half (keeps the bench short).
    const tree200 = path.join(work, "tree200");
    const bytesImport = await makeTree(path.join(tree200, "a"), 100);
    const bytes200 = bytesImport + (await makeTree(path.join(tree200, "b"), 100));
    const rootSecs: number[] = [];
    let root200 = "";
    for (let i = 0; i < RUNS; i++) {
      const [s, r] = await timed(() => importImage(tree200, null));
      rootSecs.push(s);
      if (root200 && root200 !== r.root.toString()) throw new Error("root computation is not deterministic");
      root200 = r.root.toString();
    }

    // 2. Import throughput into a fresh store (read, chunk, hash, write, commit), 100 MB half.
    const importSecs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const storeDir = path.join(work, `store-import-${i}`);
      const [s] = await timed(() => importImage(path.join(tree200, "a"), new ChunkStore(storeDir)));
      importSecs.push(s);
      await fsp.rm(storeDir, { recursive: true, force: true });
    }
    await fsp.rm(tree200, { recursive: true, force: true });

    // 3. Chunk verification throughput (sha256 of every chunk against its CID), in memory.
    const data = randomBytes(64 * MB);
    const chunks = chunkFile(data).map((c) => ({ c, cid: cidForBytes(c) }));
    const verifySecs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const [s] = await timed(async () => {
        for (const { c, cid } of chunks) if (!bytesMatchCid(cid, c)) throw new Error("verify failed");
      });
      verifySecs.push(s);
    }

    // 4. Start fractions: a base image (demo busybox rootfs + 32 MB of libraries) and an app image
    // = base + a small app. Served by a real store server over HTTP.
    const storeDir = path.join(work, "store-serve");
    const rootfs = await buildDemoRootfs(path.join(work, "rootfs"));
    await makeTree(path.join(rootfs.dir, "usr/lib"), 32);
    const base = await importImage(rootfs.dir, new ChunkStore(storeDir));
    await fsp.mkdir(path.join(rootfs.dir, "app"), { recursive: true });
    await fsp.writeFile(path.join(rootfs.dir, "app/main.sh"), "#!/bin/sh\necho Running on zero-image\n", { mode: 0o755 });
    await fsp.writeFile(path.join(rootfs.dir, "app/data.bin"), randomBytes(256 * 1024));
    const app = await importImage(rootfs.dir, new ChunkStore(storeDir));
    const srv = await startStoreServer({ dir: storeDir });
    const priority = ["/app/main.sh", "/bin/sh"];
    const warm: number[] = [];
    const warmFull: number[] = [];
    const coldStart: number[] = [];
    const coldFull: number[] = [];
    const coldStartSecs: number[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        // cached base: the node ran the base image before, so its cache holds the base chunks
        const cacheDir = path.join(work, `cache-warm-${i}`);
        await (await materializeImage({ root: base.root, mirrors: [srv.url], cacheDir, targetDir: path.join(work, `base-${i}`) })).ready;
        const w = await materializeImage({ root: bytes32ToRoot(app.rootHex), mirrors: [srv.url], cacheDir, targetDir: path.join(work, `warm-${i}`), priority });
        warm.push(w.bytesFetched / w.bytesTotal);
        warmFull.push((await w.ready).bytesFetched / w.bytesTotal);
        // cold: empty cache, lazy start with the entrypoint first
        const t = performance.now();
        const c = await materializeImage({
          root: app.root,
          mirrors: [srv.url],
          cacheDir: path.join(work, `cache-cold-${i}`),
          targetDir: path.join(work, `cold-${i}`),
          priority,
        });
        coldStartSecs.push((performance.now() - t) / 1000);
        coldStart.push(c.bytesFetched / c.bytesTotal);
        coldFull.push((await c.ready).bytesFetched / c.bytesTotal);
        for (const d of [`base-${i}`, `warm-${i}`, `cold-${i}`, `cache-warm-${i}`, `cache-cold-${i}`])
          await fsp.rm(path.join(work, d), { recursive: true, force: true });
      }
    } finally {
      await srv.close();
    }

    const archive = await archiveImportMemory(work);

    console.log(
      JSON.stringify({
        bench: "image",
        runs: RUNS,
        node: process.version,
        cores: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        chunking: { algorithm: "FastCDC (normalized, gear hash)", minBytes: MIN_CHUNK, avgBytes: AVG_CHUNK, maxBytes: MAX_CHUNK },
        importThroughputMBps: round(bytesImport / MB / median(importSecs), 1),
        importTreeMB: round(bytesImport / MB, 1),
        rootComputation200MB: {
          treeMB: round(bytes200 / MB, 1),
          seconds: round(median(rootSecs)),
          MBps: round(bytes200 / MB / median(rootSecs), 1),
          root: root200,
        },
        cachedBaseStart: {
          imageMB: round(app.stats.bytes / MB, 2),
          fractionFetchedBeforeStart: round(median(warm), 5),
          fractionFetchedTotal: round(median(warmFull), 5),
          goal: 0.05,
        },
        coldStart: {
          fractionFetchedBeforeStart: round(median(coldStart), 5),
          secondsToStart: round(median(coldStartSecs)),
          fractionFetchedTotal: round(median(coldFull), 5),
          note: "lazy start = prefetch in priority order (entrypoint first), not FUSE; the total includes the manifest",
        },
        chunkVerifyMBps: round(data.length / MB / median(verifySecs), 1),
        dockerArchiveImport: archive,
        loadAverage1m: round(os.loadavg()[0], 2),
        totalSeconds: round((performance.now() - started) / 1000, 1),
      }),
    );
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err?.shortMessage ?? err);
  process.exit(1);
});
