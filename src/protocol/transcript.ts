import { KDF_LABELS, label, PROTOCOL_VERSION } from "../crypto/labels.ts";
import type { CryptoProvider, ProviderSuite } from "../crypto/provider/index.ts";
import { lengthPrefixed, Writer } from "./_codec.ts";
import { acceptedSuites, type IdentityRecord } from "./identity-record.ts";
import type { SignedPrekey } from "./prekey.ts";

/**
 * The handshake transcript hash (docs/protocol.md §7.3): every public value of the handshake, each
 * length-prefixed, in one fixed order. It is the HKDF salt of the key schedule and what the initiator
 * signs, so changing any one value (a swapped prekey, a stripped KEM ciphertext, another suite list)
 * gives both sides different keys and breaks the signature.
 */
export interface TranscriptInput {
  readonly suite: ProviderSuite;
  /** 0: the default selection rule; 1: an explicit mode chosen by the initiator (§5). */
  readonly selection: number;
  readonly initiator: IdentityRecord;
  readonly responder: IdentityRecord;
  readonly bundleHash: Uint8Array;
  /** In bundle order: signed DH, PQ, one-time DH (those present). */
  readonly prekeys: readonly SignedPrekey[];
  readonly ephemeral: Uint8Array | null;
  /** In order: identity KEM ciphertext (quantum), PQ prekey ciphertext (hybrid, quantum). */
  readonly kemCiphertexts: readonly Uint8Array[];
  readonly ratchetKey: Uint8Array | null;
  readonly initialOffer: Uint8Array | null;
}

const EMPTY = new Uint8Array(0);

function suiteList(record: IdentityRecord): Uint8Array {
  const writer = new Writer();
  for (const id of acceptedSuites(record)) writer.u16(id);
  return writer.finish();
}

function prekeyField(prekey: SignedPrekey): Uint8Array {
  return new Writer().u8(prekey.alg).u8(prekey.role).u32(prekey.id).bytes(prekey.publicKey).finish();
}

export function transcriptHash(provider: CryptoProvider, input: TranscriptInput): Uint8Array {
  const utf8 = new TextEncoder();
  return provider.primitives.blake2b(
    lengthPrefixed(
      label(KDF_LABELS.transcript),
      Uint8Array.of(PROTOCOL_VERSION),
      Uint8Array.of(input.suite.id >>> 8, input.suite.id & 0xff),
      Uint8Array.of(input.selection),
      input.initiator.hash,
      input.responder.hash,
      utf8.encode(input.initiator.username),
      utf8.encode(input.responder.username),
      input.bundleHash,
      Uint8Array.of(input.prekeys.length),
      ...input.prekeys.map(prekeyField),
      input.ephemeral ?? EMPTY,
      Uint8Array.of(input.kemCiphertexts.length),
      ...input.kemCiphertexts,
      suiteList(input.initiator),
      suiteList(input.responder),
      input.ratchetKey ?? EMPTY,
      input.initialOffer ?? EMPTY,
    ),
  );
}
