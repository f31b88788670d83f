/** Every kind of bad manifest gives a SpecError naming document, field path and reason - all at once. */
import { describe, expect, it } from "vitest";
import { parseManifests, SpecError, type SpecIssue } from "../../src/spec";

function issuesOf(text: string): SpecIssue[] {
  try {
    parseManifests(text, { source: "bad.yaml" });
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    const err = e as SpecError;
    expect(err.shortMessage).not.toContain("\n");
    expect(err.shortMessage.startsWith("bad.yaml: ")).toBe(true);
    return err.issues;
  }
  throw new Error("expected a SpecError");
}

const deployment = (
  patch: { replicas?: string; container?: string; podSpec?: string; spec?: string; api?: string } = {},
) => `apiVersion: ${patch.api ?? "apps/v1"}
kind: Deployment
metadata:
  name: web
spec:
${patch.replicas !== undefined ? `  replicas: ${patch.replicas}\n` : ""}${patch.spec ?? ""}  template:
    metadata:
      labels: {app: web}
    spec:
${patch.podSpec ?? ""}      containers:
      - name: app
        image: busybox
${patch.container ?? ""}`;

const pod = (container: string) => `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - ${container}
`;

describe("bad input", () => {
  it("the good base manifests parse", () => {
    expect(parseManifests(deployment({ replicas: "2" }))[0].spec.replicas).toBe(2);
    expect(parseManifests(pod("image: busybox"))[0].spec.image).toBe("busybox");
  });

  it.each<[string, string, string, RegExp]>([
    ["malformed YAML", "apiVersion: v1\nkind: Pod\nmetadata: {name: p\n", "", /malformed YAML/],
    ["duplicate keys", "apiVersion: v1\nkind: Pod\nkind: Pod\n", "", /malformed YAML.*(unique|duplicate)/i],
    ["tab indentation", "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: p\n", "", /malformed YAML/],
    ["a list, not a mapping", "- a\n- b\n", "", /must be a mapping with apiVersion and kind, got a list/],
    ["unknown kind", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", "kind", /unknown kind "Service" \(supported: Deployment, Pod, Job, ConfigMap\)/],
    ["missing kind", "apiVersion: v1\nmetadata: {name: s}\n", "kind", /is required/],
    [
      "unknown apiVersion",
      deployment({ api: "extensions/v1beta1" }),
      "apiVersion",
      /unsupported apiVersion "extensions\/v1beta1" for Deployment \(supported: apps\/v1, v1\)/,
    ],
    ["Job with apps/v1", "apiVersion: apps/v1\nkind: Job\n", "apiVersion", /supported: batch\/v1/],
    ["missing image", pod("name: app"), "spec.containers[0].image", /is required/],
    ["missing name", "apiVersion: v1\nkind: Pod\nmetadata: {}\nspec:\n  containers:\n  - image: x\n", "metadata.name", /is required/],
    ["bad name", "apiVersion: v1\nkind: Pod\nmetadata: {name: My_App}\nspec:\n  containers:\n  - image: x\n", "metadata.name", /DNS-1123/],
    ["replicas as a string", deployment({ replicas: '"3"' }), "spec.replicas", /must be an integer, got the string "3"/],
    ["replicas 3.0", deployment({ replicas: "3.0" }), "spec.replicas", /must be a plain integer, got 3.0/],
    ["negative replicas", deployment({ replicas: "-1" }), "spec.replicas", /must be at least 1, got -1/],
    ["zero replicas", deployment({ replicas: "0" }), "spec.replicas", /must be at least 1/],
    ["absurd replicas", deployment({ replicas: "100000" }), "spec.replicas", /must be at most 255 \(the contract's MAX_REPLICAS\), got 100000/],
    ["command as a string", deployment({ container: '        command: "echo hi"\n' }), "spec.template.spec.containers[0].command", /must be a list of strings/],
    [
      "command item a number",
      deployment({ container: "        command: [echo, 3]\n" }),
      "spec.template.spec.containers[0].command[1]",
      /must be a string, got the number 3/,
    ],
    [
      "bad memory quantity",
      deployment({ container: "        resources:\n          limits:\n            memory: 12XB\n" }),
      "spec.template.spec.containers[0].resources.limits.memory",
      /"12XB" is not a quantity/,
    ],
    [
      "fractional bytes",
      deployment({ container: "        resources:\n          requests:\n            memory: 500m\n" }),
      "spec.template.spec.containers[0].resources.requests.memory",
      /not a whole number of bytes/,
    ],
    [
      "negative cpu",
      deployment({ container: "        resources:\n          limits: {cpu: -1}\n" }),
      "spec.template.spec.containers[0].resources.limits.cpu",
      /negative/,
    ],
    [
      "zero cpu",
      deployment({ container: "        resources:\n          limits: {cpu: 0}\n" }),
      "spec.template.spec.containers[0].resources.limits.cpu",
      /at least 1m/,
    ],
    [
      "limit below request",
      deployment({ container: "        resources:\n          requests: {cpu: 2}\n          limits: {cpu: 1}\n" }),
      "spec.template.spec.containers[0].resources.limits.cpu",
      /below the request/,
    ],
    [
      "gpu resources unsupported",
      deployment({ container: "        resources:\n          limits: {nvidia.com/gpu: 1}\n" }),
      "spec.template.spec.containers[0].resources.limits.nvidia.com/gpu",
      /unsupported field/,
    ],
    ["volumeMounts unsupported", deployment({ container: "        volumeMounts: []\n" }), "spec.template.spec.containers[0].volumeMounts", /unsupported field/],
    ["env valueFrom unsupported", pod("image: x\n    env: [{name: A, valueFrom: {}}]"), "spec.containers[0].env[0].valueFrom", /unsupported field/],
    ["env value a number", pod("image: x\n    env: [{name: A, value: 3}]"), "spec.containers[0].env[0].value", /must be a string/],
    [
      "duplicate env",
      pod("image: x\n    env: [{name: A, value: a}, {name: A, value: b}]"),
      "spec.containers[0].env[1].name",
      /duplicate environment variable A/,
    ],
    ["bad port", pod("image: x\n    ports: [{containerPort: 70000}]"), "spec.containers[0].ports[0].containerPort", /at most 65535/],
    ["duplicate port", pod("image: x\n    ports: [{containerPort: 80}, {containerPort: 80, protocol: TCP}]"), "spec.containers[0].ports", /declared twice/],
    ["bad protocol", pod("image: x\n    ports: [{containerPort: 80, protocol: HTTP}]"), "spec.containers[0].ports[0].protocol", /TCP, UDP or SCTP/],
    ["relative workingDir", pod("image: x\n    workingDir: app"), "spec.containers[0].workingDir", /absolute path/],
    [
      "label value a number",
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {v: 1}\nspec:\n  containers:\n  - image: x\n",
      "metadata.labels.v",
      /must be a string/,
    ],
    [
      "bad label key",
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {-x: a}\nspec:\n  containers:\n  - image: x\n",
      "metadata.labels.-x",
      /label key/,
    ],
    ["metadata a number", "apiVersion: v1\nkind: Pod\nmetadata: 3\nspec:\n  containers:\n  - image: x\n", "metadata", /must be a mapping, got number 3/],
    [
      "labels a number",
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: 3\nspec:\n  containers:\n  - image: x\n",
      "metadata.labels",
      /must be a mapping/,
    ],
    [
      "__proto__ label is not silently dropped",
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {__proto__: x}\nspec:\n  containers:\n  - image: x\n",
      "metadata.labels.__proto__",
      /label key/,
    ],
    ["__proto__ env name", pod("image: x\n    env: [{name: __proto__, value: a}]"), "spec.containers[0].env[0].name", /reserved name/],
    ["no containers", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: []\n", "spec.containers", /exactly one container, got none/],
    ["Deployment restartPolicy Never", deployment({ podSpec: "      restartPolicy: Never\n" }), "spec.template.spec.restartPolicy", /must be Always/],
    ["selector does not match", deployment({ spec: "  selector:\n    matchLabels: {app: other}\n" }), "spec.selector.matchLabels.app", /does not match/],
    ["selector matchExpressions unsupported", deployment({ spec: "  selector:\n    matchExpressions: []\n" }), "spec.selector.matchExpressions", /unsupported/],
  ])("%s", (_name, text, path, message) => {
    const issues = issuesOf(text);
    const hit = issues.find((i) => i.path === path && message.test(i.message));
    expect(hit, JSON.stringify(issues)).toBeDefined();
    expect(hit!.document).toBe(0);
  });

  it("more than one container is rejected at containers[1], not silently dropped", () => {
    const issues = issuesOf(deployment({ container: "      - name: sidecar\n        image: envoy\n" }));
    expect(issues).toEqual([
      {
        document: 0,
        path: "spec.template.spec.containers[1]",
        message: "Hypha runs exactly one container per workload; put each container in its own document",
      },
    ]);
  });

  it("Job rules: restartPolicy, parallelism, quorum, outputs, unknown annotation", () => {
    const issues = issuesOf(`apiVersion: batch/v1
kind: Job
metadata:
  name: j
  annotations:
    hypha.dev/quorum: "4"
    hypha.dev/outputs: "out.txt, /ok.txt"
    hypha.dev/qourum: "1"
spec:
  completions: 3
  parallelism: 1
  template:
    spec:
      restartPolicy: Always
      containers:
      - image: busybox
`);
    const paths = issues.map((i) => i.path).sort();
    expect(paths).toEqual([
      "metadata.annotations.hypha.dev/outputs",
      "metadata.annotations.hypha.dev/qourum",
      "metadata.annotations.hypha.dev/quorum",
      "spec.parallelism",
      "spec.template.spec.restartPolicy",
    ]);
    expect(issues.find((i) => i.path === "metadata.annotations.hypha.dev/quorum")!.message).toMatch(/between 1 and the number of replicas \(3\), got 4/);
    expect(issues.find((i) => i.path === "metadata.annotations.hypha.dev/outputs")!.message).toMatch(/absolute/);
  });

  it("a Job annotation on a Deployment is an error", () => {
    const text = deployment().replace("  name: web\n", '  name: web\n  annotations: {hypha.dev/quorum: "1"}\n');
    expect(issuesOf(text)).toEqual([{ document: 0, path: "metadata.annotations.hypha.dev/quorum", message: "only applies to a Job" }]);
  });

  it("reports ALL problems of ALL documents at once, with document indices", () => {
    const text = [
      deployment({ replicas: "-3", container: "        resources: {limits: {memory: lots}}\n" }),
      "apiVersion: v1\nkind: Secret\n",
      pod("image: x"),
      pod("name: nothing"),
    ].join("---\n");
    let err: SpecError | undefined;
    try {
      parseManifests(text, { source: "multi.yaml" });
    } catch (e) {
      err = e as SpecError;
    }
    expect(err).toBeInstanceOf(SpecError);
    expect(err!.issues.map((i) => [i.document, i.path])).toEqual([
      [0, "spec.replicas"],
      [0, "spec.template.spec.containers[0].resources.limits.memory"],
      [1, "kind"],
      [3, "spec.containers[0].image"],
    ]);
    expect(err!.shortMessage).toMatch(/^multi\.yaml: 4 problems in manifest; first: document 0, spec\.replicas: /);
    expect(err!.details!.split("\n")).toHaveLength(4);
  });

  it("a manifest over 256 KiB is rejected before parsing", () => {
    const text = pod("image: x") + "# " + "x".repeat(256 * 1024) + "\n";
    expect(issuesOf(text)).toEqual([{ document: -1, path: "", message: expect.stringMatching(/over the 262144-byte \(256 KiB\) limit/) }]);
  });

  it("an empty file has no workload", () => {
    expect(issuesOf("# nothing here\n")).toEqual([{ document: -1, path: "", message: expect.stringMatching(/no workload/) }]);
  });

  it("an alias bomb is refused", () => {
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 8; i++)
      lines.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill("*" + String.fromCharCode(97 + i))
          .join(", ")}]`,
      );
    const issues = issuesOf(lines.join("\n") + "\napiVersion: v1\nkind: Pod\n");
    expect(issues[0].message).toMatch(/malformed YAML|alias/i);
  });

  describe("ConfigMap contract form", () => {
    const cm = (contract: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  contract: |\n${contract.replace(/^/gm, "    ")}\n`;

    it.each<[string, string, string, RegExp]>([
      ["no data.contract", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {other: x}\n", "data.contract", /is required/],
      ["contract not YAML", cm("smart_contract: [oops"), "data.contract", /malformed YAML/],
      ["no image", cm("smart_contract:\n  workload_spec:\n    replicas: 3"), "data.contract.smart_contract.workload_spec.image", /is required/],
      [
        "bad replicas",
        cm("smart_contract:\n  workload_spec:\n    image: x\n    replicas: 0"),
        "data.contract.smart_contract.workload_spec.replicas",
        /at least 1/,
      ],
      [
        "unknown field",
        cm("smart_contract:\n  workload_spec:\n    image: x\n    volumes: []"),
        "data.contract.smart_contract.workload_spec.volumes",
        /unsupported field/,
      ],
      [
        "malformed hash",
        cm('smart_contract:\n  workload_spec:\n    image: x\n    verification_hash: "0x12"'),
        "data.contract.smart_contract.workload_spec.verification_hash",
        /0x \+ 64 hex/,
      ],
      [
        "malformed signature",
        cm('smart_contract:\n  signature: "0xzz"\n  workload_spec:\n    image: x'),
        "data.contract.smart_contract.signature",
        /hex bytes/,
      ],
      [
        "partial intent",
        cm('smart_contract:\n  nonce: "1"\n  workload_spec:\n    image: x'),
        "data.contract.smart_contract.deployer",
        /is required when any intent field is given/,
      ],
      ["nonce too big", cm(`smart_contract:\n  nonce: "${2n ** 64n}"\n  workload_spec:\n    image: x`), "data.contract.smart_contract.nonce", /uint64/],
      [
        "quorum on a service",
        cm("smart_contract:\n  workload_spec:\n    image: x\n    quorum: 1"),
        "data.contract.smart_contract.workload_spec.quorum",
        /only applies to kind: job/,
      ],
      [
        "__proto__ env",
        cm("smart_contract:\n  workload_spec:\n    image: x\n    env: {__proto__: y}"),
        "data.contract.smart_contract.workload_spec.env.__proto__",
        /reserved name/,
      ],
      [
        "job restart Always",
        cm("smart_contract:\n  workload_spec:\n    image: x\n    kind: job\n    restart_policy: Always"),
        "data.contract.smart_contract.workload_spec.restart_policy",
        /Never or OnFailure/,
      ],
      [
        "job replicas over 255",
        cm("smart_contract:\n  workload_spec:\n    image: x\n    kind: job\n    replicas: 300"),
        "data.contract.smart_contract.workload_spec.replicas",
        /at most 255/,
      ],
      [
        "job quorum over replicas",
        cm("smart_contract:\n  workload_spec:\n    image: x\n    kind: job\n    replicas: 3\n    quorum: 4"),
        "data.contract.smart_contract.workload_spec.quorum",
        /at most replicas \(3\)/,
      ],
      [
        "env value number",
        cm("smart_contract:\n  workload_spec:\n    image: x\n    env: {A: 1}"),
        "data.contract.smart_contract.workload_spec.env.A",
        /must be a string/,
      ],
    ])("%s", (_name, text, path, message) => {
      const issues = issuesOf(text);
      expect(
        issues.find((i) => i.path === path && message.test(i.message)),
        JSON.stringify(issues),
      ).toBeDefined();
    });
  });
});
