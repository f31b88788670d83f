/**
 * One local run of one replica placement (deployment id, index, attempt): fetch and verify the
 * spec and image against the on-chain hashes, launch it through the runtime driver, attest,
 * supervise exits with the restart policy, re-verify the files, and stop. The decisions it
 * applies are the pure functions of launchPlan.ts, restartPolicy.ts and measurement.ts.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { zeroHash, type Hex } from "viem";
import type { Logger } from "pino";
import type { DeploymentIntent } from "../chain/eip712";
import { Kind } from "../chain/eip712";
import { specFromCanonicalJson } from "../spec/canonicalSpec";
import { intentSpecMismatches } from "../spec/intentResources";
import { FAILURE_CAUSE } from "../chain/lifecycle";
import { isDiskFull } from "./diskPressure";
import type { WorkloadSpec } from "../spec/workloadSpec";
import { ImageError } from "../image/imageError";
import { StoreClient } from "../image/storeClient";
import type { LaunchRequest, RunningProcess, RuntimeDriver } from "./runtime/driver";
import type { ImageProvider, MaterializedImage } from "./imageProvider";
import type { QueuedAttestation } from "./attester";
import { launchPlan, type LaunchPlan } from "./launchPlan";
import { computeMeasurement } from "./measurement";
import { decideOnExit, type BackoffConfig } from "./restartPolicy";
import { readOutputHash } from "./outputHash";
import { LogClock } from "./logClock";

/** Local status of a replica run, as the HTTP API shows it. */
export type LocalStatus = "Preparing" | "Running" | "CrashLoopBackOff" | "Completed" | "Failed" | "Tampered" | "Stopped";

/** What the HTTP API shows about a run. */
export interface ReplicaRunInfo {
  deploymentId: Hex;
  replicaIndex: number;
  attempt: number;
  kind: "service" | "job" | null;
  status: LocalStatus;
  message: string | null;
  restarts: number;
  bytesFetched: number;
  bytesTotal: number;
  measurement: Hex | null;
  outputHash: Hex | null;
  argv: string[] | null;
  /** Host directory of this run's verified image tree (while it exists). */
  rootfs: string | null;
  startedAt: string | null;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  /** Attestations of this run that are on-chain: status -> transaction hash. */
  attested: Record<string, Hex>;
}

/** What a run needs from the agent. */
export interface ReplicaRunDeps {
  driver: RuntimeDriver;
  images: ImageProvider;
  storeMirrors: string[];
  /** Directory for this run (logs, rootfs, outputs). */
  runDir: string;
  logger: Logger;
  backoff: BackoffConfig;
  pidsLimit: number;
  agentVersion: string;
  readIntent(id: Hex): Promise<DeploymentIntent>;
  attest(att: QueuedAttestation): void;
  /** Delay between retries while the spec or image is unavailable. */
  retryMs?: number;
  /** How long an image the stores answer "not found" for is waited for before the replica is attested Failed (ms, default 60 s). */
  imageMissingMs?: number;
  /** Spec blobs already verified against their specHash (key: lower-case specHash). */
  specCache?: Map<string, Buffer>;
  /** The node's lease (lease.ts): nothing launches while it has lapsed, and a kill while it has lapsed is the fence, not a crash. */
  leaseValid?: () => boolean;
}

/** Used when neither the spec nor the image names a command (like a base image's default shell). */
export const FALLBACK_COMMAND = ["sh"];

/** One replica run. */
export class ReplicaRun {
  readonly info: ReplicaRunInfo;
  private stopped = false;
  private proc: RunningProcess | null = null;
  private image: MaterializedImage | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private intent: DeploymentIntent | null = null;
  private plan: LaunchPlan | null = null;
  private request: LaunchRequest | null = null;
  private verifying = false;
  private clocks: LogClock[] = [];
  private fenceState: "no" | "fencing" | "fenced" = "no";

  constructor(
    deploymentId: Hex,
    replicaIndex: number,
    attempt: number,
    private readonly deps: ReplicaRunDeps,
  ) {
    this.info = {
      deploymentId,
      replicaIndex,
      attempt,
      kind: null,
      status: "Preparing",
      message: null,
      restarts: 0,
      bytesFetched: 0,
      bytesTotal: 0,
      measurement: null,
      outputHash: null,
      argv: null,
      rootfs: null,
      startedAt: null,
      lastExit: null,
      attested: {},
    };
  }

  /** Process starting, running, or waiting to restart. */
  get active(): boolean {
    return !this.stopped && ["Preparing", "Running", "CrashLoopBackOff"].includes(this.info.status);
  }

  /** Stopped by the node's fence (its lease lapsed), and done stopping: once the lease is back, the agent starts this attempt again if it is still placed here. */
  get fenced(): boolean {
    return this.fenceState === "fenced";
  }

  /** The replica's name at the runtime (stable across agent restarts, so a restarted agent can adopt it). */
  get runtimeName(): string {
    return `${this.info.deploymentId.slice(2, 18)}-${this.info.replicaIndex}-${this.info.attempt}`;
  }

  get stdoutFile(): string {
    return path.join(this.deps.runDir, "stdout.log");
  }
  get stderrFile(): string {
    return path.join(this.deps.runDir, "stderr.log");
  }

  /** Prepare, verify and launch. Never throws: failures end in a status and, where due, an attestation. */
  async start(): Promise<void> {
    try {
      await this.prepareAndLaunch();
    } catch (err) {
      this.deps.logger.error({ err, replica: this.label() }, "replica run failed unexpectedly");
      if (!this.stopped) this.finish("Failed", `agent error: ${(err as Error).message}`, true, FAILURE_CAUSE.node);
    }
  }

  private label(): string {
    return `${this.info.deploymentId.slice(0, 10)}/${this.info.replicaIndex}#${this.info.attempt}`;
  }

  private async prepareAndLaunch(): Promise<void> {
    await fs.mkdir(this.deps.runDir, { recursive: true });
    const intent = await this.deps.readIntent(this.info.deploymentId);
    this.intent = intent;
    this.info.kind = intent.kind === Kind.Job ? "job" : "service";
    // 1. The spec, by its on-chain hash.
    let specBytes: Buffer | null = this.deps.specCache?.get(intent.specHash.toLowerCase()) ?? null;
    while (!this.stopped && !specBytes) {
      try {
        specBytes = Buffer.from(await new StoreClient(this.deps.storeMirrors, { timeoutMs: 10_000 }).getSpecBlob(intent.specHash));
        if (this.deps.specCache && this.deps.specCache.size >= 1000) this.deps.specCache.clear();
        this.deps.specCache?.set(intent.specHash.toLowerCase(), specBytes);
      } catch (err) {
        // The right bytes, too large: the deployer published and signed them, attested Failed. Any
        // other failure is the stores' (missing, tampered, unreachable): wait for a good copy.
        if (err instanceof ImageError && err.code === "TOO_LARGE") return this.finish("Failed", `spec refused: ${err.shortMessage}`, true);
        this.info.message = `waiting for the spec blob: ${err instanceof ImageError ? `${err.shortMessage} (${err.details})` : (err as Error).message}`;
        await sleep(this.deps.retryMs ?? 1000);
      }
    }
    if (this.stopped || !specBytes) return;
    let spec: WorkloadSpec;
    try {
      spec = specFromCanonicalJson(specBytes.toString("utf8"));
    } catch (err) {
      return this.finish("Failed", `spec blob matches specHash but is not a valid spec: ${(err as Error).message}`, true);
    }
    if ((spec.kind === "job") !== (intent.kind === Kind.Job)) {
      return this.finish("Failed", `intent kind ${intent.kind} contradicts spec kind ${spec.kind}`, true);
    }
    // The intent the deployer signed must describe the spec its specHash names (replicas of a
    // service may have been scaled since): else it is the deployer's fault, attested Failed.
    const mismatch = intentSpecMismatches(intent, spec, false);
    if (mismatch.length > 0) return this.finish("Failed", `intent contradicts its spec: ${mismatch.map((m) => m.message).join("; ")}`, true);
    const badOutput = spec.job?.outputs.find((o) => path.posix.dirname(o) === "/");
    if (badOutput) return this.finish("Failed", `output ${badOutput}: must be inside a directory (e.g. /out${badOutput}); the image root is read-only`, true);
    // 2. The image, by its on-chain root; every chunk verified on arrival.
    let image: MaterializedImage | null = null;
    const imageWaitStart = Date.now();
    while (!this.stopped && !image) {
      try {
        // Services start lazily once their entrypoint is present; a job waits for the whole image,
        // since a file it reads must never be missing (its output hash is compared across nodes).
        const entry = spec.command?.[0] ?? FALLBACK_COMMAND[0];
        image = await this.deps.images.materialize(intent.imageRoot, path.join(this.deps.runDir, "rootfs"), {
          lazy: spec.kind === "service",
          priority: [entry],
        });
      } catch (err) {
        const code = err instanceof ImageError ? err.code : undefined;
        // A chunk that does not match its address is this node's copy or its store's: the node
        // reports it (never slashed for it) and the replica is re-placed without a retry.
        if (code === "TAMPERED") return this.finish("Tampered", `image refused: ${(err as Error).message}`, true);
        if (code === "NOT_FOUND" && Date.now() - imageWaitStart > (this.deps.imageMissingMs ?? 60_000)) {
          // Nobody has the image the deployer named: the deployer's fault, Failed with the reason.
          return this.finish("Failed", `image ${intent.imageRoot} not found in any store: ${(err as Error).message}`, true);
        }
        if (code === "NOT_FOUND" || code === "UNAVAILABLE") {
          this.info.message = `waiting for the image: ${(err as Error).message}`;
          await sleep(this.deps.retryMs ?? 1000);
        } else return this.finish("Failed", `image cannot be materialized on this node: ${(err as Error).message}`, true, FAILURE_CAUSE.node);
      }
    }
    if (!image) return;
    this.image = image;
    if (this.stopped) return void image.remove().catch(() => undefined);
    this.info.rootfs = image.dir;
    this.info.bytesFetched = image.bytesFetched;
    this.info.bytesTotal = image.bytesTotal;
    this.deps.logger.info(
      {
        replica: this.label(),
        bytesFetched: image.bytesFetched,
        bytesTotal: image.bytesTotal,
        fractionFetched: image.bytesTotal ? Math.round((image.bytesFetched / image.bytesTotal) * 1e4) / 1e4 : 0,
      },
      `image ready to start: fetched ${image.bytesFetched} of ${image.bytesTotal} bytes (the node's chunk cache had the rest${spec.kind === "service" ? ", or it follows in the background" : ""})`,
    );
    // 3. The exact launch, its measurement, and the start.
    const plan = launchPlan(spec, image.defaults, { cpuMillis: intent.cpuMillis, memoryMiB: intent.memoryMiB }, this.deps.pidsLimit);
    if (plan.argv.length === 0) plan.argv = [...FALLBACK_COMMAND];
    this.plan = plan;
    this.info.argv = plan.argv;
    this.info.measurement = computeMeasurement({
      specHash: intent.specHash,
      imageRoot: intent.imageRoot,
      argv: plan.argv,
      env: plan.env,
      limits: plan.limits,
      driver: this.deps.driver.name,
      agentVersion: this.deps.agentVersion,
    });
    const outputsDir = path.join(this.deps.runDir, "outputs");
    this.request = {
      name: this.runtimeName,
      image: { root: intent.imageRoot, rootfs: image.dir },
      argv: plan.argv,
      env: plan.env,
      workingDir: plan.workingDir,
      limits: plan.limits,
      network: plan.network,
      writableDirs: plan.outputDirs.map((inside) => ({ inside, host: path.join(outputsDir, encodeURIComponent(inside)) })),
      stdoutFile: this.stdoutFile,
      stderrFile: this.stderrFile,
    };
    await this.launch();
    // Services and jobs alike: paid run time starts at the Running attestation. A job that ends
    // before it went out completes straight from Scheduled, paid from its placement (the
    // attester replaces the unsent Running with the Completed).
    if (this.info.status === "Running") this.attest("Running", zeroHash);
  }

  private async launch(): Promise<void> {
    if (this.stopped || !this.request) return;
    if (this.deps.leaseValid && !this.deps.leaseValid()) return void this.fence("the node's lease has lapsed: not launched");
    const started = Date.now();
    try {
      // Still running from an earlier agent process (restarted within the node-lost window): take it over, never start it twice.
      const adopted = this.info.restarts === 0 ? await this.deps.driver.adopt(this.request.name) : null;
      if (adopted) this.deps.logger.info({ replica: this.label(), pid: adopted.pid }, "replica adopted: still running from an earlier agent process");
      this.proc = adopted ?? (await this.deps.driver.launch(this.request));
    } catch (err) {
      return this.finish("Failed", `launch failed: ${(err as Error).message}`, true, FAILURE_CAUSE.node);
    }
    this.info.status = "Running";
    this.info.message = null;
    this.info.startedAt = new Date(started).toISOString();
    this.startLogClocks();
    this.deps.logger.info({ replica: this.label(), pid: this.proc.pid, argv: this.request.argv, restarts: this.info.restarts }, "replica started");
    const proc = this.proc;
    void proc.exited.then((exit) => this.onExit(proc, exit, Date.now() - started));
  }

  private async onExit(proc: RunningProcess, exit: { code: number | null; signal: string | null }, ranForMs: number): Promise<void> {
    if (this.proc !== proc) return;
    this.proc = null;
    this.info.lastExit = { ...exit, at: new Date().toISOString() };
    if (this.stopped || this.info.status === "Tampered") return;
    // Killed while the lease had lapsed: the node monitor fenced it (the agent was frozen or cut off
    // from the chain). Not the workload's fault: no attestation, no restart; the agent starts the
    // attempt again once the chain confirms it is still placed here.
    if (exit.code === null && this.deps.leaseValid && !this.deps.leaseValid()) return void this.fence("killed while the node's lease had lapsed");
    const verdict = decideOnExit({
      kind: this.info.kind ?? "service",
      policy: this.plan!.restartPolicy,
      exit,
      restarts: this.info.restarts,
      ranForMs,
      backoff: this.deps.backoff,
    });
    if (verdict.action === "restart") {
      this.info.status = "CrashLoopBackOff";
      this.info.message = `exited with ${exit.code ?? exit.signal}; restarting in ${verdict.delayMs} ms (restartPolicy ${this.plan!.restartPolicy})`;
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (this.stopped) return;
        this.info.restarts++;
        void this.launch();
      }, verdict.delayMs);
      return;
    }
    if (verdict.action === "attest" && verdict.status === "Completed") {
      const outputs = Object.fromEntries(
        (this.plan!.outputs ?? []).map((o) => [o, path.join(this.deps.runDir, "outputs", encodeURIComponent(path.posix.dirname(o)), path.posix.basename(o))]),
      );
      this.info.outputHash = await readOutputHash(this.stdoutFile, outputs);
      return this.finish("Completed", null, true, this.info.outputHash);
    }
    if (verdict.action === "attest") return this.finish("Failed", `exited with ${exit.code ?? exit.signal}`, true);
    return this.finish("Completed", `exited with 0 under restartPolicy ${this.plan!.restartPolicy}`, false);
  }

  private finish(status: "Completed" | "Failed" | "Tampered", message: string | null, attest: boolean, outputHash: Hex = zeroHash): void {
    this.info.status = status;
    this.info.message = message;
    if (status !== "Completed") this.deps.logger.warn({ replica: this.label(), status, message }, "replica ended");
    else this.deps.logger.info({ replica: this.label(), outputHash }, "replica completed");
    if (attest) this.attest(status, outputHash);
    void this.stopLogClocks();
    // The run is over: the runtime forgets it (a leftover of an earlier agent process is stopped), and its rootfs
    // is no longer needed (logs and outputs stay).
    void this.deps.driver.remove(this.runtimeName).catch(() => undefined);
    const image = this.image;
    this.image = null;
    void image?.remove().catch(() => undefined);
  }

  private attest(status: QueuedAttestation["status"], outputHash: Hex): void {
    const intent = this.intent;
    const measurement =
      this.info.measurement ??
      // Refused before a launch existed: measure what was to be launched (nothing) under this agent.
      computeMeasurement({
        specHash: intent?.specHash ?? zeroHash,
        imageRoot: intent?.imageRoot ?? zeroHash,
        argv: [],
        env: {},
        limits: { cpuMillis: intent?.cpuMillis ?? 0, memoryMiB: intent?.memoryMiB ?? 0, pids: this.deps.pidsLimit },
        driver: this.deps.driver.name,
        agentVersion: this.deps.agentVersion,
      });
    this.deps.attest({
      deploymentId: this.info.deploymentId,
      replicaIndex: this.info.replicaIndex,
      attempt: this.info.attempt,
      status,
      measurement,
      outputHash,
    });
  }

  /** Notes when the logs grow (logClock.ts), from the first launch until the run ends. */
  private startLogClocks(): void {
    if (this.clocks.length > 0) return;
    this.clocks = [new LogClock(this.stdoutFile), new LogClock(this.stderrFile)];
    for (const c of this.clocks) c.start();
  }

  private async stopLogClocks(): Promise<void> {
    await Promise.all(this.clocks.map((c) => c.stop()));
  }

  /** Stamps what the logs hold now (before the HTTP API reads them). */
  async sampleLogs(): Promise<void> {
    await Promise.all(this.clocks.map((c) => c.sample()));
  }

  /** Re-verify the running replica's files; on drift stop it and attest Tampered. Returns the drift. */
  async reverify(): Promise<string[]> {
    if (!this.image || this.verifying || !["Running", "CrashLoopBackOff"].includes(this.info.status)) return [];
    this.verifying = true;
    try {
      const image = this.image;
      const drift = await image.verify();
      // The run may have ended (and its tree been removed) while verifying: then there is nothing to judge.
      if (drift.length > 0 && !this.stopped && this.image === image && ["Running", "CrashLoopBackOff"].includes(this.info.status)) {
        this.info.status = "Tampered"; // the exit of the halted process is not the workload's
        await this.halt();
        // A lazy image whose background fetch ran out of disk is incomplete, not tampered with:
        // Failed as the node's fault (re-placed without a retry; the node is under DiskPressure).
        const fetchError = image.fetchError?.();
        if (fetchError && isDiskFull(fetchError))
          this.finish("Failed", `image could not be completed on this node's disk: ${fetchError.message}`, true, FAILURE_CAUSE.node);
        else this.finish("Tampered", `image files changed on disk: ${drift.slice(0, 5).join(", ")}${drift.length > 5 ? ` (+${drift.length - 5})` : ""}`, true);
      }
      return drift;
    } finally {
      this.verifying = false;
    }
  }

  private async halt(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const p = this.proc;
    this.proc = null;
    if (p) {
      const exit = await p.stop();
      this.info.lastExit = { ...exit, at: new Date().toISOString() };
    }
  }

  /**
   * Stop the run because the node's lease lapsed (fencing): it may not run until the chain confirms
   * its placement again. A run that is not active is left as it is.
   */
  async fence(reason: string): Promise<void> {
    if (this.fenceState !== "no" || !this.active) return;
    this.fenceState = "fencing";
    this.deps.logger.warn({ replica: this.label(), reason }, "replica fenced");
    await this.stop(`fenced: ${reason}`);
    this.fenceState = "fenced";
  }

  /**
   * Refuse this placement without trying it (the node cannot run it now, e.g. under DiskPressure):
   * attested Failed as the node's fault, so the watcher re-places it without using the deployer's retries.
   */
  refuse(reason: string): void {
    if (this.stopped || !this.active) return;
    this.finish("Failed", reason, true, FAILURE_CAUSE.node);
  }

  /** Stop the run (no longer assigned, or the agent shuts down). */
  async stop(reason: string): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.halt();
    await this.stopLogClocks();
    if (["Preparing", "Running", "CrashLoopBackOff"].includes(this.info.status)) {
      this.info.status = "Stopped";
      this.info.message = reason;
      this.deps.logger.info({ replica: this.label(), reason }, "replica stopped");
    }
    await this.deps.driver.remove(this.runtimeName).catch(() => undefined);
    await this.image?.remove().catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
