/**
 * `hypha ... | head`: the reader closing the pipe early is not an error. The real binary, its
 * stdout closed after the first bytes, exits 0 without a stack trace.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

describe("a closed stdout pipe", () => {
  it("ends the CLI quietly with exit code 0", async () => {
    const child = spawn(process.execPath, [path.join(__dirname, "../../bin/hypha.js"), "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    // read one chunk, then close our end, as `head -1` does
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});
