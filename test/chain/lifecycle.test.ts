/**
 * src/chain/lifecycle.ts against the Solidity it mirrors: the enum names in
 * contracts/interfaces/IHyphaTypes.sol, and the move tables in contracts/libraries/Lifecycle.sol
 * (read from the sources, so a change on either side without the other fails here).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  AttestedStatus,
  DeploymentStatus,
  ReplicaStatus,
  deploymentMoves,
  isLegalDeploymentMove,
  isLegalReplicaMove,
  replicaMoves,
} from "../../src/chain/lifecycle";

const root = path.join(__dirname, "..", "..");
const types = fs.readFileSync(path.join(root, "contracts/interfaces/IHyphaTypes.sol"), "utf8");
const lifecycle = fs.readFileSync(path.join(root, "contracts/libraries/Lifecycle.sol"), "utf8");

function enumNames(name: string): string[] {
  const m = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(types);
  if (!m) throw new Error(`enum ${name} not found`);
  return m[1]
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The (from, to) pairs of a Lifecycle.sol bit-set constant: `(1 << (from * 8 + to))` terms. */
function movesOf(constant: string): [number, number][] {
  const m = new RegExp(`${constant} =([^;]*);`).exec(lifecycle);
  if (!m) throw new Error(`${constant} not found`);
  return [...m[1].matchAll(/\(1 << \((\d+) \* 8 \+ (\d+)\)\)/g)].map((x) => [Number(x[1]), Number(x[2])]);
}

function pairsOf(names: readonly string[], table: Record<string, readonly string[]>): [number, number][] {
  return Object.entries(table).flatMap(([from, tos]) => tos.map((to): [number, number] => [names.indexOf(from), names.indexOf(to)]));
}

const sorted = (p: [number, number][]) => [...p].sort((a, b) => a[0] - b[0] || a[1] - b[1]);

describe("lifecycle module mirrors the contracts", () => {
  it("status names and numbers are the Solidity enums'", () => {
    expect([...DeploymentStatus]).toEqual(enumNames("DeploymentStatus"));
    expect([...ReplicaStatus]).toEqual(enumNames("ReplicaStatus"));
    expect(Object.keys(AttestedStatus)).toEqual(enumNames("AttestedStatus"));
    expect(Object.values(AttestedStatus)).toEqual(enumNames("AttestedStatus").map((_, i) => i));
  });

  it("the move tables are Lifecycle.sol's, pair for pair", () => {
    expect(sorted(pairsOf(DeploymentStatus, deploymentMoves))).toEqual(sorted(movesOf("DEPLOYMENT_MOVES")));
    expect(sorted(pairsOf(ReplicaStatus, replicaMoves))).toEqual(sorted(movesOf("REPLICA_MOVES")));
    expect(movesOf("REPLICA_MOVES").length).toBeGreaterThan(5);
  });

  it("the literal bit sets the contract evaluates equal the move-table expressions", () => {
    const bits = (constant: string) => movesOf(constant).reduce((v, [from, to]) => v | (1n << BigInt(from * 8 + to)), 0n);
    const literal = (name: string) => BigInt(new RegExp(`${name} = (0x[0-9a-f]+);`).exec(lifecycle)![1]);
    expect(literal("REPLICA_MOVES_BITS")).toBe(bits("REPLICA_MOVES"));
    expect(literal("DEPLOYMENT_MOVES_BITS")).toBe(bits("DEPLOYMENT_MOVES"));
  });

  it("answers by number; a job result is never reopened and nothing leaves Cancelled", () => {
    expect(isLegalReplicaMove(0, 1)).toBe(true); // Pending -> Scheduled
    expect(isLegalReplicaMove(1, 3)).toBe(true); // Scheduled -> Completed: a job done before its Running attestation went out
    expect(isLegalReplicaMove(0, 3)).toBe(false); // Pending -> Completed: never placed, never done
    expect(isLegalReplicaMove(3, 6)).toBe(false); // Completed -> Stopped
    expect(isLegalDeploymentMove(4, 3)).toBe(false); // Completed -> Running
    expect(isLegalDeploymentMove(7, 1)).toBe(false); // Cancelled -> Requested
    expect(isLegalDeploymentMove(9, 1)).toBe(false); // unknown numbers are never legal
  });
});
