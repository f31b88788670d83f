/**
 * Keystore files: the Web3 Secret Storage spec's published scrypt test vector decrypts to its
 * published key (independent of our encryptor); our files round-trip, are never plaintext, and a
 * wrong passphrase or a tampered file is refused with a named error.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { privateKeyToAddress } from "viem/accounts";
import { decryptKey, encryptKey, KeystoreError, listKeys, loadKey, saveKey } from "../../src/chain/keystore";

// From the Web3 Secret Storage Definition (ethereum wiki), "Test Vectors", scrypt; password "testpassword".
const SPEC_VECTOR = {
  crypto: {
    cipher: "aes-128-ctr",
    cipherparams: { iv: "83dbcc02d8ccb40e466191a123791e0e" },
    ciphertext: "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
    kdf: "scrypt",
    kdfparams: { dklen: 32, n: 262144, r: 1, p: 8, salt: "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19" },
    mac: "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097",
  },
  id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
  version: 3,
};
const SPEC_KEY = "0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";
const LIGHT = { n: 1 << 12, r: 8, p: 1 };
const PK = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;

describe("keystore", () => {
  it("decrypts the spec's published scrypt vector", () => {
    expect(decryptKey(SPEC_VECTOR, "testpassword")).toBe(SPEC_KEY);
  });

  it("refuses a wrong passphrase with a MAC error", () => {
    expect(() => decryptKey(encryptKey(PK, "right", LIGHT), "wrong")).toThrow(/passphrase: wrong passphrase/);
  });

  it("round-trips, writes no plaintext key, mode 0600, lists by address", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hypha-ks-"));
    const info = saveKey(dir, encryptKey(PK, "pw", LIGHT));
    expect(info.address).toBe(privateKeyToAddress(PK));
    const text = fs.readFileSync(info.file, "utf8");
    expect(text).not.toContain(PK.slice(2));
    expect(fs.statSync(info.file).mode & 0o777).toBe(0o600);
    expect(listKeys(dir)).toEqual([info]);
    expect(loadKey(dir, "pw").privateKey).toBe(PK);
    expect(loadKey(dir, "pw", info.address.toLowerCase()).address).toBe(info.address);
    expect(() => saveKey(dir, encryptKey(PK, "pw", LIGHT))).toThrow(/already in/);
    expect(fs.readdirSync(dir)).toHaveLength(1);
  });

  it("detects a tampered ciphertext", () => {
    const json = encryptKey(PK, "pw", LIGHT);
    const c = json.crypto.ciphertext;
    json.crypto.ciphertext = (c[0] === "0" ? "1" : "0") + c.slice(1);
    expect(() => decryptKey(json, "pw")).toThrow(KeystoreError);
  });

  it("rejects bad input with the field named", () => {
    expect(() => encryptKey("0x1234" as `0x${string}`, "pw", LIGHT)).toThrow(/private key/);
    expect(() => encryptKey(PK, "", LIGHT)).toThrow(/passphrase/);
    expect(() => decryptKey({ version: 1 }, "pw")).toThrow(/version 3/);
    expect(() => loadKey(fs.mkdtempSync(path.join(os.tmpdir(), "hypha-ks-")), "pw")).toThrow(/no key files/);
  });
});
