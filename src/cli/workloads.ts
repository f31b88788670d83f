/**
 * Reads manifest files for the CLI (a path or `-` for stdin) and hands them to src/spec: the one
 * place the CLI touches the spec part's API.
 */
import fs from "node:fs";
import { HyphaError } from "../errors";
// Through the SDK, so the CLI and third-party tools compute specs and hashes by the same entry point.
import { canonicalSpecJson, computeSpecHash, intentResources, parseManifests, type ParsedWorkload } from "../sdk";

export { canonicalSpecJson, computeSpecHash, intentResources };
export type { ParsedWorkload };

const MAX_FILE = 256 * 1024;

/**
 * Reads and parses every workload in a manifest file.
 * @example const workloads = readWorkloads("examples/deployment.yaml")
 */
export function readWorkloads(file: string | undefined, flag = "-f"): ParsedWorkload[] {
  if (!file) throw new HyphaError(`${flag}: a manifest file is required (e.g. -f app.yaml)`);
  let text: string;
  try {
    if (file === "-") text = fs.readFileSync(0, "utf8");
    else {
      const st = fs.statSync(file);
      if (!st.isFile()) throw new HyphaError(`${flag}: ${file} is not a file`);
      if (st.size > MAX_FILE) throw new HyphaError(`${flag}: ${file} is ${st.size} bytes, over the 256 KiB manifest limit`);
      text = fs.readFileSync(file, "utf8");
    }
  } catch (err) {
    if (err instanceof HyphaError) throw err;
    throw new HyphaError(`${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  const workloads = parseManifests(text, { source: file === "-" ? "stdin" : file });
  if (workloads.length === 0) throw new HyphaError(`${flag}: ${file} holds no workload (Deployment, Pod, Job or signed ConfigMap)`);
  return workloads;
}
