import { NanoError } from "../errors/index.ts";
import type { AlgId, SeedKeyPair } from "./algorithms.ts";
import { concatBytes, u16 } from "./bytes.ts";
import { checkOffset, decodeTaggedKey, encodeTaggedKey } from "./key-encoding.ts";
import type { SuiteId, SuiteName } from "./suite-ids.ts";

/**
 * The encoding of a suite's identity public keys, over any suite object that names its algorithms and
 * lengths: src/crypto's node:crypto suites and the crypto provider's suites (every runtime) share this
 * one definition of the bytes, so a record encoded by one runtime decodes byte-equal in the other.
 */
interface KeyShape {
  readonly alg: AlgId;
  readonly lengths: { readonly publicKey: number };
}

/** What the codec reads of a suite: its id, name and which keys it has. */
export interface SuiteKeyShape {
  readonly id: SuiteId;
  readonly name: SuiteName;
  readonly signature: KeyShape;
  readonly agreement: KeyShape | null;
  readonly kem: KeyShape;
}

/** A suite's identity public keys: a signature key, an agreement key (not in quantum) and a KEM key. */
export interface SuitePublicKeysOf<S extends SuiteKeyShape> {
  readonly suite: S;
  readonly signature: Uint8Array;
  readonly agreement: Uint8Array | null;
  readonly kem: Uint8Array;
}

export interface SuiteKeyPairsOf<S extends SuiteKeyShape> {
  readonly suite: S;
  readonly signature: SeedKeyPair;
  readonly agreement: SeedKeyPair | null;
  readonly kem: SeedKeyPair;
}

export function publicKeysOf<S extends SuiteKeyShape>(pairs: SuiteKeyPairsOf<S>): SuitePublicKeysOf<S> {
  return {
    suite: pairs.suite,
    signature: pairs.signature.publicKey,
    agreement: pairs.agreement?.publicKey ?? null,
    kem: pairs.kem.publicKey,
  };
}

/** Encoded size of a suite's public keys: u16 suite || tagged keys. */
export function suitePublicKeysLength(suite: SuiteKeyShape): number {
  const agreement = suite.agreement ? 1 + suite.agreement.lengths.publicKey : 0;
  return 2 + 1 + suite.signature.lengths.publicKey + agreement + 1 + suite.kem.lengths.publicKey;
}

/** `suite (u16) || alg||signature key || [alg||agreement key] || alg||KEM key`, big-endian. */
export function encodeSuitePublicKeys(keys: SuitePublicKeysOf<SuiteKeyShape>): Uint8Array {
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

/** Decodes suite public keys at `offset` with `suiteOf` (unknown ids throw); returns keys and bytes read. */
export function decodeSuitePublicKeysWith<S extends SuiteKeyShape>(
  bytes: Uint8Array,
  offset: number,
  suiteOf: (id: number) => S,
): [SuitePublicKeysOf<S>, number] {
  checkOffset(offset);
  if (offset + 2 > bytes.length) throw new NanoError("truncated", "suite public keys are truncated");
  const suite = suiteOf(((bytes[offset]! << 8) | bytes[offset + 1]!) >>> 0);
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
