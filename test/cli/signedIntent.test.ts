/**
 * signedIntentOf's checks that need no chain: a signed ConfigMap's hash is checked by the spec
 * part's own check (one message for the CLI and the library), and a signature without the intent
 * fields `hypha sign` writes is refused before any chain call.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { signedIntentOf } from "../../src/cli/intentOptions";
import { computeSpecHash, parseManifests, renderSignedConfigMap, SpecError } from "../../src/spec";

const domain = { name: "Hypha", version: "1", chainId: 31337, verifyingContract: "0x0000000000000000000000000000000000000001" } as const;
// Never called: every case here is refused before the signature is verified on-chain.
const noChain = {} as never;

describe("signedIntentOf", () => {
  it("refuses placeholders with the spec check's message", async () => {
    const [w] = parseManifests(readFileSync("examples/smart-contract.yaml", "utf8"));
    const err = await signedIntentOf(w, domain, noChain, "examples/smart-contract.yaml").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).issues[0].message).toContain(`its specHash is ${computeSpecHash(w.spec)}: run \`hypha sign -f examples/smart-contract.yaml\``);
  });

  it("refuses a signature without the intent fields, naming what is missing", async () => {
    const [a] = parseManifests(readFileSync("examples/deployment.yaml", "utf8"));
    const [w] = parseManifests(renderSignedConfigMap(a.spec, { verificationHash: computeSpecHash(a.spec), signature: "0x01" }));
    await expect(signedIntentOf(w, domain, noChain, "app.yaml")).rejects.toThrow(
      /smart_contract: signed, but without the intent fields \(chain_id, verifying_contract, deployer/,
    );
  });
});
