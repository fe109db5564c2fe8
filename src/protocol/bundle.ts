import { KDF_LABELS, label, PROTOCOL_VERSION } from "../crypto/labels.ts";
import type { CryptoProvider, ProviderSuite } from "../crypto/provider/index.ts";
import type { SuiteId } from "../crypto/suite-ids.ts";
import { NanoError } from "../errors/index.ts";
import { decodeExact, Reader, Writer } from "./_codec.ts";
import { type IdentityRecord, readIdentityRecordField } from "./identity-record.ts";
import { decodeSignedPrekey, PREKEY_ROLES, type SignedPrekey, verifySignedPrekey } from "./prekey.ts";

/**
 * Prekey bundles (docs/protocol.md §6.3): what the relay hands an initiator. The bundle's exact bytes
 * are hashed into the transcript, so the responder, rebuilding it from its own store, detects any
 * prekey the relay swapped, dropped or re-slotted.
 */
export interface Bundle {
  readonly suite: ProviderSuite;
  readonly record: IdentityRecord;
  /** X25519 signed prekey (classical, hybrid). */
  readonly signedDh: SignedPrekey | null;
  /** ML-KEM-768 one-time or last-resort prekey (hybrid, quantum). */
  readonly pq: SignedPrekey | null;
  /** Optional X25519 one-time prekey (classical, hybrid). */
  readonly oneTimeDh: SignedPrekey | null;
  readonly encoded: Uint8Array;
}

export function encodeBundle(
  suiteId: SuiteId,
  record: IdentityRecord,
  signedDh: SignedPrekey | null,
  pq: SignedPrekey | null,
  oneTimeDh: SignedPrekey | null,
): Uint8Array {
  const writer = new Writer().u16(PROTOCOL_VERSION).u16(suiteId).vec32(record.encoded);
  if (signedDh) writer.bytes(signedDh.encoded);
  if (pq) writer.bytes(pq.encoded);
  writer.bool(oneTimeDh !== null);
  if (oneTimeDh) writer.bytes(oneTimeDh.encoded);
  return writer.finish();
}

function expectSlot(prekey: SignedPrekey, suite: ProviderSuite, roles: readonly number[]): SignedPrekey {
  if (prekey.suite.id !== suite.id || !roles.includes(prekey.role)) {
    throw new NanoError("prekey_mismatch", `prekey ${prekey.id} does not fit its bundle slot`);
  }
  return prekey;
}

/**
 * Parses and verifies a bundle: record, slot roles, suite acceptance, every prekey signature and
 * expiry. A `trusted` record (already verified, e.g. the account record the caller just proved with key
 * transparency) that is byte-equal to the bundle's is not verified a second time.
 */
export async function decodeBundle(
  provider: CryptoProvider,
  bytes: Uint8Array,
  offset: number,
  now: number = Date.now(),
  trusted?: IdentityRecord,
): Promise<[Bundle, number]> {
  const reader = new Reader(bytes, offset);
  const version = reader.u16("bundle version");
  if (version !== PROTOCOL_VERSION) throw new NanoError("unsupported_version", `bundle version ${version}`);
  const suite = provider.suite(reader.u16("bundle suite"));
  const record = await readIdentityRecordField(provider, reader, trusted);
  const next = async (): Promise<SignedPrekey> => {
    const [prekey, read] = decodeSignedPrekey(provider, bytes, reader.offset);
    reader.offset += read;
    await verifySignedPrekey(prekey, record, now);
    return prekey;
  };
  const signedDh = suite.agreement ? expectSlot(await next(), suite, [PREKEY_ROLES.signedDh]) : null;
  const pq = suite.ratchetKem
    ? expectSlot(await next(), suite, [PREKEY_ROLES.pqOneTime, PREKEY_ROLES.pqLastResort])
    : null;
  const hasOneTime = reader.bool("one-time prekey flag");
  if (hasOneTime && !suite.agreement)
    throw new NanoError("prekey_mismatch", "quantum bundles have no X25519 keys");
  const oneTimeDh = hasOneTime ? expectSlot(await next(), suite, [PREKEY_ROLES.oneTimeDh]) : null;
  return [
    { suite, record, signedDh, pq, oneTimeDh, encoded: bytes.slice(offset, reader.offset) },
    reader.offset - offset,
  ];
}

export const MAX_BUNDLE_BYTES = 32768;

export async function decodeBundleExact(
  provider: CryptoProvider,
  bytes: Uint8Array,
  now: number = Date.now(),
  trusted?: IdentityRecord,
): Promise<Bundle> {
  if (bytes.length > MAX_BUNDLE_BYTES) throw new NanoError("malformed", "bundle too large");
  const [bundle, read] = await decodeBundle(provider, bytes, 0, now, trusted);
  if (read !== bytes.length) throw new NanoError("trailing_bytes", "bytes after the bundle");
  return bundle;
}

/** H("nano/v1/bundle" || bundle bytes): bound into the transcript. */
export function bundleHash(provider: CryptoProvider, encoded: Uint8Array): Uint8Array {
  return provider.primitives.blake2b(label(KDF_LABELS.bundle), encoded);
}

/**
 * Client side of a fetch: the relay stores the owner's base bundle (signed DH prekey and last-resort
 * PQ prekey, no one-time key) and hands out one-time prekeys once; the initiator assembles the bundle
 * it uses from them. A one-time ML-KEM prekey replaces the last-resort one; a one-time X25519 prekey
 * fills the optional slot. Every key is verified against the base bundle's record, which is verified
 * once (or not at all when it is byte-equal to `trusted`); the result is the decoded, verified bundle
 * with its exact encoding, ready for `startSession` without another decode.
 */
export async function assembleBundle(
  provider: CryptoProvider,
  base: Uint8Array,
  oneTime: readonly Uint8Array[],
  now: number = Date.now(),
  trusted?: IdentityRecord,
): Promise<Bundle> {
  const bundle = await decodeBundleExact(provider, base, now, trusted);
  let pq = bundle.pq;
  let dh = bundle.oneTimeDh;
  for (const bytes of oneTime) {
    const prekey = decodeExact(bytes, (b, o) => decodeSignedPrekey(provider, b, o), "one-time prekey");
    await verifySignedPrekey(prekey, bundle.record, now);
    if (prekey.suite.id !== bundle.suite.id)
      throw new NanoError("prekey_mismatch", "one-time prekey of another suite");
    if (prekey.role === PREKEY_ROLES.pqOneTime && pq?.role === PREKEY_ROLES.pqLastResort) pq = prekey;
    else if (prekey.role === PREKEY_ROLES.oneTimeDh && dh === null) dh = prekey;
    else throw new NanoError("prekey_mismatch", `prekey ${prekey.id} does not fit a free one-time slot`);
  }
  const encoded = encodeBundle(bundle.suite.id, bundle.record, bundle.signedDh, pq, dh);
  return {
    suite: bundle.suite,
    record: bundle.record,
    signedDh: bundle.signedDh,
    pq,
    oneTimeDh: dh,
    encoded,
  };
}
