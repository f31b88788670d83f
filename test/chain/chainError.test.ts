/**
 * ChainError decoding: custom errors of every Hypha contract become sentences, revert data
 * encoded by viem's encoder (independent of our decoder table) is recognized, and an unreachable
 * RPC is a network failure (exit code 2), not bad input.
 */
import { describe, expect, it } from "vitest";
import { encodeErrorResult } from "viem";
import { deploymentRegistryAbi, nodeRegistryAbi } from "../../src/chain/abi";
import { ChainError, ChainRefusedError, ChainUnavailableError, decodeRevertData, describeContractError, toChainError } from "../../src/chain/chainError";
import { exitCodeOf } from "../../src/cli/exitCode";
import { makePublicClient } from "../../src/chain/clients";
import { freePort } from "../helpers/chain";

describe("chain errors", () => {
  it("decodes InsufficientCapacity into the readable sentence", () => {
    const data = encodeErrorResult({ abi: nodeRegistryAbi, errorName: "InsufficientCapacity", args: [3, "cpuMillis", 200n, 500n] });
    const decoded = decodeRevertData(data)!;
    expect(decoded.errorName).toBe("InsufficientCapacity");
    expect(describeContractError(decoded.errorName, decoded.args)).toBe("node 3 has 200m CPU free, replica needs 500m");
  });

  it("wraps revert data found anywhere in the cause chain: a refusal", () => {
    const data = encodeErrorResult({ abi: deploymentRegistryAbi, errorName: "InvalidIntent", args: ["replicas", "must be at least 1"] });
    const err = toChainError({ name: "CallExecutionError", message: "x", cause: { name: "RpcError", data } }, "submitting");
    expect(err).toBeInstanceOf(ChainError);
    expect(err.shortMessage).toBe("submitting: intent field replicas: must be at least 1");
    expect(err).toBeInstanceOf(ChainRefusedError);
    expect(exitCodeOf(err)).toBe(1);
    expect(err.errorName).toBe("InvalidIntent");
  });

  it("an unreachable RPC is a network failure (unavailable: the CLI exits 2)", async () => {
    const port = await freePort();
    const pc = makePublicClient(`http://127.0.0.1:${port}`);
    const err = await pc.getChainId().then(
      () => undefined,
      (e: unknown) => toChainError(e, "reading the chain id"),
    );
    expect(err).toBeInstanceOf(ChainUnavailableError);
    expect(exitCodeOf(err)).toBe(2);
    expect(err?.shortMessage).toMatch(/^reading the chain id: cannot reach the chain/);
  });
});
