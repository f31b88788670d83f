/**
 * Same meaning => same specHash; different meaning => different specHash. A random workload model
 * is rendered as YAML in many random but equivalent ways (key order, flow or block style, quoting,
 * comments, quantity spellings, defaults written or omitted, requests vs limits, apiVersion v1 or
 * apps/v1); every rendering must parse to the spec the test derives from the model on its own.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Document, Scalar, isCollection, isScalar, visit } from "yaml";
import { computeSpecHash, LIMITS, parseManifests, type WorkloadSpec } from "../../src/spec";

interface Model {
  name: string;
  image: string;
  command: string[] | null;
  args: string[];
  env: { name: string; value: string }[];
  workingDir: string | null;
  cpuMillis: number | null;
  memoryBytes: number | null;
  diskBytes: number | null;
  replicas: number;
  labels: Record<string, string>;
  ports: { containerPort: number; protocol: "TCP" | "UDP" }[];
}

const MI = 1024 * 1024;
const text = fc.string({ maxLength: 12, unit: fc.constantFrom(..."abcXYZ019 :#-'\"{}[],&*!|>%@`\\€ö\t".split("")) });
const modelArb: fc.Arbitrary<Model> = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/),
  image: fc.constantFrom("ubuntu:latest", "zero-image://ubuntu-latest", "busybox", "registry.local:5000/app:1.2"),
  command: fc.option(fc.array(text, { minLength: 1, maxLength: 3 }), { nil: null }),
  args: fc.array(text, { maxLength: 3 }),
  env: fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/), value: text }), { selector: (e) => e.name, maxLength: 4 }),
  workingDir: fc.option(fc.constantFrom("/", "/app", "/srv/data dir"), { nil: null }),
  cpuMillis: fc.option(fc.integer({ min: 1, max: 64_000 }), { nil: null }),
  memoryBytes: fc.option(
    fc.oneof(
      fc.integer({ min: 1, max: 4096 }).map((n) => n * MI),
      fc.integer({ min: 1, max: 2 ** 40 }),
    ),
    { nil: null },
  ),
  diskBytes: fc.option(
    fc.integer({ min: 1, max: 1024 }).map((n) => n * MI),
    { nil: null },
  ),
  replicas: fc.integer({ min: 1, max: LIMITS.maxReplicas }),
  labels: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), fc.stringMatching(/^[a-z0-9]{0,6}$/), { maxKeys: 3 }),
  ports: fc.uniqueArray(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }), protocol: fc.constantFrom("TCP" as const, "UDP" as const) }), {
    selector: (p) => `${p.containerPort}/${p.protocol}`,
    maxLength: 3,
  }),
});

/** The spec the model means, derived here independently of the parser. */
function expectedSpec(m: Model): WorkloadSpec {
  return {
    format: "hypha.spec/v1",
    name: m.name,
    kind: "service",
    image: m.image,
    command: m.command,
    args: m.args,
    env: [...m.env].sort((a, b) => (a.name < b.name ? -1 : 1)),
    workingDir: m.workingDir,
    resources: { cpuMillis: m.cpuMillis ?? 100, memoryBytes: m.memoryBytes ?? 64 * MI, diskBytes: m.diskBytes ?? 256 * MI },
    replicas: m.replicas,
    restartPolicy: "Always",
    ports: [...m.ports].sort((a, b) => a.containerPort - b.containerPort || (a.protocol < b.protocol ? -1 : 1)).map((p) => ({ ...p, name: null })),
    labels: m.labels,
    job: null,
  };
}

function rngFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A YAML number node written as `0.500` or `1e+3` (not a quoted string). */
function Num(source: string): Scalar {
  const node = new Scalar(Number(source));
  if (/e/i.test(source)) node.format = "EXP";
  const frac = /\.(\d+)/.exec(source);
  if (frac) node.minFractionDigits = frac[1].length;
  return node;
}

function cpuSpellings(m: number): unknown[] {
  const out: unknown[] = [`${m}m`];
  const whole = Math.floor(m / 1000);
  const frac = String(m % 1000).padStart(3, "0");
  out.push(`${whole}.${frac}`, Num(`${whole}.${frac}`), Num(`${m}e-3`));
  if (m % 1000 === 0) out.push(Num(String(whole)), String(whole));
  return out;
}

function byteSpellings(b: number): unknown[] {
  const out: unknown[] = [Num(String(b)), String(b)];
  for (const [unit, suffix] of [
    [1024, "Ki"],
    [MI, "Mi"],
    [1024 * MI, "Gi"],
  ] as const)
    if (b % unit === 0) out.push(`${b / unit}${suffix}`);
  if (b % 1000 === 0) out.push(`${b / 1000}k`, Num(`${b / 1000}e3`));
  if (b % (512 * MI) === 0) out.push(`${b / (1024 * MI)}Gi`.replace(/^(\d+)\.5Gi$/, "$1.5Gi"));
  if (b % MI === 0 && (b / MI) % 2 === 1) out.push(`${b / MI / 1024}Gi`); // e.g. 0.5Gi style decimal with binary suffix when exact
  return out.filter((s) => typeof s !== "string" || !/e-|\d\.\d{11,}/.test(s));
}

function render(m: Model, seed: number): string {
  const rng = rngFrom(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rng() * xs.length)];
  const maybe = (p = 0.5) => rng() < p;
  const shuffle = (o: Record<string, unknown>) => {
    const entries = Object.entries(o).filter(([, v]) => v !== undefined);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [entries[i], entries[j]] = [entries[j], entries[i]];
    }
    return Object.fromEntries(entries);
  };
  const resources: Record<string, Record<string, unknown>> = {};
  const place = (key: string, value: number | null, fallback: number, spell: (n: number) => unknown[]) => {
    const n = value ?? (maybe() ? fallback : null);
    if (n === null) return;
    const where = pick(["requests", "limits", "both"]);
    for (const side of where === "both" ? ["requests", "limits"] : [where]) (resources[side] ??= {})[key] = pick(spell(n));
  };
  place("cpu", m.cpuMillis, 100, cpuSpellings);
  place("memory", m.memoryBytes, 64 * MI, byteSpellings);
  place("ephemeral-storage", m.diskBytes, 256 * MI, byteSpellings);
  const container = shuffle({
    name: maybe() ? "app" : undefined,
    image: m.image,
    command: m.command ?? (maybe(0.2) ? null : undefined),
    args: m.args.length > 0 || maybe(0.3) ? m.args : undefined,
    env: m.env.length > 0 || maybe(0.3) ? m.env.map((e) => shuffle({ name: e.name, value: e.value === "" && maybe() ? undefined : e.value })) : undefined,
    workingDir: m.workingDir ?? undefined,
    ports:
      m.ports.length > 0
        ? m.ports.map((p) => shuffle({ containerPort: p.containerPort, protocol: p.protocol === "TCP" && maybe() ? undefined : p.protocol }))
        : undefined,
    resources: Object.keys(resources).length > 0 ? shuffle(Object.fromEntries(Object.entries(resources).map(([k, v]) => [k, shuffle(v)]))) : undefined,
  });
  const labels = Object.keys(m.labels).length > 0 || maybe(0.3) ? shuffle(m.labels) : undefined;
  const doc = shuffle({
    apiVersion: pick(["apps/v1", "v1"]),
    kind: "Deployment",
    metadata: { name: m.name },
    spec: shuffle({
      replicas: m.replicas !== 1 || maybe() ? m.replicas : undefined,
      selector: labels && maybe() ? { matchLabels: labels } : undefined,
      template: shuffle({
        metadata: labels ? { labels } : undefined,
        spec: shuffle({ restartPolicy: maybe(0.3) ? "Always" : undefined, containers: [container] }),
      }),
    }),
  });
  const yamlDoc = new Document(doc);
  visit(yamlDoc, {
    Node(_k, node) {
      if (isCollection(node)) node.flow = maybe(0.25);
      if (maybe(0.1)) node.commentBefore = ` note ${Math.floor(rng() * 100)}: same meaning`;
    },
    Scalar(key, node) {
      if (key !== "key" && typeof node.value === "string") node.type = pick([Scalar.PLAIN, Scalar.QUOTE_DOUBLE, Scalar.QUOTE_SINGLE]);
      else if (key === "key" && isScalar(node) && maybe(0.2)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return `# generated manifest\n${yamlDoc.toString({ lineWidth: 0 })}`;
}

describe("equivalent manifests hash the same", () => {
  it("random renderings of one model parse to the model's spec and hash", () => {
    fc.assert(
      fc.property(modelArb, fc.integer(), fc.integer(), (m, s1, s2) => {
        const a = render(m, s1);
        const b = render(m, s2);
        const specA = parseManifests(a)[0].spec;
        expect(specA, a).toEqual(expectedSpec(m));
        expect(computeSpecHash(parseManifests(b)[0].spec), b).toBe(computeSpecHash(specA));
      }),
      { numRuns: 150 },
    );
  });

  it("hand-written pairs: 1Gi=1024Mi, 0.5=500m, flow=block, quotes, comments, defaults", () => {
    const block = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "echo hi"]
        resources:
          limits:
            cpu: 0.5
            memory: 1Gi
`;
    const flow = `# same thing, other spelling
{kind: "Deployment", apiVersion: 'v1', metadata: {name: web}, spec: {replicas: 1, template: {spec: {restartPolicy: Always,
  containers: [{image: "busybox", command: [sh, '-c', "echo hi"], # a comment
  resources: {requests: {cpu: 500m, memory: "1024Mi", ephemeral-storage: 256Mi}}}]}}}}
`;
    expect(computeSpecHash(parseManifests(flow)[0].spec)).toBe(computeSpecHash(parseManifests(block)[0].spec));
    const pod =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - image: busybox\n    command: [sh, -c, echo hi]\n    resources: {limits: {cpu: 500m, memory: 1073741824}}\n";
    expect(computeSpecHash(parseManifests(pod)[0].spec)).toBe(computeSpecHash(parseManifests(block)[0].spec));
    // anchors and `<<` merge keys (go-yaml honours them, so Kubernetes users write them)
    const merged =
      "x-base: &base {image: busybox, command: [sh, -c, echo hi]}\napiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - <<: *base\n    resources: {limits: {cpu: 500m, memory: 1Gi}}\n";
    expect(computeSpecHash(parseManifests(merged)[0].spec)).toBe(computeSpecHash(parseManifests(block)[0].spec));
  });

  it("a Pod and a one-replica Deployment of the same container mean the same", () => {
    const pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: w, labels: {a: b}}\nspec:\n  containers: [{image: x}]\n";
    const dep =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{image: x}]\n";
    expect(computeSpecHash(parseManifests(pod)[0].spec)).toBe(computeSpecHash(parseManifests(dep)[0].spec));
  });
});

describe("a change of meaning changes the hash", () => {
  const mutations: [string, (m: Model) => Model][] = [
    ["replicas", (m) => ({ ...m, replicas: m.replicas === LIMITS.maxReplicas ? m.replicas - 1 : m.replicas + 1 })],
    ["image", (m) => ({ ...m, image: m.image + "-x" })],
    ["name", (m) => ({ ...m, name: m.name + "x" })],
    ["command", (m) => ({ ...m, command: m.command ? [...m.command, "x"] : ["sh"] })],
    ["args", (m) => ({ ...m, args: [...m.args, ""] })],
    ["env value", (m) => ({ ...m, env: m.env.length ? [{ ...m.env[0], value: m.env[0].value + "!" }, ...m.env.slice(1)] : [{ name: "NEW", value: "" }] })],
    ["workingDir", (m) => ({ ...m, workingDir: m.workingDir === "/tmp" ? "/" : "/tmp" })],
    ["cpu", (m) => ({ ...m, cpuMillis: (m.cpuMillis ?? 100) + 1 })],
    ["memory by one byte", (m) => ({ ...m, memoryBytes: (m.memoryBytes ?? 64 * MI) + 1 })],
    ["disk", (m) => ({ ...m, diskBytes: (m.diskBytes ?? 256 * MI) + MI })],
    ["label", (m) => ({ ...m, labels: { ...m.labels, zz: "changed" } })],
    [
      "port protocol",
      (m) => ({
        ...m,
        ports: m.ports.length
          ? [{ ...m.ports[0], protocol: m.ports[0].protocol === "TCP" ? "UDP" : "TCP" }, ...m.ports.slice(1)]
          : [{ containerPort: 80, protocol: "TCP" }],
      }),
    ],
  ];
  it.each(mutations)("%s", (_name, mutate) => {
    fc.assert(
      fc.property(modelArb, fc.integer(), fc.integer(), (m, s1, s2) => {
        const changed = mutate(m);
        fc.pre(JSON.stringify(expectedSpec(changed)) !== JSON.stringify(expectedSpec(m)));
        // A mutation may make the manifest invalid (e.g. flipping a port's protocol onto a port/protocol
        // pair already declared): that is a different test (bad input), not a change of meaning.
        const portKeys = changed.ports.map((p: { containerPort: number; protocol?: string }) => `${p.containerPort}/${p.protocol ?? "TCP"}`);
        fc.pre(new Set(portKeys).size === portKeys.length);
        expect(computeSpecHash(parseManifests(render(changed, s2))[0].spec)).not.toBe(computeSpecHash(parseManifests(render(m, s1))[0].spec));
      }),
      { numRuns: 25 },
    );
  });
});
