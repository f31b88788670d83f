/**
 * EIP-2098 compact signatures: the CLI submits an EOA's intent signature in its 64-byte form (the
 * contract accepts both), and the audit expands it again before ECDSA recovery. Checked against an
 * independent implementation (@metamask/eth-sig-util) and against EIP-2098's own layout rule
 * (r, then yParity in the top bit of s).
 */
import { describe, expect, it } from "vitest";
import { recoverTypedSignature, SignTypedDataVersion } from "@metamask/eth-sig-util";
import { hexToBigInt, parseSignature, slice, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { compactSignature, expandSignature, recoverIntentSigner, signIntent } from "../../src/chain/signing";
import { hyphaDomain, intentTypedData, type DeploymentIntent } from "../../src/chain/eip712";

const domain = hyphaDomain(31337, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0");
const intent: DeploymentIntent = {
  deployer: "0x71bE63f3384f5fb98995898A86B02Fb2426c5788",
  specHash: `0x${"11".repeat(32)}`,
  imageRoot: `0x${"22".repeat(32)}`,
  replicas: 3,
  cpuMillis: 100,
  memoryMiB: 64,
  diskMiB: 256,
  maxPricePerSecond: 10n ** 15n,
  budget: 10n ** 19n,
  nonce: 7n,
  deadline: 1_900_000_000n,
  kind: 0,
  quorum: 0,
  maxRetries: 3,
  maxRunSeconds: 0,
};

describe("compact (EIP-2098) intent signatures", () => {
  it.each([1, 2, 3, 4, 5, 6])("round-trips and recovers the signer (key %i)", async (k) => {
    const account = privateKeyToAccount(`0x${k.toString(16).padStart(64, "0")}` as Hex);
    const full = await signIntent(account, domain, { ...intent, deployer: account.address });
    const compact = compactSignature(full);
    expect(compact).toHaveLength(2 + 128);
    const { r, s, yParity } = parseSignature(full);
    // EIP-2098: r, then s with yParity in its top bit.
    expect(slice(compact, 0, 32)).toBe(r);
    expect(hexToBigInt(slice(compact, 32, 64))).toBe(hexToBigInt(s) | (BigInt(yParity ?? 0) << 255n));
    expect(expandSignature(compact)).toBe(full);
    expect(await recoverIntentSigner(domain, { ...intent, deployer: account.address }, compact)).toBe(account.address);
    // Independent recovery of the expanded form.
    const td = intentTypedData(domain, { ...intent, deployer: account.address });
    const recovered = recoverTypedSignature({
      data: {
        domain: td.domain,
        types: {
          EIP712Domain: [
            { name: "name", type: "string" },
            { name: "version", type: "string" },
            { name: "chainId", type: "uint256" },
            { name: "verifyingContract", type: "address" },
          ],
          ...td.types,
        },
        primaryType: td.primaryType,
        message: Object.fromEntries(Object.entries(td.message).map(([key, v]) => [key, typeof v === "bigint" ? v.toString() : v])),
      } as never,
      signature: expandSignature(compact),
      version: SignTypedDataVersion.V4,
    });
    expect(recovered.toLowerCase()).toBe(account.address.toLowerCase());
  });

  it("leaves other lengths (a smart wallet's signature) untouched", () => {
    const walletSig = `0x${"ab".repeat(100)}` as Hex;
    expect(compactSignature(walletSig)).toBe(walletSig);
    expect(expandSignature(walletSig)).toBe(walletSig);
  });
});
