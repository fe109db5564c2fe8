import { NanoError } from "../errors/index.ts";
import { CHACHA20_POLY1305 } from "./aead.ts";
import type { Kem, KeyAgreement, SeedKeyPair, SignatureScheme } from "./algorithms.ts";
import { concatBytes, u16 } from "./bytes.ts";
import { mlDsa65Ed25519 } from "./composite-signature.ts";
import { ed25519 } from "./ed25519.ts";
import { checkOffset, decodeTaggedKey, encodeTaggedKey } from "./key-encoding.ts";
import { mlDsa65 } from "./ml-dsa.ts";
import { mlKem768 } from "./ml-kem.ts";
import { SUITE_IDS, SUITE_RANKS, type SuiteId, type SuiteName } from "./suite-ids.ts";
import { xWing } from "./x-wing.ts";
import { x25519 } from "./x25519.ts";
import { x25519Kem } from "./x25519-kem.ts";

/**
 * The three suites as whole, numbered objects. The u16 id appears on the wire and in every signature
 * context, KDF label and associated data, so nothing can be mixed across suites.
 */
export { SUITE_IDS, type SuiteId, type SuiteName };

export interface Suite {
  readonly id: SuiteId;
  readonly name: SuiteName;
  /** Preference order: hybrid (3) > quantum (2) > classical (1). Quantum-only drops the classical hedge. */
  readonly rank: number;
  readonly postQuantum: boolean;
  /** Identity, prekey and handshake signatures. */
  readonly signature: SignatureScheme;
  /** X25519 for X3DH-style agreement and the DH ratchet; absent in quantum. */
  readonly agreement: KeyAgreement | null;
  /** Identity KEM: one-shot sealing (first contact, sealed sender); quantum's handshake KEM too. */
  readonly kem: Kem;
  /** ML-KEM-768 for PQ prekeys and the ratchet's KEM step; absent in classical. */
  readonly ratchetKem: Kem | null;
  readonly aead: typeof CHACHA20_POLY1305;
  readonly hash: "BLAKE2b-512";
  readonly kdf: "HKDF-HMAC-BLAKE2b-512";
}

function defineSuite(suite: Suite): Suite {
  return Object.freeze(suite);
}

const common = { aead: CHACHA20_POLY1305, hash: "BLAKE2b-512", kdf: "HKDF-HMAC-BLAKE2b-512" } as const;

export const CLASSICAL = defineSuite({
  id: SUITE_IDS.classical,
  name: "classical",
  rank: SUITE_RANKS.classical,
  postQuantum: false,
  signature: ed25519,
  agreement: x25519,
  kem: x25519Kem,
  ratchetKem: null,
  ...common,
});

export const HYBRID = defineSuite({
  id: SUITE_IDS.hybrid,
  name: "hybrid",
  rank: SUITE_RANKS.hybrid,
  postQuantum: true,
  signature: mlDsa65Ed25519,
  agreement: x25519,
  kem: xWing,
  ratchetKem: mlKem768,
  ...common,
});

export const QUANTUM = defineSuite({
  id: SUITE_IDS.quantum,
  name: "quantum",
  rank: SUITE_RANKS.quantum,
  postQuantum: true,
  signature: mlDsa65,
  agreement: null,
  kem: mlKem768,
  ratchetKem: mlKem768,
  ...common,
});

/** Frozen because it is exported: nothing in the process may add a suite to the accepted set. */
export const SUITES: readonly Suite[] = Object.freeze([CLASSICAL, HYBRID, QUANTUM]);

export function getSuite(id: number): Suite {
  const suite = SUITES.find((candidate) => candidate.id === id);
  if (suite === undefined) throw new NanoError("unknown_suite", `unknown suite id ${id}`);
  return suite;
}

export function getSuiteByName(name: string): Suite {
  const suite = SUITES.find((candidate) => candidate.name === name);
  if (suite === undefined) {
    throw new NanoError("unknown_suite", `unknown crypto mode "${name}" (use classical, hybrid or quantum)`);
  }
  return suite;
}

/** A suite's identity public keys: a signature key, an agreement key (not in quantum) and a KEM key. */
export interface SuitePublicKeys {
  readonly suite: Suite;
  readonly signature: Uint8Array;
  readonly agreement: Uint8Array | null;
  readonly kem: Uint8Array;
}

export interface SuiteKeyPairs {
  readonly suite: Suite;
  readonly signature: SeedKeyPair;
  readonly agreement: SeedKeyPair | null;
  readonly kem: SeedKeyPair;
}

export function generateSuiteKeys(suite: Suite): SuiteKeyPairs {
  return {
    suite,
    signature: suite.signature.keygen(),
    agreement: suite.agreement?.keygen() ?? null,
    kem: suite.kem.keygen(),
  };
}

export function suitePublicKeys(pairs: SuiteKeyPairs): SuitePublicKeys {
  return {
    suite: pairs.suite,
    signature: pairs.signature.publicKey,
    agreement: pairs.agreement?.publicKey ?? null,
    kem: pairs.kem.publicKey,
  };
}

/** Encoded size of a suite's public keys: u16 suite || tagged keys. */
export function suitePublicKeysLength(suite: Suite): number {
  const agreement = suite.agreement ? 1 + suite.agreement.lengths.publicKey : 0;
  return 2 + 1 + suite.signature.lengths.publicKey + agreement + 1 + suite.kem.lengths.publicKey;
}

/** `suite (u16) || alg||signature key || [alg||agreement key] || alg||KEM key`, big-endian. */
export function encodeSuitePublicKeys(keys: SuitePublicKeys): Uint8Array {
  const { suite } = keys;
  if ((suite.agreement === null) !== (keys.agreement === null)) {
    throw new TypeError(`suite ${suite.name} ${suite.agreement ? "needs" : "has no"} an agreement key`);
  }
  const parts = [u16(suite.id), encodeTaggedKey(suite.signature.alg, keys.signature)];
  if (suite.agreement && keys.agreement) parts.push(encodeTaggedKey(suite.agreement.alg, keys.agreement));
  parts.push(encodeTaggedKey(suite.kem.alg, keys.kem));
  const encoded = concatBytes(...parts);
  if (encoded.length !== suitePublicKeysLength(suite))
    throw new NanoError("invalid_length", "key of wrong size");
  return encoded;
}

/** Decodes suite public keys at `offset`; returns the keys and the bytes read. */
export function decodeSuitePublicKeys(bytes: Uint8Array, offset: number): [SuitePublicKeys, number] {
  checkOffset(offset);
  if (offset + 2 > bytes.length) throw new NanoError("truncated", "suite public keys are truncated");
  const suite = getSuite(((bytes[offset]! << 8) | bytes[offset + 1]!) >>> 0);
  let cursor = offset + 2;
  const [signature, signatureRead] = decodeTaggedKey(
    bytes,
    cursor,
    suite.signature.alg,
    suite.signature.lengths.publicKey,
  );
  cursor += signatureRead;
  let agreement: Uint8Array | null = null;
  if (suite.agreement) {
    const [key, read] = decodeTaggedKey(
      bytes,
      cursor,
      suite.agreement.alg,
      suite.agreement.lengths.publicKey,
    );
    agreement = key;
    cursor += read;
  }
  const [kem, kemRead] = decodeTaggedKey(bytes, cursor, suite.kem.alg, suite.kem.lengths.publicKey);
  cursor += kemRead;
  return [{ suite, signature, agreement, kem }, cursor - offset];
}
