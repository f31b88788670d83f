/**
 * The pure halves of the kubectl-style CLI: apply's plan (unchanged / scale / replace / create),
 * the name / id / prefix matcher, and the cost estimate.
 */
import { describe, expect, it } from "vitest";
import type { DeploymentResource } from "../../src/api/deploymentResource";
import { describeAction, diffLines, planApply, specChanges } from "../../src/cli/applyPlan";
import { estimateCost, formatDuration } from "../../src/cli/costEstimate";
import { matchDeploymentRef } from "../../src/cli/deploymentRef";
import type { NodeView } from "../../src/chain/nodes";
import { computeSpecHash, parseManifests } from "../../src/spec";

const manifest = (replicas: number, text = "hello") =>
  parseManifests(
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: ${replicas}\n  template:\n    spec:\n      containers:\n      - name: c\n        image: ubuntu:latest\n        command: [echo, ${text}]\n`,
  )[0].spec;

function resource(spec: ReturnType<typeof manifest>, desired = spec.replicas): DeploymentResource {
  return {
    id: `0x${"12".repeat(32)}`,
    name: spec.name,
    kind: spec.kind,
    phase: "Running",
    replicas: { desired, placed: desired, running: desired },
    intent: { specHash: computeSpecHash(spec) },
    submitted: { block: "9" },
  } as unknown as DeploymentResource;
}

describe("planApply", () => {
  it("no active deployment of that name: create", () => {
    expect(planApply(manifest(1), computeSpecHash(manifest(1)), [])).toEqual({ action: "create", name: "web" });
  });
  it("the same spec: unchanged; after a scale, the scaled count counts as the spec's", () => {
    const s = manifest(1);
    expect(planApply(s, computeSpecHash(s), [{ resource: resource(s), spec: s }]).action).toBe("unchanged");
    const s3 = manifest(3);
    expect(planApply(s3, computeSpecHash(s3), [{ resource: resource(s, 3), spec: s }]).action).toBe("unchanged");
  });
  it("only replicas differ on a service: scale; anything else: replace, naming the fields", () => {
    const s = manifest(1);
    const p = planApply(manifest(3), computeSpecHash(manifest(3)), [{ resource: resource(s), spec: s }]);
    expect(p).toMatchObject({ action: "scale", from: 1, to: 3 });
    expect(describeAction(p)).toBe(`web: will scale deployment 0x${"12".repeat(32)} from 1 to 3 replicas (no new escrow)`);
    const changed = manifest(1, "bye");
    const r = planApply(changed, computeSpecHash(changed), [{ resource: resource(s), spec: s }]);
    expect(r).toMatchObject({ action: "replace", changes: [{ path: "command.1", from: "hello", to: "bye" }] });
    expect(diffLines(specChanges(s, changed))).toEqual(["-  command.1: hello", "+  command.1: bye"]);
  });
  it("without the old spec blob, the specHash decides", () => {
    const s = manifest(1);
    expect(planApply(s, computeSpecHash(s), [{ resource: resource(s) }]).action).toBe("unchanged");
    expect(planApply(manifest(2), computeSpecHash(manifest(2)), [{ resource: resource(s) }]).action).toBe("replace");
  });
  it("the same spec whose image name now resolves to another root: replace", () => {
    const s = manifest(1);
    const r = resource(s);
    (r.intent as { imageRoot: string }).imageRoot = `0x${"aa".repeat(32)}`;
    expect(planApply(s, computeSpecHash(s), [{ resource: r, spec: s }], `0x${"aa".repeat(32)}`).action).toBe("unchanged");
    expect(planApply(s, computeSpecHash(s), [{ resource: r, spec: s }], `0x${"bb".repeat(32)}`)).toMatchObject({
      action: "replace",
      changes: [{ path: "imageRoot" }],
    });
  });

  it("two active deployments of one name: refused, listing both", () => {
    const s = manifest(1);
    expect(() => planApply(s, computeSpecHash(s), [{ resource: resource(s) }, { resource: resource(s) }])).toThrow(
      /web: 2 active deployments of yours carry this name/,
    );
  });
});

describe("matchDeploymentRef", () => {
  const a = { id: `0xaaaaaa11${"0".repeat(56)}` as const, name: "web", phase: "Running" as const, block: 5n };
  const b = { id: `0xaaaaaa22${"0".repeat(56)}` as const, name: "web", phase: "Deleted" as const, block: 3n };
  const c = { id: `0xbbbb${"0".repeat(60)}` as const, name: "job", phase: "Succeeded" as const, block: 7n };
  it("full id, unique prefix (also as printed with …), name", () => {
    expect(matchDeploymentRef(c.id, [a, b, c])).toBe(c);
    expect(matchDeploymentRef("0xaaaaaa11", [a, b, c])).toBe(a);
    expect(matchDeploymentRef("0xbbbb0000…", [a, b, c])).toBe(c);
    expect(matchDeploymentRef("job", [a, b, c])).toBe(c);
  });
  it("a name shared with ended deployments means the active one; else the candidates are listed", () => {
    expect(matchDeploymentRef("web", [a, b, c])).toBe(a);
    const a2 = { ...a, id: `0xaaaaaa33${"0".repeat(56)}` as const };
    expect(() => matchDeploymentRef("web", [a, a2, b])).toThrow(/name "web" matches 2 deployments/);
    try {
      matchDeploymentRef("0xaaaaaa", [a, b]);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain(a.id);
      expect((err as Error).message).toContain(b.id);
    }
    expect(() => matchDeploymentRef("0xaaaaaa", [a, b])).toThrow(/id prefix 0xaaaaaa matches 2 deployments/);
  });
  it("unknown names, prefixes and too-short prefixes are named", () => {
    expect(() => matchDeploymentRef("nope", [a, c])).toThrow(/deployment "nope": no deployment has this name/);
    expect(() => matchDeploymentRef("0xcccccc", [a])).toThrow(/no deployment id starts with 0xcccccc/);
    expect(() => matchDeploymentRef("0xaa", [a])).toThrow(/at least 6 hex digits/);
  });
});

describe("estimateCost", () => {
  const node = (id: number, price: bigint, freeCpuMillis = 4000): NodeView =>
    ({ id, pricePerSecond: price, freeCpuMillis, freeMemoryMiB: 4096, freeDiskMiB: 10_000, freeSlots: 64, jailed: false, unbondingSince: 0n }) as NodeView;
  const intent = { replicas: 2, cpuMillis: 1000, memoryMiB: 64, diskMiB: 256, maxPricePerSecond: 10n, budget: 72_000n, kind: 0 } as never;
  it("prices the cheapest nodes that fit; the escrow's duration follows", () => {
    const e = estimateCost(intent, [node(1, 5n), node(2, 1n, 1000)]);
    expect(e).toMatchObject({ escrow: 72_000n, maxPerHour: 72_000n, estimatedPerHour: (1n + 5n) * 3600n, fitting: 2 });
    expect(e.lastsSeconds).toBe(12_000n);
    expect(formatDuration(e.lastsSeconds!)).toBe("3h 20m");
  });
  it("too expensive or full nodes do not count", () => {
    const e = estimateCost(intent, [node(1, 11n), node(2, 1n, 500)]);
    expect(e.fitting).toBe(0);
    expect(e.estimatedPerHour).toBeUndefined();
    expect(e.lastsSeconds).toBe(3600n); // at the max price
  });
});
