import { autoRuntime } from "../../src/agent/runtime/registry";
import { describe, expect, it } from "vitest";
import pino from "pino";
import { resolveAgentConfig, type AgentConfig } from "../../src/agent/config";
import { AgentError } from "../../src/agent/errors";
import { chooseDriver } from "../../src/agent/runAgent";
import { launchPlan } from "../../src/agent/launchPlan";
import { parseManifests } from "../../src/spec/parseManifests";

const good: AgentConfig = {
  rpcUrl: "http://127.0.0.1:8545",
  deploymentFile: "deployments",
  nodeId: 1,
  agentPrivateKey: `0x${"11".repeat(32)}`,
  listen: { host: "127.0.0.1", port: 0 },
  storeMirrors: ["http://127.0.0.1:7700"],
  dataDir: "/tmp/x",
};

describe("agent config", () => {
  it("fills defaults", () => {
    expect(resolveAgentConfig(good)).toMatchObject({ runtime: "auto", pollIntervalMs: 500, restartBackoffMs: 10_000, pidsLimit: 512 });
  });

  it.each([
    ["nodeId", { nodeId: 0 }],
    ["agentPrivateKey", { agentPrivateKey: "0x12" }],
    ["rpcUrl", { rpcUrl: "ftp://x" }],
    ["storeMirrors", { storeMirrors: [] }],
    ["listen.port", { listen: { host: "127.0.0.1", port: 70000 } }],
    ["deploymentFile", { deploymentFile: undefined }],
    ["runtime", { runtime: "docker" }],
  ])("rejects a bad %s, naming it", (field, over) => {
    let err: unknown;
    try {
      resolveAgentConfig({ ...good, ...(over as Partial<AgentConfig>) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).field).toBe(field);
    expect((err as AgentError).shortMessage).toContain(field);
  });
});

describe("runtime choice", () => {
  const logger = pino({ level: "silent" });
  it("auto takes a sandbox; the unisolated process driver only when named", () => {
    const dataDir = "/tmp/hypha-config-test";
    const auto = autoRuntime().name;
    if (auto) expect(chooseDriver({ runtime: "auto", cgroupRoot: null, dataDir }, logger)).toMatchObject({ name: auto, sandboxed: true });
    else expect(() => chooseDriver({ runtime: "auto", cgroupRoot: null, dataDir }, logger)).toThrow(/no sandbox can run/);
    expect(chooseDriver({ runtime: "process", cgroupRoot: null, dataDir }, logger)).toMatchObject({ name: "process", sandboxed: false });
  });
});

describe("launch plan", () => {
  it("uses the spec's command, the reservation as limits, and network only with ports", () => {
    const [{ spec }] = parseManifests(`
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: ubuntu:latest
    command: ["httpd", "-f"]
    args: ["-p", "8080"]
    env: [{name: MODE, value: prod}]
    ports: [{containerPort: 8080}]
`);
    const plan = launchPlan(spec, { entrypoint: ["ignored"], cmd: ["ignored"], env: { A: "1" } }, { cpuMillis: 250, memoryMiB: 64 }, 100);
    expect(plan.argv).toEqual(["httpd", "-f", "-p", "8080"]);
    expect(plan.env).toMatchObject({ A: "1", MODE: "prod" });
    expect(plan.env.PATH).toBeDefined();
    expect(plan.limits).toEqual({ cpuMillis: 250, memoryMiB: 64, pids: 100 });
    expect(plan.network).toBe(true);
    const noCmd = { ...spec, command: null, args: [], ports: [] };
    expect(launchPlan(noCmd, { entrypoint: ["/init"], cmd: ["--x"] }, { cpuMillis: 1, memoryMiB: 1 }, 1)).toMatchObject({
      argv: ["/init", "--x"],
      network: false,
    });
  });
});
