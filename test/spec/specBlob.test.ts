/** Agent side: a fetched spec blob is re-validated strictly and must already be canonical. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import canonicalize from "canonicalize";
import { sha256, stringToBytes } from "viem";
import { canonicalSpecJson, computeSpecHash, parseManifests, specFromCanonicalJson, SpecError } from "../../src/spec";

const [job] = parseManifests(readFileSync("examples/job.yaml", "utf8"));
const blob = canonicalSpecJson(job.spec);

function errorOf(json: string): SpecError {
  try {
    specFromCanonicalJson(json);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error("expected a SpecError");
}

const tamper = (patch: (o: Record<string, any>) => void): string => {
  const o = JSON.parse(blob);
  patch(o);
  return canonicalize(o)!;
};

describe("specFromCanonicalJson", () => {
  it.each(["deployment.yaml", "zero-image-pod.yaml", "smart-contract.yaml", "job.yaml"])("round-trips %s and its hash matches sha256(blob)", (f) => {
    const [w] = parseManifests(readFileSync(`examples/${f}`, "utf8"));
    const json = canonicalSpecJson(w.spec);
    const spec = specFromCanonicalJson(json);
    expect(spec).toEqual(w.spec);
    expect(computeSpecHash(spec)).toBe(sha256(stringToBytes(json)));
  });

  it("rejects a blob that is valid but not canonical (one spec, one encoding)", () => {
    expect(errorOf(JSON.stringify(job.spec, null, 2)).shortMessage).toMatch(/not in RFC 8785 canonical form/);
    expect(errorOf(JSON.stringify(job.spec)).shortMessage).toMatch(/not in RFC 8785 canonical form/); // insertion key order
  });

  it("rejects malformed JSON", () => {
    expect(errorOf(blob.slice(0, -1)).shortMessage).toMatch(/spec blob is not JSON/);
  });

  it.each<[string, (o: Record<string, any>) => void, string]>([
    ["replicas 0", (o) => (o.replicas = 0), "replicas"],
    ["unknown field", (o) => (o.privileged = true), "privileged"],
    ["missing field", (o) => delete o.image, "image"],
    ["other format version", (o) => (o.format = "hypha.spec/v2"), "format"],
    ["float cpu", (o) => (o.resources.cpuMillis = 0.5), "resources.cpuMillis"],
    ["job without job fields", (o) => (o.job = null), "job"],
    ["service with job fields", (o) => (o.kind = "service"), "job"],
    ["quorum above replicas", (o) => (o.job.quorum = 4), "job.quorum"],
    [
      "unsorted env",
      (o) =>
        (o.env = [
          { name: "B", value: "" },
          { name: "A", value: "" },
        ]),
      "env[1]",
    ],
    ["relative output", (o) => (o.job.outputs = ["out.txt"]), "job.outputs[0]"],
    ["job restart Always", (o) => (o.restartPolicy = "Always"), "restartPolicy"],
    ["bad label", (o) => (o.labels = { "-x": "y" }), "labels.-x"],
  ])("rejects %s", (_name, patch, path) => {
    const err = errorOf(tamper(patch));
    expect(err.issues.map((i) => i.path)).toContain(path);
  });
});
