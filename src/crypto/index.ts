/** The crypto core: every primitive over node:crypto, the standard constructions, and the three suites. */
export { aeadOpen, aeadSeal, aeadSealAfterNonce, aeadTryOpen, CHACHA20_POLY1305 } from "./aead.ts";
export {
  ALG,
  ALG_NAMES,
  type AlgId,
  isAlgId,
  type Kem,
  type KeyAgreement,
  type SeedKeyPair,
  type SignatureScheme,
} from "./algorithms.ts";
export {
  concatBytes,
  copyBytes,
  equalBytes,
  fromHex,
  toHex,
  u8,
  u16,
  u32,
  u64,
  utf8,
  wipe,
} from "./bytes.ts";
export { compositeMessageRepresentative, mlDsa65Ed25519 } from "./composite-signature.ts";
export { constantTimeEqual, isAllZero } from "./constant-time.ts";
export { ed25519, ed25519SignRaw, ed25519VerifyRaw } from "./ed25519.ts";
export { BLAKE2B_LENGTH, blake2b, sha3_256, sha256, sha512, shake256 } from "./hash.ts";
export { hkdf, hkdfWith } from "./kdf.ts";
export { decodeTaggedKey, decodeTaggedKeyExact, encodeTaggedKey, type TaggedKey } from "./key-encoding.ts";
export { mlDsa65 } from "./ml-dsa.ts";
export { mlKem768 } from "./ml-kem.ts";
export {
  ARGON2ID_BOUNDS,
  ARGON2ID_SALT_LENGTH,
  type Argon2idParameters,
  argon2id,
  checkArgon2idParameters,
  DEFAULT_ARGON2ID,
} from "./password.ts";
export { publicRandomBytes, randomBytes } from "./random.ts";
export * from "./suites.ts";
export { xWing } from "./x-wing.ts";
export { x25519 } from "./x25519.ts";
export { x25519Kem } from "./x25519-kem.ts";
