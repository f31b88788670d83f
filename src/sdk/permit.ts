/**
 * ERC-2612 permit for HyphaToken: the typed data a deployer signs so that the escrow can pull its
 * budget without an `approve` transaction (which would need ETH), and the check a relayer makes
 * before it sends the permit. The token's EIP-712 domain is read from its EIP-5267 eip712Domain().
 */
import { recoverTypedDataAddress, type Address, type Hex, type PublicClient, type TypedDataDomain } from "viem";

/** ERC-2612's one struct (EIP-712 types as viem takes them). */
export const permitTypes = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export interface PermitMessage {
  owner: Address;
  spender: Address;
  value: bigint;
  nonce: bigint;
  deadline: bigint;
}

/**
 * Typed-data arguments for signing a permit (viem signTypedData / eth_signTypedData_v4).
 * @example permitTypedData(await readTokenDomain(pc, token), { owner, spender: registry, value: budget, nonce: 0n, deadline })
 */
export function permitTypedData(domain: TypedDataDomain, message: PermitMessage) {
  return { domain, types: permitTypes, primaryType: "Permit" as const, message };
}

const eip712DomainAbi = [
  {
    type: "function",
    name: "eip712Domain",
    stateMutability: "view",
    inputs: [],
    outputs: [
      { name: "fields", type: "bytes1" },
      { name: "name", type: "string" },
      { name: "version", type: "string" },
      { name: "chainId", type: "uint256" },
      { name: "verifyingContract", type: "address" },
      { name: "salt", type: "bytes32" },
      { name: "extensions", type: "uint256[]" },
    ],
  },
] as const;

const noncesAbi = [
  { type: "function", name: "nonces", stateMutability: "view", inputs: [{ name: "owner", type: "address" }], outputs: [{ type: "uint256" }] },
] as const;

/**
 * A contract's EIP-712 domain from its EIP-5267 eip712Domain() (HyphaToken has it through
 * OpenZeppelin's ERC20Permit).
 * @example await readEip712Domain(publicClient, addresses.token) // { name: "Hypha", version: "1", chainId: 31337, verifyingContract }
 */
export async function readEip712Domain(publicClient: Pick<PublicClient, "readContract">, contract: Address): Promise<TypedDataDomain> {
  const [, name, version, chainId, verifyingContract] = await publicClient.readContract({
    address: contract,
    abi: eip712DomainAbi,
    functionName: "eip712Domain",
  });
  return { name, version, chainId: Number(chainId), verifyingContract };
}

/**
 * The owner's next permit nonce on the token.
 * @example await readPermitNonce(publicClient, token, deployer) // 0n
 */
export async function readPermitNonce(publicClient: Pick<PublicClient, "readContract">, token: Address, owner: Address): Promise<bigint> {
  return publicClient.readContract({ address: token, abi: noncesAbi, functionName: "nonces", args: [owner] });
}

/**
 * The address that signed a permit (ECDSA; 65-byte signature).
 * @example (await recoverPermitSigner(domain, message, signature)) === message.owner
 */
export async function recoverPermitSigner(domain: TypedDataDomain, message: PermitMessage, signature: Hex): Promise<Address> {
  return recoverTypedDataAddress({ ...permitTypedData(domain, message), signature });
}
