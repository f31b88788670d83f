/**
 * What a WorkloadSpec contributes to the on-chain DeploymentIntent: resources in the intent's units
 * (millicores, MiB rounded UP so the reservation never falls short), and replicas, kind, quorum.
 * (src/spec is a leaf part: the kind numbers mirror `Kind` in src/chain/eip712.ts; a test checks it.)
 */
import type { WorkloadSpec } from "./workloadSpec";

const MIB = 1024 * 1024;

/**
 * Resources for the intent: cpuMillis as is; memory and disk in MiB, rounded up.
 * @example intentResources(spec) // { cpuMillis: 100, memoryMiB: 64, diskMiB: 256 }
 */
export function intentResources(spec: WorkloadSpec): { cpuMillis: number; memoryMiB: number; diskMiB: number } {
  return {
    cpuMillis: spec.resources.cpuMillis,
    memoryMiB: Math.ceil(spec.resources.memoryBytes / MIB),
    diskMiB: Math.ceil(spec.resources.diskBytes / MIB),
  };
}

/**
 * All intent fields that come from the spec: resources plus replicas, kind (0 service, 1 job) and
 * quorum (0 for services; the job's quorum otherwise).
 * @example intentWorkloadFields(jobSpec) // { replicas: 3, kind: 1, quorum: 2, cpuMillis: 100, memoryMiB: 64, diskMiB: 256 }
 */
export function intentWorkloadFields(spec: WorkloadSpec): {
  replicas: number;
  kind: 0 | 1;
  quorum: number;
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
} {
  return {
    replicas: spec.replicas,
    kind: spec.kind === "job" ? 1 : 0,
    quorum: spec.job ? spec.job.quorum : 0,
    ...intentResources(spec),
  };
}

/** The intent fields a spec decides, as the chain holds them (numbers). */
export interface IntentWorkloadFields {
  replicas: number;
  kind: number;
  quorum: number;
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
}

/**
 * Where an intent disagrees with the spec its specHash names (pure): one entry per field, naming
 * the field, what the intent says and what the spec says. Empty when they agree. The API refuses
 * such an intent, the agent attests it Failed, `hypha audit` FAILs it. A service's replica count may
 * differ (it is scaled on-chain after submission), so replicas are compared at submission only
 * (`atSubmission`).
 * @example intentSpecMismatches({ replicas: 3, kind: 0, quorum: 0, cpuMillis: 100, memoryMiB: 64, diskMiB: 0 }, spec, true) // [{ field: "cpuMillis", ... }]
 */
export function intentSpecMismatches(
  intent: IntentWorkloadFields,
  spec: WorkloadSpec,
  atSubmission: boolean,
): { field: keyof IntentWorkloadFields; intent: number; spec: number; message: string }[] {
  const want = intentWorkloadFields(spec);
  const fields: (keyof IntentWorkloadFields)[] = ["kind", "quorum", "cpuMillis", "memoryMiB", "diskMiB"];
  if (atSubmission || spec.kind === "job") fields.unshift("replicas");
  return fields
    .filter((f) => Number(intent[f]) !== want[f])
    .map((f) => ({ field: f, intent: Number(intent[f]), spec: want[f], message: `intent.${f} is ${intent[f]} but the spec (specHash) says ${want[f]}` }));
}
