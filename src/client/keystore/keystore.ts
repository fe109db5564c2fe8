import { readFile, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import {
  ARGON2ID_SALT_LENGTH,
  type Argon2idParameters,
  aeadOpen,
  aeadSeal,
  argon2id,
  CHACHA20_POLY1305,
  checkArgon2idParameters,
  constantTimeEqual,
  DEFAULT_ARGON2ID,
  hkdf,
  randomBytes,
  utf8,
  wipe,
} from "../../crypto/index.ts";
import { LOCAL_LABELS, label } from "../../crypto/labels.ts";
import { NanoError } from "../../errors/index.ts";
import { assertPrivate, sweepTemporaryFiles, writeFileAtomic } from "../home/atomic-file.ts";
import {
  assembleKeystore,
  CHECK_VALUE_LENGTH,
  encodeKeystoreHeader,
  keystoreLength,
  MAX_KEYSTORE_PAYLOAD,
  parseKeystore,
} from "./keystore-format.ts";

/**
 * The keystore: an opaque payload (the identity secrets and the local database key) sealed under a
 * passphrase. argon2id stretches the passphrase into a master key; HKDF splits it into an AEAD key and
 * a check value. The check value lets a wrong passphrase be told apart from a tampered ciphertext (it
 * gives an attacker no oracle the AEAD tag does not already give). Every write uses a fresh salt and
 * nonce, so no (key, nonce) pair is ever reused, even across passphrase changes.
 */

const SEAL_LABEL = label(LOCAL_LABELS.keystoreSeal);
const CHECK_LABEL = label(LOCAL_LABELS.keystoreCheck);
export const MIN_PASSPHRASE_LENGTH = 8;

export type Passphrase = string | Uint8Array;

/** Derivation is injectable so tests can prove that hostile parameters are refused before any work. */
export type PasswordKdf = (
  passphrase: Uint8Array,
  salt: Uint8Array,
  parameters: Argon2idParameters,
) => Promise<Uint8Array>;

export interface KeystoreOptions {
  readonly argon2id?: Argon2idParameters;
  readonly kdf?: PasswordKdf;
  /** The largest payload sealed or opened: MAX_KEYSTORE_PAYLOAD unless the file is a sealed export. */
  readonly maxPayload?: number;
}

/** NFC so the same passphrase typed on two systems gives the same bytes. */
export function passphraseBytes(passphrase: Passphrase): Uint8Array {
  return typeof passphrase === "string" ? utf8(passphrase.normalize("NFC")) : passphrase;
}

export function checkNewPassphrase(passphrase: Passphrase): void {
  const length = typeof passphrase === "string" ? [...passphrase].length : passphrase.length;
  if (length < MIN_PASSPHRASE_LENGTH) {
    throw new NanoError(
      "passphrase_too_short",
      `passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters, got ${length}`,
    );
  }
}

async function deriveKeys(
  passphrase: Passphrase,
  salt: Uint8Array,
  parameters: Argon2idParameters,
  kdf: PasswordKdf,
): Promise<{ sealKey: Uint8Array; checkValue: Uint8Array }> {
  const master = await kdf(passphraseBytes(passphrase), salt, parameters);
  const empty = new Uint8Array(0);
  const keys = {
    sealKey: hkdf(master, empty, SEAL_LABEL, CHACHA20_POLY1305.keyLength),
    checkValue: hkdf(master, empty, CHECK_LABEL, CHECK_VALUE_LENGTH),
  };
  wipe(master);
  return keys;
}

/** Seals `payload` into the bytes of a keystore file. */
export async function sealKeystore(
  payload: Uint8Array,
  passphrase: Passphrase,
  options: KeystoreOptions = {},
): Promise<Uint8Array> {
  const parameters = options.argon2id ?? DEFAULT_ARGON2ID;
  checkArgon2idParameters(parameters);
  const maxPayload = options.maxPayload ?? MAX_KEYSTORE_PAYLOAD;
  if (payload.length > maxPayload) {
    throw new NanoError(
      "keystore_payload_too_large",
      `keystore payload of ${payload.length} bytes exceeds ${maxPayload}`,
    );
  }
  const salt = randomBytes(ARGON2ID_SALT_LENGTH);
  const nonce = randomBytes(CHACHA20_POLY1305.nonceLength);
  const { sealKey, checkValue } = await deriveKeys(passphrase, salt, parameters, options.kdf ?? argon2id);
  const header = encodeKeystoreHeader(
    {
      argon2id: parameters,
      salt,
      nonce,
      checkValue,
      payloadLength: payload.length,
    },
    maxPayload,
  );
  const sealed = aeadSeal(sealKey, nonce, payload, header);
  wipe(sealKey);
  return assembleKeystore(header, sealed);
}

/** Opens keystore bytes; every failure is a typed NanoError (see keystore-format.ts for the order). */
export async function openKeystore(
  bytes: Uint8Array,
  passphrase: Passphrase,
  options: Pick<KeystoreOptions, "kdf" | "maxPayload"> = {},
): Promise<Uint8Array> {
  const { header, sealed } = parseKeystore(bytes, options.maxPayload);
  const { sealKey, checkValue } = await deriveKeys(
    passphrase,
    header.salt,
    header.argon2id,
    options.kdf ?? argon2id,
  );
  try {
    if (!constantTimeEqual(checkValue, header.checkValue)) {
      throw new NanoError("wrong_passphrase", "wrong passphrase for the keystore");
    }
    try {
      return aeadOpen(sealKey, header.nonce, sealed, header.bytes);
    } catch (cause) {
      throw new NanoError("keystore_tampered", "keystore contents fail authentication", { cause });
    }
  } finally {
    wipe(sealKey);
  }
}

/** Reads a keystore file; a missing file is `keystore_missing`, a readable-by-others file is refused. */
export async function readKeystoreFile(path: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    await assertPrivate(path, "keystore");
    // Capped before reading: a multi-gigabyte file named keystore must not be pulled into memory.
    const { size } = await stat(path);
    if (size > keystoreLength(MAX_KEYSTORE_PAYLOAD)) {
      throw new NanoError(
        "keystore_payload_too_large",
        `keystore file is ${size} bytes; the format caps it near 1 MiB`,
      );
    }
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new NanoError("keystore_missing", `no keystore at ${path}`);
    }
    throw error;
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export async function loadKeystore(
  path: string,
  passphrase: Passphrase,
  options: Pick<KeystoreOptions, "kdf"> = {},
): Promise<Uint8Array> {
  return openKeystore(await readKeystoreFile(path), passphrase, options);
}

/** Seals and writes atomically (0600). Leftover temporary files of killed writes are swept first. */
export async function saveKeystore(
  path: string,
  payload: Uint8Array,
  passphrase: Passphrase,
  options: KeystoreOptions = {},
): Promise<void> {
  const bytes = await sealKeystore(payload, passphrase, options);
  await sweepTemporaryFiles(dirname(path), basename(path));
  await writeFileAtomic(path, bytes);
}

/**
 * Re-seals under a new passphrase with a fresh salt and nonce, replacing the file atomically: a crash
 * leaves either the old file (old passphrase) or the new one, never neither.
 */
export async function changeKeystorePassphrase(
  path: string,
  oldPassphrase: Passphrase,
  newPassphrase: Passphrase,
  options: KeystoreOptions = {},
): Promise<void> {
  checkNewPassphrase(newPassphrase);
  const payload = await loadKeystore(path, oldPassphrase, options);
  try {
    await saveKeystore(path, payload, newPassphrase, options);
  } finally {
    wipe(payload);
  }
}
