import { NanoError } from "../errors/index.ts";
import { CHACHA20_POLY1305 } from "./aead.ts";
import type { Kem, KeyAgreement, SignatureScheme } from "./algorithms.ts";
import { mlDsa65Ed25519 } from "./composite-signature.ts";
import { ed25519 } from "./ed25519.ts";
import { mlDsa65 } from "./ml-dsa.ts";
import { mlKem768 } from "./ml-kem.ts";
import { SUITE_IDS, SUITE_RANKS, type SuiteId, type SuiteName, suiteIdByName } from "./suite-ids.ts";
import {
  decodeSuitePublicKeysWith,
  encodeSuitePublicKeys,
  publicKeysOf,
  type SuiteKeyPairsOf,
  type SuitePublicKeysOf,
  suitePublicKeysLength,
} from "./suite-keys.ts";
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
  return getSuite(suiteIdByName(name));
}

/** A suite's identity public keys (the codec is src/crypto/suite-keys.ts, shared with the provider). */
export type SuitePublicKeys = SuitePublicKeysOf<Suite>;
export type SuiteKeyPairs = SuiteKeyPairsOf<Suite>;
export { encodeSuitePublicKeys, suitePublicKeysLength };

export function generateSuiteKeys(suite: Suite): SuiteKeyPairs {
  return {
    suite,
    signature: suite.signature.keygen(),
    agreement: suite.agreement?.keygen() ?? null,
    kem: suite.kem.keygen(),
  };
}

export function suitePublicKeys(pairs: SuiteKeyPairs): SuitePublicKeys {
  return publicKeysOf(pairs);
}

/** Decodes suite public keys at `offset`; returns the keys and the bytes read. */
export function decodeSuitePublicKeys(bytes: Uint8Array, offset: number): [SuitePublicKeys, number] {
  return decodeSuitePublicKeysWith(bytes, offset, getSuite);
}
