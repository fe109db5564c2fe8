/**
 * The key-transparency log's leaf: one accepted username -> identity-record binding, version 1
 * (big-endian):
 *
 *   u8    0x01                 encoding version
 *   u64   time                 milliseconds since the Unix epoch (when the relay accepted it)
 *   32    username commitment  SHA-256(salt || UTF-8 normalized username), salt 32 random bytes
 *   vec8  identity hash        H(IR) = BLAKE2b-512 of the encoded identity record (64 bytes)
 *   u32   record version       the identity record's version
 *
 * The username is personal data, so the leaf holds a salted commitment (salted-commitment.ts); the
 * relay hands the salt to whoever fetches the binding, and deleting the salt (an erasure) makes the
 * leaf unlinkable to anyone without breaking a single proof. A client checks that the leaf opens to
 * exactly the username it asked for and the record it received.
 */

import { LeafReader, LeafWriter, leafMalformed } from "./_leaf-codec.ts";
import type { Sha256 } from "./merkle-hash.ts";
import {
  COMMITMENT_SALT_LENGTH,
  type CommitmentPrimitives,
  commitPersonalData,
  verifyPersonalData,
} from "./salted-commitment.ts";

export const KT_LEAF_VERSION = 1;
export const KT_IDENTITY_HASH_BYTES = 64;

export interface KtBindingLeaf {
  readonly time: number;
  readonly usernameCommitment: Uint8Array;
  readonly identityHash: Uint8Array;
  readonly recordVersion: number;
}

export function encodeKtLeaf(leaf: KtBindingLeaf): Uint8Array {
  if (leaf.usernameCommitment.length !== 32) throw new RangeError("the username commitment must be 32 bytes");
  if (leaf.identityHash.length !== KT_IDENTITY_HASH_BYTES)
    throw new RangeError(`the identity hash must be ${KT_IDENTITY_HASH_BYTES} bytes`);
  if (!Number.isInteger(leaf.recordVersion) || leaf.recordVersion < 0 || leaf.recordVersion > 0xffffffff)
    throw new RangeError("the record version must be a u32");
  return new LeafWriter()
    .u8(KT_LEAF_VERSION)
    .u64(leaf.time)
    .fixed(leaf.usernameCommitment)
    .vec8(leaf.identityHash)
    .u32(leaf.recordVersion)
    .finish();
}

export function decodeKtLeaf(bytes: Uint8Array): KtBindingLeaf {
  const reader = new LeafReader(bytes);
  const version = reader.u8("version");
  if (version !== KT_LEAF_VERSION) throw leafMalformed(`unknown key-transparency leaf version ${version}`);
  const time = reader.u64("time");
  const usernameCommitment = reader.fixed(32, "username commitment");
  const identityHash = reader.vec8("identity hash");
  if (identityHash.length !== KT_IDENTITY_HASH_BYTES)
    throw leafMalformed("identity hash has the wrong length");
  const recordVersion = reader.u32("record version");
  reader.end();
  return { time, usernameCommitment, identityHash, recordVersion };
}

/** A fresh binding leaf for `username` (normalized) and its salt for the side table. */
export function ktBinding(
  primitives: CommitmentPrimitives,
  username: string,
  identityHash: Uint8Array,
  recordVersion: number,
  time: number,
): { leaf: Uint8Array; salt: Uint8Array } {
  const { commitment, salt } = commitPersonalData(primitives, new TextEncoder().encode(username));
  return { leaf: encodeKtLeaf({ time, usernameCommitment: commitment, identityHash, recordVersion }), salt };
}

/** Throws salted_commitment_mismatch unless the leaf's commitment opens to `username` with `salt`. */
export function checkKtUsername(
  sha256: Sha256,
  leaf: KtBindingLeaf,
  username: string,
  salt: Uint8Array,
): void {
  if (salt.length !== COMMITMENT_SALT_LENGTH)
    throw leafMalformed(`the username salt must be ${COMMITMENT_SALT_LENGTH} bytes`);
  verifyPersonalData(sha256, leaf.usernameCommitment, salt, new TextEncoder().encode(username));
}
