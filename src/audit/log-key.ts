/**
 * The log's signing key: one name, two key pairs. Every checkpoint carries an Ed25519 signature line
 * (C2SP signed-note type 0x01, verifiable by standard tooling) and an ML-DSA-65 line (post-quantum), and
 * verifiers require both, so forging a checkpoint needs breaking both algorithms.
 *
 * Signature types and key IDs (C2SP signed-note):
 *   key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]
 * - Ed25519: type byte 0x01, pure Ed25519 (RFC 8032) over the note text, as the spec defines.
 * - ML-DSA-65: no type byte is assigned (0x06 is the ML-DSA-44 *cosignature*, which signs a binary
 *   structure, not the note text). The spec reserves 0xff for unassigned types "followed by a longer
 *   identifier that is unlikely to collide", so our type is 0xff || ASCII "nano/v1/note/ml-dsa-65".
 *   The signature is FIPS 204 ML-DSA-65 (pure, hedged) over the note text with the context string
 *   "nano/v1/sig/checkpoint", so a log key signature can never be replayed as any other nano signature.
 *
 * This file is the public side, runtime-free (the client verifies in the page): key IDs take SHA-256
 * from the caller. Generating the key and signing with it is the relay's (log-signer.ts).
 */

import { concatBytes, utf8 } from "../crypto/bytes.ts";
import { KDF_LABELS, label, SIGNATURE_CONTEXTS } from "../crypto/labels.ts";
import { ED25519_LENGTHS, ML_DSA_65_LENGTHS } from "../crypto/parameters.ts";
import { NanoError } from "../errors/index.ts";
import { PORTABLE_BASE64 } from "../text/base64.ts";
import { utf8Length } from "../text/utf8-length.ts";
import type { Sha256 } from "./merkle-hash.ts";

export const ED25519_NOTE_SIGNATURE_TYPE: Uint8Array = Uint8Array.of(0x01);
export const ML_DSA_65_NOTE_SIGNATURE_TYPE: Uint8Array = concatBytes(
  Uint8Array.of(0xff),
  label(KDF_LABELS.noteMlDsa65),
);
/** FIPS 204 context string of the ML-DSA-65 checkpoint signature. */
export const CHECKPOINT_ML_DSA_CONTEXT: Uint8Array = label(SIGNATURE_CONTEXTS.checkpoint);

export const MAX_KEY_NAME_BYTES = 256;

export interface LogVerifierKey {
  readonly name: string;
  readonly ed25519PublicKey: Uint8Array;
  readonly mlDsa65PublicKey: Uint8Array;
}

/**
 * C2SP signed-note: key names are non-empty and contain no Unicode space and no "+". We also forbid
 * control characters (the note may not contain them) and bound the length.
 */
export function checkKeyName(name: string): void {
  const bytes = utf8Length(name);
  if (bytes === 0 || bytes > MAX_KEY_NAME_BYTES || !name.isWellFormed() || /[\s+\p{Cc}]/u.test(name))
    throw new NanoError(
      "note_key_name_invalid",
      `key name must be 1..${MAX_KEY_NAME_BYTES} bytes without spaces, "+" or control characters`,
    );
}

/** The 4-byte key ID as a big-endian uint32. */
export function noteKeyId(
  sha256: Sha256,
  name: string,
  signatureType: Uint8Array,
  publicKey: Uint8Array,
): number {
  const digest = sha256(utf8(name), Uint8Array.of(0x0a), signatureType, publicKey);
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0);
}

export function ed25519KeyId(sha256: Sha256, key: LogVerifierKey): number {
  return noteKeyId(sha256, key.name, ED25519_NOTE_SIGNATURE_TYPE, key.ed25519PublicKey);
}

export function mlDsa65KeyId(sha256: Sha256, key: LogVerifierKey): number {
  return noteKeyId(sha256, key.name, ML_DSA_65_NOTE_SIGNATURE_TYPE, key.mlDsa65PublicKey);
}

/** A verifier key; checks the name and that the two key IDs differ (else lines would be ambiguous). */
export function makeVerifierKey(
  sha256: Sha256,
  name: string,
  ed25519PublicKey: Uint8Array,
  mlDsa65PublicKey: Uint8Array,
): LogVerifierKey {
  checkKeyName(name);
  if (
    ed25519PublicKey.length !== ED25519_LENGTHS.publicKey ||
    mlDsa65PublicKey.length !== ML_DSA_65_LENGTHS.publicKey
  )
    throw new NanoError("invalid_length", "log verifier key: wrong public key length");
  const key = { name, ed25519PublicKey, mlDsa65PublicKey };
  if (ed25519KeyId(sha256, key) === mlDsa65KeyId(sha256, key))
    throw new NanoError("note_key_name_invalid", "the two halves of the log key have the same key ID");
  return Object.freeze(key);
}

/**
 * Verifier keys as text (the signed-note "vkey" form, as Go's sumdb/note writes them):
 *   <name>+<key ID, 8 lowercase hex digits>+<base64(signature type || public key)>
 * The log key is published as two vkeys, Ed25519 first, so clients can pin it in a config file.
 */
export function formatVerifierKeys(sha256: Sha256, key: LogVerifierKey): [ed25519: string, mlDsa65: string] {
  const vkey = (id: number, type: Uint8Array, publicKey: Uint8Array): string =>
    `${key.name}+${id.toString(16).padStart(8, "0")}+${PORTABLE_BASE64.encode(concatBytes(type, publicKey))}`;
  return [
    vkey(ed25519KeyId(sha256, key), ED25519_NOTE_SIGNATURE_TYPE, key.ed25519PublicKey),
    vkey(mlDsa65KeyId(sha256, key), ML_DSA_65_NOTE_SIGNATURE_TYPE, key.mlDsa65PublicKey),
  ];
}

function parseVkey(
  sha256: Sha256,
  text: string,
  type: Uint8Array,
  keyLength: number,
): { name: string; publicKey: Uint8Array } {
  const malformed = (why: string) => new NanoError("verifier_key_malformed", `verifier key: ${why}`);
  if (text.length > 8192) throw malformed("too long");
  // The base64 key may itself contain "+": split at the first two only.
  const first = text.indexOf("+");
  const second = first < 0 ? -1 : text.indexOf("+", first + 1);
  if (second < 0) throw malformed("expected name+id+key");
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  const encoded = text.slice(second + 1);
  try {
    checkKeyName(name);
  } catch {
    throw malformed("invalid key name");
  }
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw malformed("key ID is not 8 lowercase hex digits");
  let raw: Uint8Array;
  try {
    raw = PORTABLE_BASE64.decode(encoded);
  } catch {
    throw malformed("key is not canonical base64");
  }
  if (PORTABLE_BASE64.encode(raw) !== encoded) throw malformed("key is not canonical base64");
  if (
    raw.length !== type.length + keyLength ||
    !raw.subarray(0, type.length).every((byte, i) => byte === type[i])
  )
    throw malformed("wrong signature type or key length");
  const publicKey = raw.slice(type.length);
  if (noteKeyId(sha256, name, type, publicKey) !== Number.parseInt(idHex, 16))
    throw malformed("key ID does not match the key");
  return { name, publicKey };
}

/** Parses the two published vkeys of a log key; both must name the same log. */
export function parseVerifierKeys(sha256: Sha256, ed25519Vkey: string, mlDsa65Vkey: string): LogVerifierKey {
  const ed = parseVkey(sha256, ed25519Vkey, ED25519_NOTE_SIGNATURE_TYPE, ED25519_LENGTHS.publicKey);
  const ml = parseVkey(sha256, mlDsa65Vkey, ML_DSA_65_NOTE_SIGNATURE_TYPE, ML_DSA_65_LENGTHS.publicKey);
  if (ed.name !== ml.name)
    throw new NanoError("verifier_key_malformed", "the two verifier keys name different logs");
  return makeVerifierKey(sha256, ed.name, ed.publicKey, ml.publicKey);
}
