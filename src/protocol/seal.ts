import { wipe } from "../crypto/bytes.ts";
import { KDF_LABELS, label } from "../crypto/labels.ts";
import type { CryptoProvider, ProviderSuite } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { Writer } from "./_codec.ts";

/**
 * One-shot sealing to a public key (docs/protocol.md §7.2), the first-contact layer: the shape of HPKE
 * base mode single-shot (RFC 9180 §6.1) over the suite's sealing KEM and HKDF-BLAKE2b. The key
 * schedule binds the encapsulation and the recipient key (HPKE's kem_context), the suite, the envelope
 * type and the recipient's identity record, so a sealed message cannot be redirected or re-typed.
 * Each key seals exactly one message, so the base nonce is used once.
 */
export interface Sealed {
  readonly enc: Uint8Array;
  readonly ciphertext: Uint8Array;
}

function keySchedule(
  provider: CryptoProvider,
  suite: ProviderSuite,
  sharedSecret: Uint8Array,
  enc: Uint8Array,
  recipientKey: Uint8Array,
  context: Uint8Array,
): { key: Uint8Array; nonce: Uint8Array } {
  const { blake2b, hkdf } = provider.primitives;
  const info = new Writer().bytes(label(KDF_LABELS.seal)).u16(suite.id).bytes(blake2b(context)).finish();
  const okm = hkdf(sharedSecret, blake2b(enc, recipientKey), info, 44);
  const result = { key: okm.slice(0, 32), nonce: okm.slice(32, 44) };
  wipe(okm);
  return result;
}

/** `context` is public and bound (prefix || H(IR_recipient)); `ad` is authenticated, not encrypted. */
export async function seal(
  provider: CryptoProvider,
  suite: ProviderSuite,
  recipientKey: Uint8Array,
  context: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
): Promise<Sealed> {
  const { sharedSecret, ciphertext: enc } = await suite.kem.encapsulate(recipientKey);
  const { key, nonce } = keySchedule(provider, suite, sharedSecret, enc, recipientKey, context);
  const ciphertext = await provider.primitives.aead.seal(
    key,
    nonce,
    plaintext,
    new Writer().bytes(ad).bytes(enc).finish(),
  );
  wipe(sharedSecret, key);
  return { enc, ciphertext };
}

/** Any failure — a low-order X25519 `enc` included — is the single error `decryption_failed`. */
export async function open(
  provider: CryptoProvider,
  suite: ProviderSuite,
  recipientSeed: Uint8Array,
  recipientKey: Uint8Array,
  context: Uint8Array,
  sealed: Sealed,
  ad: Uint8Array,
): Promise<Uint8Array> {
  let sharedSecret: Uint8Array;
  try {
    sharedSecret = await suite.kem.decapsulate(recipientSeed, sealed.enc);
  } catch (cause) {
    // X25519-KEM refuses low-order points: the generic failure, never a key derived from a known value.
    throw new NanoError("decryption_failed", "first-contact seal did not open", { cause });
  }
  const { key, nonce } = keySchedule(provider, suite, sharedSecret, sealed.enc, recipientKey, context);
  try {
    const plaintext = await provider.primitives.aead.open(
      key,
      nonce,
      sealed.ciphertext,
      new Writer().bytes(ad).bytes(sealed.enc).finish(),
    );
    if (plaintext === null) throw new NanoError("decryption_failed", "authentication failed");
    return plaintext;
  } finally {
    wipe(sharedSecret, key);
  }
}
