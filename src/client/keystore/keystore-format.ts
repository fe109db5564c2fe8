import {
  ARGON2ID_SALT_LENGTH,
  type Argon2idParameters,
  blake2b,
  CHACHA20_POLY1305,
  checkArgon2idParameters,
  concatBytes,
  constantTimeEqual,
  equalBytes,
  u8,
  u16,
  u32,
} from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";

/**
 * The keystore file format, version 1 (docs/client.md "Keystore format"). Parsing follows a fixed order
 * so each kind of damage has its own error: magic, version, length, checksum, algorithm ids, argon2id
 * parameters (capped before any work is done), and only then the caller derives a key.
 *
 *   offset size field
 *        0    6 magic "NANOKS"
 *        6    2 format version (u16, = 1)
 *        8    1 kdf id (1 = argon2id)
 *        9    4 argon2id memory KiB (u32)
 *       13    2 argon2id passes (u16)
 *       15    2 argon2id parallelism (u16)
 *       17   16 argon2id salt
 *       33    1 aead id (1 = ChaCha20-Poly1305)
 *       34   12 nonce
 *       46   16 passphrase check value
 *       62    4 plaintext length n (u32, at most MAX_KEYSTORE_PAYLOAD; a sealed export: MAX_SEALED_EXPORT_PAYLOAD)
 *       66  n+16 ciphertext || tag          (AD = bytes 0..66)
 *   82+n   32 checksum = BLAKE2b-512(bytes 0..82+n)[0..32]
 */
const MAGIC_TEXT = "NANOKS";
const KEYSTORE_MAGIC = new TextEncoder().encode(MAGIC_TEXT);
export const KEYSTORE_VERSION = 1;
export const KDF_ARGON2ID = 1;
export const AEAD_CHACHA20_POLY1305 = 1;
export const KEYSTORE_HEADER_LENGTH = 66;
export const CHECK_VALUE_LENGTH = 16;
export const CHECKSUM_LENGTH = 32;
/** Keystores hold keys: a few KiB today. The cap stops a hostile length field from sizing allocations. */
export const MAX_KEYSTORE_PAYLOAD = 1 << 20;
/**
 * `export --encrypt` seals a whole history in the same format: a long history (or one long text) is
 * far more than a keystore. Bounded well below the u32 field so a hostile header still cannot size a
 * huge allocation, and so the export, built in memory, stays within a laptop's memory.
 */
export const MAX_SEALED_EXPORT_PAYLOAD = 256 << 20;

const PREFIX_LENGTH = KEYSTORE_MAGIC.length + 2;

export interface KeystoreHeader {
  readonly version: number;
  readonly argon2id: Argon2idParameters;
  readonly salt: Uint8Array;
  readonly nonce: Uint8Array;
  readonly checkValue: Uint8Array;
  readonly payloadLength: number;
  /** The exact header bytes: the AEAD's associated data, so every parameter is authenticated. */
  readonly bytes: Uint8Array;
}

export interface ParsedKeystore {
  readonly header: KeystoreHeader;
  readonly sealed: Uint8Array;
}

/** The on-disk length of a keystore holding `payloadLength` bytes. */
export function keystoreLength(payloadLength: number): number {
  return KEYSTORE_HEADER_LENGTH + payloadLength + CHACHA20_POLY1305.tagLength + CHECKSUM_LENGTH;
}

export function encodeKeystoreHeader(
  fields: Omit<KeystoreHeader, "bytes" | "version">,
  maxPayload: number = MAX_KEYSTORE_PAYLOAD,
): Uint8Array {
  const { argon2id, salt, nonce, checkValue, payloadLength } = fields;
  if (salt.length !== ARGON2ID_SALT_LENGTH) throw new RangeError("keystore salt must be 16 bytes");
  if (nonce.length !== CHACHA20_POLY1305.nonceLength) throw new RangeError("keystore nonce must be 12 bytes");
  if (checkValue.length !== CHECK_VALUE_LENGTH) throw new RangeError("check value must be 16 bytes");
  if (payloadLength > maxPayload) {
    throw new NanoError(
      "keystore_payload_too_large",
      `keystore payload of ${payloadLength} bytes exceeds ${maxPayload}`,
    );
  }
  const header = concatBytes(
    KEYSTORE_MAGIC,
    u16(KEYSTORE_VERSION),
    u8(KDF_ARGON2ID),
    u32(argon2id.memoryKiB),
    u16(argon2id.passes),
    u16(argon2id.parallelism),
    salt,
    u8(AEAD_CHACHA20_POLY1305),
    nonce,
    checkValue,
    u32(payloadLength),
  );
  if (header.length !== KEYSTORE_HEADER_LENGTH) throw new Error("keystore header layout is inconsistent");
  return header;
}

/** Header || sealed || checksum: the whole file. */
export function assembleKeystore(header: Uint8Array, sealed: Uint8Array): Uint8Array {
  const body = concatBytes(header, sealed);
  return concatBytes(body, checksum(body));
}

function checksum(body: Uint8Array): Uint8Array {
  return blake2b(body).subarray(0, CHECKSUM_LENGTH);
}

/** True when `bytes` (possibly shorter than the magic: a truncated file) begins like a keystore. */
function startsWithMagic(bytes: Uint8Array): boolean {
  const length = Math.min(bytes.length, KEYSTORE_MAGIC.length);
  return equalBytes(bytes.subarray(0, length), KEYSTORE_MAGIC.subarray(0, length));
}

/**
 * Parses and checks everything that can be checked without the passphrase. Never throws anything but
 * a NanoError, whatever the input.
 */
export function parseKeystore(bytes: Uint8Array, maxPayload: number = MAX_KEYSTORE_PAYLOAD): ParsedKeystore {
  if (!startsWithMagic(bytes) || bytes.length === 0) {
    throw new NanoError("keystore_unrecognized", "the file is not a nano-client keystore (bad magic bytes)");
  }
  if (bytes.length < PREFIX_LENGTH) {
    throw new NanoError("keystore_truncated", `keystore file is only ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(KEYSTORE_MAGIC.length);
  if (version !== KEYSTORE_VERSION) {
    throw new NanoError(
      "keystore_version_unsupported",
      `keystore format version ${version} is not supported (this client reads version ${KEYSTORE_VERSION})`,
    );
  }
  if (bytes.length < KEYSTORE_HEADER_LENGTH) {
    throw new NanoError("keystore_truncated", `keystore file is only ${bytes.length} bytes`);
  }
  const payloadLength = view.getUint32(62);
  if (payloadLength > maxPayload) {
    throw new NanoError(
      "keystore_payload_too_large",
      `keystore header claims a ${payloadLength}-byte payload; the cap is ${maxPayload}`,
    );
  }
  const expected = keystoreLength(payloadLength);
  if (bytes.length !== expected) {
    throw new NanoError(
      "keystore_truncated",
      `keystore file is ${bytes.length} bytes but its header implies ${expected}`,
    );
  }
  const bodyEnd = expected - CHECKSUM_LENGTH;
  if (!constantTimeEqual(checksum(bytes.subarray(0, bodyEnd)), bytes.subarray(bodyEnd))) {
    throw new NanoError("keystore_corrupt", "keystore checksum mismatch: the file was damaged on disk");
  }
  const kdf = bytes[8]!;
  if (kdf !== KDF_ARGON2ID) throw new NanoError("unknown_algorithm", `unknown keystore kdf id ${kdf}`);
  const aead = bytes[33]!;
  if (aead !== AEAD_CHACHA20_POLY1305) {
    throw new NanoError("unknown_algorithm", `unknown keystore aead id ${aead}`);
  }
  const argon2id: Argon2idParameters = {
    memoryKiB: view.getUint32(9),
    passes: view.getUint16(13),
    parallelism: view.getUint16(15),
  };
  // Before any derivation: a file asking for 4 GiB of memory must cost nothing to refuse.
  checkArgon2idParameters(argon2id);
  return {
    header: {
      version,
      argon2id,
      salt: bytes.slice(17, 33),
      nonce: bytes.slice(34, 46),
      checkValue: bytes.slice(46, 62),
      payloadLength,
      bytes: bytes.slice(0, KEYSTORE_HEADER_LENGTH),
    },
    sealed: bytes.slice(KEYSTORE_HEADER_LENGTH, bodyEnd),
  };
}
