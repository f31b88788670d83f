/**
 * ReplicaRun with a real bwrap sandbox and a real store server for the spec. The chain is not
 * needed here (the intent is handed in, as readIntent would return it), and the image provider
 * is a thin stand-in over a real tree of the host's tools whose verify() the test controls: it is the only
 * way to order "re-verification in flight" against "job exits" deterministically.
 */
import { intentWorkloadFields } from "../../src/spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { zeroHash, type Hex } from "viem";
import { ReplicaRun } from "../../src/agent/replicaRun";
import type { QueuedAttestation } from "../../src/agent/attester";
import type { ImageProvider } from "../../src/agent/imageProvider";
import { autoRuntime, selectRuntime } from "../../src/agent/runtime/registry";
import { startStoreServer, type StoreServer } from "../../src/image/storeServer";
import { canonicalSpecJson } from "../../src/spec/canonicalSpec";
import type { DeploymentIntent } from "../../src/chain/eip712";
import { FAILURE_CAUSE } from "../../src/chain/lifecycle";
import { makeTestRootfs } from "./helpers/testRootfs";
import { specOf } from "./helpers/agentChain";

let dir: string;
let rootfs: string;
let store: StoreServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "hypha-run-"));
  rootfs = await makeTestRootfs(path.join(dir, "rootfs"));
  store = await startStoreServer({ dir: path.join(dir, "store") });
});
afterAll(async () => {
  await store?.close();
});

async function setup(yaml: string, verify: () => Promise<string[]>, fetchError?: () => Error | undefined) {
  const spec = specOf(yaml);
  const json = canonicalSpecJson(spec);
  await store.store.put(Buffer.from(json));
  const intent: DeploymentIntent = {
    deployer: `0x${"11".repeat(20)}`,
    specHash: `0x${createHash("sha256").update(json).digest("hex")}`,
    imageRoot: `0x${"22".repeat(32)}`,
    maxPricePerSecond: 1n,
    budget: 1n,
    nonce: 1n,
    deadline: 1n,
    maxRetries: 0,
    // what the spec says (the agent refuses an intent that contradicts its spec)
    ...intentWorkloadFields(spec),
    maxRunSeconds: 0,
  };
  const images: ImageProvider = {
    async materialize() {
      return { dir: rootfs, bytesFetched: 0, bytesTotal: 0, complete: Promise.resolve(), defaults: {}, verify, fetchError, remove: async () => undefined };
    },
  };
  const attested: QueuedAttestation[] = [];
  const run = new ReplicaRun(`0x${"33".repeat(32)}` as Hex, 0, 1, {
    driver: selectRuntime("auto", { stateDir: path.join(dir, "runtime"), cgroupRoot: "/sys/fs/cgroup" }).driver,
    images,
    storeMirrors: [store.url],
    runDir: path.join(dir, `run-${Math.random().toString(16).slice(2)}`),
    logger: pino({ level: "silent" }),
    backoff: { baseMs: 50, capMs: 100, resetAfterMs: 60_000 },
    pidsLimit: 64,
    agentVersion: "test",
    readIntent: async () => intent,
    attest: (a) => attested.push(a),
  });
  return { run, attested };
}

const JOB = `
apiVersion: batch/v1
kind: Job
metadata: {name: short-job}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: x, command: ["sh", "-c", "sleep 0.3; echo done"]}
`;

// Runs real workloads in the strongest sandbox here (bubblewrap, else util-linux namespaces); skipped
// only where neither can run (not root, no util-linux), which cannot be replaced by anything honest.
describe.skipIf(autoRuntime().name === null)("ReplicaRun", () => {
  it("a re-verification still in flight when a job completes does not turn it Tampered", async () => {
    let releaseVerify!: (d: string[]) => void;
    const { run, attested } = await setup(JOB, () => new Promise((r) => (releaseVerify = r)));
    await run.start();
    expect(run.info.status).toBe("Running");
    const verifying = run.reverify();
    await new Promise((r) => setTimeout(r, 50));
    while (run.info.status === "Running") await new Promise((r) => setTimeout(r, 20));
    // The tree is gone once the job is over; a late verify would report it all missing.
    releaseVerify(["bin/sh (missing)"]);
    await verifying;
    expect(run.info.status).toBe("Completed");
    expect(attested.map((a) => a.status)).toEqual(["Running", "Completed"]); // a job attests Running, then its result;
  });

  it("drift found while a service runs stops it and attests Tampered after Running", async () => {
    const { run, attested } = await setup(
      `
apiVersion: v1
kind: Pod
metadata: {name: svc}
spec:
  containers:
  - {name: c, image: x, command: ["sleep", "30"]}
`,
      async () => ["etc/hostname (content)"],
    );
    await run.start();
    expect(run.info.status).toBe("Running");
    expect(await run.reverify()).toEqual(["etc/hostname (content)"]);
    expect(run.info.status).toBe("Tampered");
    expect(run.info.lastExit).not.toBeNull();
    expect(attested.map((a) => a.status)).toEqual(["Running", "Tampered"]);
  });

  it("a lazy image whose background fetch ran out of disk: stopped and attested Failed as the node's fault, not Tampered", async () => {
    const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const { run, attested } = await setup(
      `
apiVersion: v1
kind: Pod
metadata: {name: svc-full-disk}
spec:
  containers:
  - {name: c, image: x, command: ["sleep", "30"]}
`,
      async () => [`background fetch: ${enospc.message}`],
      () => enospc,
    );
    await run.start();
    expect(run.info.status).toBe("Running");
    await run.reverify();
    expect(run.info.status).toBe("Failed");
    expect(run.info.message).toMatch(/could not be completed on this node's disk: ENOSPC/);
    expect(run.info.lastExit).not.toBeNull(); // stopped
    expect(attested.map((a) => [a.status, a.outputHash])).toEqual([
      ["Running", zeroHash],
      ["Failed", FAILURE_CAUSE.node],
    ]);
  });
});
