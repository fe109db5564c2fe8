import { concatBytes, copyBytes, u8, u32 } from "../../crypto/bytes.ts";
import { NanoError } from "../../errors/index.ts";

/**
 * What the keystore seals: the random key of the local database and the identity secrets. The identity
 * part is opaque here: the identity seeds written by `init` (identity-seeds.ts), from which the
 * protocol's identity keys are derived (local-identity.ts). The database key never leaves this container, so stealing the home
 * directory without the passphrase yields no readable row.
 *
 *   version (u8, = 1) || local database key (32) || identity length (u32) || identity
 */
export const CONTENTS_VERSION = 1;
export const LOCAL_STORE_KEY_LENGTH = 32;

export interface KeystoreContents {
  readonly localStoreKey: Uint8Array;
  readonly identity: Uint8Array;
}

/**
 * The database key comes from the platform's WebCrypto CSPRNG (`getRandomValues`; Node's is OpenSSL's,
 * the same source as node:crypto's randomBytes): this file is bundled for the browser keystore too.
 */
export function newKeystoreContents(identity: Uint8Array): KeystoreContents {
  const localStoreKey = globalThis.crypto.getRandomValues(new Uint8Array(LOCAL_STORE_KEY_LENGTH));
  return { localStoreKey, identity: copyBytes(identity) };
}

export function encodeKeystoreContents(contents: KeystoreContents): Uint8Array {
  if (contents.localStoreKey.length !== LOCAL_STORE_KEY_LENGTH) {
    throw new RangeError("local store key must be 32 bytes");
  }
  return concatBytes(
    u8(CONTENTS_VERSION),
    contents.localStoreKey,
    u32(contents.identity.length),
    contents.identity,
  );
}

/**
 * The bytes were authenticated by the keystore's AEAD, so a malformed container is a bug or a keystore
 * written by another program, not line noise; still, it is parsed strictly.
 */
export function decodeKeystoreContents(bytes: Uint8Array): KeystoreContents {
  const fixed = 1 + LOCAL_STORE_KEY_LENGTH + 4;
  if (bytes.length < fixed) throw new NanoError("keystore_corrupt", "keystore contents are truncated");
  if (bytes[0] !== CONTENTS_VERSION) {
    throw new NanoError("keystore_version_unsupported", `keystore contents version ${bytes[0]} is unknown`);
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1 + 32);
  if (bytes.length !== fixed + length) {
    throw new NanoError("keystore_corrupt", "keystore contents length does not match");
  }
  return { localStoreKey: bytes.slice(1, 33), identity: bytes.slice(fixed) };
}
