/**
 * The agent's attestation signer builds the same EIP-712 digest as viem's hashTypedData over
 * eip712.ts's types, and gives the same (deterministic, RFC 6979) signature as signTypedData,
 * recovering to the agent; a malformed field is refused with its value.
 */
import { recoverAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { createAttestationSigner } from "../../src/agent/attestationSigner";
import { hyphaDomain, type Attestation } from "../../src/chain/eip712";
import { computeAttestationDigest, signAttestation } from "../../src/chain/signing";

const account = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const domain = hyphaDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const att = (over: Partial<Attestation> = {}): Attestation => ({
  deploymentId: `0x${"ab".repeat(32)}`,
  replicaIndex: 3,
  nodeId: 2,
  attempt: 65535,
  status: 2,
  measurement: `0x${"cd".repeat(32)}`,
  outputHash: `0x${"00".repeat(32)}`,
  timestamp: 1_764_000_000n,
  ...over,
});

describe("createAttestationSigner", () => {
  it("the digest and signature of viem's typed-data path, for varied fields and domains", async () => {
    const signer = createAttestationSigner(account, domain);
    for (const a of [
      att(),
      att({ replicaIndex: 0, nodeId: 4_294_967_295, status: 4, timestamp: 2n ** 64n - 1n }),
      att({ outputHash: `0x${"ef".repeat(32)}` }),
    ]) {
      expect(signer.digest(a)).toBe(computeAttestationDigest(domain, a));
      const sig = await signer.sign(a);
      expect(sig).toBe(await signAttestation(account, domain, a));
      expect(await recoverAddress({ hash: signer.digest(a), signature: sig })).toBe(account.address);
    }
    const other = hyphaDomain(1, "0x0000000000000000000000000000000000000001");
    expect(createAttestationSigner(account, other).digest(att())).toBe(computeAttestationDigest(other, att()));
  });

  it("refuses a malformed bytes32 or a negative number, naming the value", () => {
    const signer = createAttestationSigner(account, domain);
    expect(() => signer.digest(att({ measurement: "0x1234" }))).toThrow(/expected bytes32, got 0x1234/);
    expect(() => signer.digest(att({ replicaIndex: -1 }))).toThrow(/negative -1/);
  });
});
