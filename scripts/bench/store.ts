/**
 * `npm run bench:store`: the store's memory while it takes four 60 MB uploads at once (issue 14:
 * its RSS must stay under 200 MiB; holding uploads in memory took it from 182 to 593 MiB). Starts
 * the real `hypha store serve` as a child process, streams four 60 MB files to it in parallel,
 * samples the child's VmRSS from /proc every 10 ms and reads its VmHWM (peak) at the end, checks
 * each object arrived once and intact, and prints ONE JSON object. BENCH_HYPHA_BIN=other/bin/hypha.js
 * measures another checkout (e.g. main before this change).
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, mkdtempSync, promises as fsp } from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { cidForBytes } from "../../src/image/cid";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";

const ROOT = path.join(__dirname, "..", "..");
const MB = 1_000_000;
const SIZE = Number(process.env.BENCH_UPLOAD_MB ?? 60) * MB;
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 4);

function procStatus(pid: number, field: string): number {
  const text = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) / 1024 : NaN;
}

function upload(url: string, file: string, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/blobs`,
      { method: "POST", headers: { "content-type": "application/octet-stream", "content-length": String(size) } },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    createReadStream(file).pipe(req);
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), "hypha-bench-store-"));
  const files: { file: string; cid: string }[] = [];
  for (let i = 0; i < PARALLEL; i++) {
    const file = path.join(work, `upload-${i}.bin`);
    const h = createHash("sha256");
    const fh = await fsp.open(file, "w");
    for (let done = 0; done < SIZE; done += MB) {
      const piece = randomBytes(Math.min(MB, SIZE - done));
      h.update(piece);
      await fh.write(piece);
    }
    await fh.close();
    files.push({ file, cid: CID.createV1(0x55, Digest.create(0x12, new Uint8Array(h.digest()))).toString() });
  }
  const child = spawn(
    process.execPath,
    [process.env.BENCH_HYPHA_BIN ?? path.join(ROOT, "bin/hypha.js"), "store", "serve", "--dir", path.join(work, "store"), "--port", "0"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d;
        const m = /"url":"([^"]+)"/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on("exit", (code) => reject(new Error(`store exited with ${code}`)));
    });
    const pid = child.pid!;
    const startRss = procStatus(pid, "VmRSS");
    let sampledPeak = startRss;
    const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, procStatus(pid, "VmRSS"))), 10);
    const t = performance.now();
    const answers = await Promise.all(files.map((f) => upload(url, f.file, SIZE)));
    const seconds = (performance.now() - t) / 1000;
    clearInterval(sampler);
    const peakRss = procStatus(pid, "VmHWM");
    const stored = answers.map((a) => (JSON.parse(a.body) as { cid?: string }).cid);
    const intact = answers.every((a) => a.status === 201) && files.every((f, i) => stored[i] === f.cid);
    const objects = (await fsp.readdir(path.join(work, "store", "objects"), { recursive: true })).filter((n) => n.includes("bafk"));
    // read one back to check it is the same bytes
    const back = await fetch(`${url}/blobs/${files[0].cid}`);
    const backCid = cidForBytes(new Uint8Array(await back.arrayBuffer())).toString();
    console.log(
      JSON.stringify({
        bench: "store",
        uploads: PARALLEL,
        uploadMB: SIZE / MB,
        storeRssMiB: { atStart: Math.round(startRss), peakSampled: Math.round(sampledPeak), peakVmHWM: Math.round(peakRss), goalUnder: 200 },
        seconds: Number(seconds.toFixed(2)),
        throughputMBps: Number(((PARALLEL * SIZE) / MB / seconds).toFixed(1)),
        allStoredIntact: intact && backCid === files[0].cid,
        objectsStored: objects.length,
        node: process.version,
        cores: os.cpus().length,
      }),
    );
    if (!intact || objects.length !== PARALLEL) process.exitCode = 1;
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await fsp.rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
