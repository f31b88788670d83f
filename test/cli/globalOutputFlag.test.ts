/** `-o` as a global flag: moved after the command, where each printing command defines it. */
import { describe, expect, it } from "vitest";
import { hoistOutputFlag } from "../../src/cli/main";

const base = ["node", "hypha"];

describe("hoistOutputFlag", () => {
  it.each([
    [
      ["-o", "json", "get", "nodes"],
      ["get", "nodes", "-o", "json"],
    ],
    [
      ["--output", "yaml", "get", "deployments"],
      ["get", "deployments", "--output", "yaml"],
    ],
    [
      ["-ojson", "get", "nodes"],
      ["get", "nodes", "-ojson"],
    ],
    [
      ["--output=json", "get", "nodes"],
      ["get", "nodes", "--output=json"],
    ],
    [
      ["--rpc", "http://x:1", "-o", "wide", "get", "nodes"],
      ["--rpc", "http://x:1", "get", "nodes", "-o", "wide"],
    ],
  ])("%j -> %j", (input, expected) => {
    expect(hoistOutputFlag([...base, ...input])).toEqual([...base, ...expected]);
  });

  it.each([
    [["sign", "-f", "a.yaml", "-o", "signed.yaml"]], // a command's own -o (a file) is left alone
    [["--rpc", "-o", "get"]], // "-o" is --rpc's value here, not a flag
    [["get", "nodes"]],
  ])("leaves %j as it is", (input) => {
    expect(hoistOutputFlag([...base, ...input])).toEqual([...base, ...input]);
  });
});
