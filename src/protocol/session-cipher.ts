import { label, SIGNATURE_CONTEXTS } from "../crypto/labels.ts";
import type { CryptoProvider, ProviderSuite } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { Writer } from "./_codec.ts";
import { decodeEnvelope, ENVELOPE_TYPES, type Envelope, encodeEnvelope, envelopePrefix } from "./envelope.ts";
import { decodeFirstContact, encodeFirstContact, type ParsedFirstContact } from "./first-contact.ts";
import { initiatorSignedMessage } from "./handshake.ts";
import { type IdentityKeys, type IdentityRecord, identityKeysFor } from "./identity-record.ts";
import { pad, unpad } from "./padding.ts";
import { type RatchetOptions, ratchetDecrypt, ratchetEncrypt } from "./ratchet.ts";
import type { RatchetState } from "./ratchet-state.ts";
import { open, seal } from "./seal.ts";

/**
 * Session encryption (docs/protocol.md §9.2): content in, envelope out, and back. Until the first reply
 * the initiator's messages are first-contact envelopes (type 1): every one repeats the handshake inside
 * a fresh seal, so any of them can start the session if earlier ones are lost.
 */
export function sealContext(suite: ProviderSuite, recipientHash: Uint8Array): Uint8Array {
  return new Writer().bytes(envelopePrefix(suite, ENVELOPE_TYPES.prekey)).bytes(recipientHash).finish();
}

export async function encryptContent(
  input: RatchetState,
  identity: IdentityKeys,
  content: Uint8Array,
  options: RatchetOptions,
): Promise<{ state: RatchetState; envelope: Uint8Array }> {
  const { provider } = options;
  const suite = provider.suite(input.suiteId);
  const padded = pad(content);
  const pending = input.mustStep ? null : input.pending;
  if (pending === null) {
    const { state, type, message } = await ratchetEncrypt(input, padded, false, options);
    return { state, envelope: encodeEnvelope({ type: type as 2 | 3, suite, message }) };
  }
  let body = padded;
  if (suite.postQuantum) {
    const keys = identityKeysFor(identity, suite);
    const signature = await suite.signature.sign(
      keys.signature.seed,
      initiatorSignedMessage(provider, pending.transcriptHash, padded),
      label(SIGNATURE_CONTEXTS.handshakeInit),
    );
    body = new Writer().bytes(signature).bytes(padded).finish();
  }
  const { state, message } = await ratchetEncrypt(input, body, true, options);
  const plaintext = encodeFirstContact(pending.handshake, message);
  const prefix = envelopePrefix(suite, ENVELOPE_TYPES.prekey);
  const sealed = await seal(
    provider,
    suite,
    pending.sealKey,
    sealContext(suite, input.remoteIdentityHash),
    plaintext,
    prefix,
  );
  return {
    state,
    envelope: encodeEnvelope({
      type: ENVELOPE_TYPES.prekey,
      suite,
      enc: sealed.enc,
      sealed: sealed.ciphertext,
    }),
  };
}

/** Decrypts a type 2/3 envelope with an established session. */
export async function decryptContent(
  input: RatchetState,
  envelope: Envelope,
  options: RatchetOptions,
): Promise<{ state: RatchetState; content: Uint8Array }> {
  if (envelope.type === ENVELOPE_TYPES.prekey)
    throw new TypeError("first-contact envelopes go to openFirstContact");
  if (envelope.suite.id !== input.suiteId)
    throw new NanoError("decryption_failed", "envelope suite differs from the session's");
  const { state, body } = await ratchetDecrypt(input, envelope.type, envelope.message, options);
  return { state, content: unpad(body) };
}

/**
 * Opens the seal of a type-1 envelope with our identity sealing key and parses what is inside; the
 * initiator's record is returned as bytes, not yet trusted (docs/protocol.md §7.7).
 */
export async function openFirstContact(
  provider: CryptoProvider,
  identity: IdentityKeys,
  record: IdentityRecord,
  envelope: Envelope,
): Promise<ParsedFirstContact> {
  if (envelope.type !== ENVELOPE_TYPES.prekey) throw new TypeError("not a first-contact envelope");
  const suite = envelope.suite;
  const keys = identityKeysFor(identity, suite);
  const plaintext = await open(
    provider,
    suite,
    keys.kem.seed,
    keys.kem.publicKey,
    sealContext(suite, record.hash),
    { enc: envelope.enc, ciphertext: envelope.sealed },
    envelopePrefix(suite, ENVELOPE_TYPES.prekey),
  );
  return decodeFirstContact(suite, plaintext);
}

export { decodeEnvelope };
