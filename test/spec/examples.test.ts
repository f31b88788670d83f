/** The seed's three example manifests (verbatim in examples/) and the Job example parse to the expected specs. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Kind } from "../../src/chain/eip712";
import { checkSignedContract, intentResources, intentWorkloadFields, parseManifests, SpecError, type WorkloadSpec } from "../../src/spec";

const read = (f: string) => readFileSync(`examples/${f}`, "utf8");
const defaults = { cpuMillis: 100, memoryBytes: 64 * 1024 * 1024, diskBytes: 256 * 1024 * 1024 };

describe("examples", () => {
  it("the example files hold the seed's text verbatim", () => {
    const seed = readFileSync("/work/shared/seed-mycelium-compute.md", "utf8");
    for (const f of ["deployment.yaml", "zero-image-pod.yaml", "smart-contract.yaml"]) {
      expect(seed.includes(read(f).trimEnd()), f).toBe(true);
    }
  });

  it("seed Deployment (apiVersion v1 as the seed writes it)", () => {
    const [w] = parseManifests(read("deployment.yaml"));
    expect(w.source).toBe("Deployment");
    expect(w.signed).toBeUndefined();
    expect(w.spec).toEqual<WorkloadSpec>({
      format: "hypha.spec/v1",
      name: "deterministic-app",
      kind: "service",
      image: "ubuntu:latest",
      command: ["echo", "Deterministic deployment"],
      args: [],
      env: [],
      workingDir: null,
      resources: defaults,
      replicas: 3,
      restartPolicy: "Always",
      ports: [],
      labels: { app: "deterministic-app" },
      job: null,
    });
  });

  it("seed zero-image Pod", () => {
    const [w] = parseManifests(read("zero-image-pod.yaml"));
    expect(w.source).toBe("Pod");
    expect(w.spec.image).toBe("zero-image://ubuntu-latest");
    expect(w.spec.command).toEqual(["echo", "Running on zero-image"]);
    expect(w.spec.replicas).toBe(1);
    expect(w.spec.restartPolicy).toBe("Always");
  });

  it("seed smart-contract ConfigMap: image ubuntu-latest, no command, placeholders flagged", () => {
    const [w] = parseManifests(read("smart-contract.yaml"));
    expect(w.source).toBe("ConfigMap");
    expect(w.spec).toMatchObject({ name: "deployment-contract", image: "ubuntu-latest", command: null, args: [], replicas: 3, kind: "service" });
    expect(w.signed).toEqual({ verificationHash: "sha256_hash_of_workload", signature: "cryptographically_signed_deployment", placeholder: true });
    expect(() => checkSignedContract(w, "examples/smart-contract.yaml")).toThrow(SpecError);
    try {
      checkSignedContract(w, "examples/smart-contract.yaml");
    } catch (e) {
      expect((e as SpecError).shortMessage).toMatch(/specHash is 0x[0-9a-f]{64}.*hypha sign -f examples\/smart-contract.yaml/);
    }
  });

  it("job example: 3 redundant replicas, quorum 2, declared output, limits win over requests", () => {
    const [w] = parseManifests(read("job.yaml"));
    expect(w.source).toBe("Job");
    expect(w.spec.kind).toBe("job");
    expect(w.spec.replicas).toBe(3);
    expect(w.spec.restartPolicy).toBe("Never");
    expect(w.spec.job).toEqual({ quorum: 2, outputs: ["/out/result.txt"], backoffLimit: 2 });
    expect(w.spec.command).toEqual(["sh", "-c"]);
    expect(w.spec.resources).toEqual({ cpuMillis: 250, memoryBytes: 64 * 1024 * 1024, diskBytes: 256 * 1024 * 1024 });
    expect(intentWorkloadFields(w.spec)).toEqual({ replicas: 3, kind: Kind.Job, quorum: 2, cpuMillis: 250, memoryMiB: 64, diskMiB: 256 });
  });

  it("a file with all four examples as documents parses in order", () => {
    const text = ["deployment.yaml", "zero-image-pod.yaml", "smart-contract.yaml", "job.yaml"].map(read).join("\n---\n");
    const ws = parseManifests(text);
    expect(ws.map((w) => [w.document, w.source])).toEqual([
      [0, "Deployment"],
      [1, "Pod"],
      [2, "ConfigMap"],
      [3, "Job"],
    ]);
  });
});

describe("intentResources", () => {
  it("rounds memory and disk UP to whole MiB", () => {
    const [w] = parseManifests(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - image: x\n    resources:\n      limits: {cpu: 1500m, memory: 100M, ephemeral-storage: 1Gi}\n",
    );
    // 100M = 100_000_000 bytes = 95.367... MiB -> 96
    expect(intentResources(w.spec)).toEqual({ cpuMillis: 1500, memoryMiB: 96, diskMiB: 1024 });
    expect(intentWorkloadFields(w.spec)).toMatchObject({ kind: Kind.Service, quorum: 0, replicas: 1 });
  });
});
