/**
 * The local chain's well-known development accounts (Hardhat's default mnemonic) and the roles
 * Hypha gives them on a local chain. Never use these keys on a public network.
 */
import { mnemonicToAccount, type HDAccount } from "viem/accounts";

export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Which dev account plays which part on a local chain (`hypha up`, the demo, tests). */
export const DEV_ROLES = {
  admin: 0,
  orchestrators: [1, 2, 3, 4],
  nodeOperators: [5, 6, 7],
  nodeAgents: [8, 9, 10],
  deployers: [11, 12, 13, 14, 15, 16, 17, 18, 19],
  defaultDeployer: 11,
} as const;

const cache = new Map<number, HDAccount>();

/**
 * Dev account `index` (0..19) of the default mnemonic, with its private key available for signing.
 * @example devAccount(DEV_ROLES.defaultDeployer).address // "0x71bE63f3384f5fb98995898A86B02Fb2426c5788"
 */
export function devAccount(index: number): HDAccount {
  if (!Number.isInteger(index) || index < 0 || index > 19) throw new RangeError(`dev account index ${index}: must be 0..19`);
  let account = cache.get(index);
  if (!account) {
    account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
    cache.set(index, account);
  }
  return account;
}

/** The private key of dev account `index`, for child processes started locally (`hypha up`). */
export function devPrivateKey(index: number): `0x${string}` {
  const key = devAccount(index).getHdKey().privateKey;
  if (!key) throw new Error(`dev account ${index} has no private key`);
  return `0x${Buffer.from(key).toString("hex")}`;
}
