/**
 * Encrypted key files in the Web3 Secret Storage format (version 3: scrypt + aes-128-ctr +
 * keccak256 MAC), the format geth, ethers and MetaMask read. Keys are never written unencrypted;
 * files are written to a temp name and renamed, mode 0600.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scryptSync, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { bytesToHex, getAddress, hexToBytes, isHex, keccak256, type Address, type Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { HyphaError } from "../errors";

/** A key file that cannot be read, decrypted or written. */
export class KeystoreError extends HyphaError {
  override name = "KeystoreError";
}

export interface KeystoreJson {
  version: 3;
  id: string;
  address: string;
  crypto: {
    cipher: "aes-128-ctr";
    ciphertext: string;
    cipherparams: { iv: string };
    kdf: "scrypt";
    kdfparams: { dklen: number; n: number; r: number; p: number; salt: string };
    mac: string;
  };
}

/** scrypt cost; the default is geth's "standard" (n = 2^18). Tests may lower it. */
export interface ScryptParams {
  n: number;
  r: number;
  p: number;
}
export const STANDARD_SCRYPT: ScryptParams = { n: 1 << 18, r: 8, p: 1 };

function derive(passphrase: string, salt: Buffer, p: { n: number; r: number; p: number; dklen: number }): Buffer {
  const ok = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max;
  if (!ok(p.n, 1 << 20) || (p.n & (p.n - 1)) !== 0 || !ok(p.r, 32) || !ok(p.p, 16) || p.dklen !== 32) {
    throw new KeystoreError(`keystore crypto.kdfparams: unsupported scrypt parameters n=${p.n} r=${p.r} p=${p.p} dklen=${p.dklen}`);
  }
  // OpenSSL counts the whole working set; leave generous headroom over 128·N·r.
  const maxmem = 2 * 128 * p.n * p.r * Math.max(1, p.p) + 64 * 1024 * 1024;
  const password = Buffer.from(passphrase.normalize("NFKC"), "utf8");
  if (p.n < 2 ** (16 * p.r)) return scryptSync(password, salt, p.dklen, { N: p.n, r: p.r, p: p.p, maxmem });
  // OpenSSL refuses N >= 2^(16·r) (e.g. the spec's r=1, n=2^18 vector); use the pure-JS scrypt
  // from @noble/hashes (already installed with the Ethereum tooling) for such files.
  let nobleScrypt: ((pw: Uint8Array, salt: Uint8Array, o: { N: number; r: number; p: number; dkLen: number; maxmem: number }) => Uint8Array) | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    nobleScrypt = require("@noble/hashes/scrypt").scrypt;
  } catch {
    nobleScrypt = undefined;
  }
  if (!nobleScrypt) throw new KeystoreError(`keystore crypto.kdfparams: scrypt n=${p.n} with r=${p.r} is not supported by this Node build`);
  return Buffer.from(nobleScrypt(password, salt, { N: p.n, r: p.r, p: p.p, dkLen: p.dklen, maxmem }));
}

function mac(derived: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.from(hexToBytes(keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext]))));
}

/**
 * Encrypts a private key into a v3 keystore object.
 * @example const json = encryptKey("0x…", "correct horse")
 */
export function encryptKey(privateKey: Hex, passphrase: string, scrypt: ScryptParams = STANDARD_SCRYPT): KeystoreJson {
  if (!isHex(privateKey) || privateKey.length !== 66) throw new KeystoreError("private key: must be 0x + 64 hex digits");
  if (!passphrase) throw new KeystoreError("passphrase: must not be empty");
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const kdfparams = { dklen: 32, n: scrypt.n, r: scrypt.r, p: scrypt.p, salt: salt.toString("hex") };
  const derived = derive(passphrase, salt, kdfparams);
  const cipher = createCipheriv("aes-128-ctr", derived.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(hexToBytes(privateKey))), cipher.final()]);
  return {
    version: 3,
    id: randomUUID(),
    address: privateKeyToAddress(privateKey).slice(2).toLowerCase(),
    crypto: {
      cipher: "aes-128-ctr",
      ciphertext: ciphertext.toString("hex"),
      cipherparams: { iv: iv.toString("hex") },
      kdf: "scrypt",
      kdfparams,
      mac: mac(derived, ciphertext).toString("hex"),
    },
  };
}

/**
 * Decrypts a v3 keystore (scrypt or pbkdf2 KDF not supported: scrypt only) and returns the private key.
 * A wrong passphrase fails the MAC check with a clear error.
 * @example const pk = decryptKey(JSON.parse(text), "correct horse")
 */
export function decryptKey(json: unknown, passphrase: string): Hex {
  const k = json as KeystoreJson;
  if (!k || typeof k !== "object" || k.version !== 3 || !k.crypto) throw new KeystoreError("keystore: not a version 3 Web3 Secret Storage file");
  const c = k.crypto ?? (k as unknown as { Crypto: KeystoreJson["crypto"] }).Crypto;
  if (c.kdf !== "scrypt") throw new KeystoreError(`keystore crypto.kdf: only scrypt is supported, got ${c.kdf}`);
  if (c.cipher !== "aes-128-ctr") throw new KeystoreError(`keystore crypto.cipher: only aes-128-ctr is supported, got ${c.cipher}`);
  const kp = c.kdfparams;
  const derived = derive(passphrase, Buffer.from(kp.salt, "hex"), kp);
  const ciphertext = Buffer.from(c.ciphertext, "hex");
  const expected = Buffer.from(c.mac, "hex");
  const actual = mac(derived, ciphertext);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual))
    throw new KeystoreError("passphrase: wrong passphrase for this key file (MAC mismatch)");
  const decipher = createDecipheriv("aes-128-ctr", derived.subarray(0, 16), Buffer.from(c.cipherparams.iv, "hex"));
  const key = bytesToHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  if (k.address && privateKeyToAddress(key).slice(2).toLowerCase() !== k.address.toLowerCase().replace(/^0x/, "")) {
    throw new KeystoreError("keystore address: does not match the decrypted key");
  }
  return key;
}

export interface KeyFileInfo {
  address: Address;
  file: string;
}

/**
 * Writes an encrypted key into `dir` as `UTC--<time>--<address>.json` (mode 0600), refusing duplicates.
 * @example saveKey(".hypha/keystore", encryptKey(pk, pass))
 */
export function saveKey(dir: string, json: KeystoreJson): KeyFileInfo {
  const address = getAddress(`0x${json.address}`);
  if (listKeys(dir).some((k) => k.address === address)) throw new KeystoreError(`keystore: ${address} is already in ${dir}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/:/g, "-");
  const file = path.join(dir, `UTC--${stamp}--${json.address}.json`);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(json), { mode: 0o600 });
  fs.renameSync(tmp, file);
  return { address, file };
}

/**
 * The keys in a keystore folder (missing folder: none).
 * @example listKeys(".hypha/keystore").map(k => k.address)
 */
export function listKeys(dir: string): KeyFileInfo[] {
  if (!fs.existsSync(dir)) return [];
  const out: KeyFileInfo[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (!name.endsWith(".json")) continue;
    try {
      const j = JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as KeystoreJson;
      if (j.version === 3 && typeof j.address === "string") out.push({ address: getAddress(`0x${j.address.replace(/^0x/, "")}`), file: path.join(dir, name) });
    } catch {
      // not a key file; skip
    }
  }
  return out;
}

/**
 * Loads and decrypts one key from a folder (by address; the only key when `address` is omitted) or a file.
 * @example const pk = loadKey(".hypha/keystore", pass, "0x71bE…")
 */
export function loadKey(dirOrFile: string, passphrase: string, address?: string): { address: Address; privateKey: Hex } {
  let file: string;
  if (fs.existsSync(dirOrFile) && fs.statSync(dirOrFile).isFile()) {
    file = dirOrFile;
  } else {
    const keys = listKeys(dirOrFile);
    if (keys.length === 0) throw new KeystoreError(`keystore: no key files in ${dirOrFile} (create one with \`hypha key new\`)`);
    const wanted = address?.toLowerCase();
    const match = wanted ? keys.find((k) => k.address.toLowerCase() === wanted) : keys.length === 1 ? keys[0] : undefined;
    if (!match) {
      throw new KeystoreError(
        wanted ? `--from: ${address} is not in ${dirOrFile}` : `--from: ${dirOrFile} holds ${keys.length} keys; name one with --from ADDRESS`,
      );
    }
    file = match.file;
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new KeystoreError(`keystore: cannot read ${file}`, { cause: err });
  }
  const privateKey = decryptKey(json, passphrase);
  return { address: privateKeyToAddress(privateKey), privateKey };
}
