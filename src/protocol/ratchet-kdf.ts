import { wipe } from "../crypto/bytes.ts";
import { KDF_LABELS, label } from "../crypto/labels.ts";
import type { CryptoProvider } from "../crypto/provider/index.ts";
import { Writer } from "./_codec.ts";
import type { Role } from "./ratchet-state.ts";

/**
 * The ratchet's key derivations (docs/protocol.md §8.2-8.3, 8.5). Secrets only ever enter HKDF as IKM
 * or salt; public values are hashed into `info`, so each output is bound to the exact step that made it.
 */
const EMPTY = new Uint8Array(0);

export interface RootStepInput {
  readonly suiteId: number;
  /** Role of the party whose new sending chain this step opens. */
  readonly senderRole: Role;
  /** Step number after this step, and epoch after it (incremented when a KEM secret is absorbed). */
  readonly step: number;
  readonly epoch: number;
  readonly dh: Uint8Array | null;
  readonly ss: Uint8Array | null;
  readonly dhPublic: Uint8Array | null;
  readonly answeredOffer: Uint8Array | null;
  readonly ct: Uint8Array | null;
  readonly newOffer: Uint8Array | null;
}

export interface RootStepOutput {
  readonly rootKey: Uint8Array;
  readonly chainKey: Uint8Array;
  readonly nextHeaderKey: Uint8Array;
}

/** RK' || CK || NHK = HKDF(ikm = dh || ss, salt = RK, info = root || suite || role || step || epoch || kem || H(..)x4). */
export function rootStep(
  provider: CryptoProvider,
  rootKey: Uint8Array,
  input: RootStepInput,
): RootStepOutput {
  const { blake2b, hkdf } = provider.primitives;
  const info = new Writer()
    .bytes(label(KDF_LABELS.root))
    .u16(input.suiteId)
    .u8(input.senderRole)
    .u32(input.step)
    .u32(input.epoch)
    .u8(input.ss ? 1 : 0)
    .bytes(blake2b(input.dhPublic ?? EMPTY))
    .bytes(blake2b(input.answeredOffer ?? EMPTY))
    .bytes(blake2b(input.ct ?? EMPTY))
    .bytes(blake2b(input.newOffer ?? EMPTY))
    .finish();
  const ikm = new Writer()
    .bytes(input.dh ?? EMPTY)
    .bytes(input.ss ?? EMPTY)
    .finish();
  const okm = hkdf(ikm, rootKey, info, 96);
  const out = { rootKey: okm.slice(0, 32), chainKey: okm.slice(32, 64), nextHeaderKey: okm.slice(64, 96) };
  wipe(okm, ikm);
  return out;
}

const infoCache = new Map<string, Uint8Array>();

/** `label || u16 suite [|| u8 type]`: public constants, built once per combination (never mutated). */
function suiteInfo(name: string, suiteId: number, type?: number): Uint8Array {
  const id = `${name}/${suiteId}/${type ?? ""}`;
  let info = infoCache.get(id);
  if (info === undefined) {
    const writer = new Writer(64).bytes(label(name as typeof KDF_LABELS.chain)).u16(suiteId);
    if (type !== undefined) writer.u8(type);
    info = writer.finish();
    infoCache.set(id, info);
  }
  return info;
}

/**
 * CK' || MK = HKDF(CK, "", ck || suite, 64): both outputs from one HKDF call. 64 bytes is exactly one
 * HMAC-BLAKE2b-512 block, so this costs what one 32-byte output cost (docs/protocol.md §8.2).
 */
export function chainStep(
  provider: CryptoProvider,
  chainKey: Uint8Array,
  suiteId: number,
): { chainKey: Uint8Array; messageKey: Uint8Array } {
  const okm = provider.primitives.hkdf(chainKey, EMPTY, suiteInfo(KDF_LABELS.chain, suiteId), 64);
  const out = { chainKey: okm.slice(0, 32), messageKey: okm.slice(32, 64) };
  wipe(okm);
  return out;
}

/**
 * Body key || nonce = HKDF(ikm = MK, salt = header nonce, msg || suite || type, 44). The header nonce
 * is fresh randomness per message: a session state used twice from the same chain position (a
 * restored backup, a synced home) derives another key and nonce each time, so ChaCha20-Poly1305 never
 * sees one (key, nonce) pair twice (docs/protocol.md §8.5, audit finding 6).
 */
export function messageKeys(
  provider: CryptoProvider,
  messageKey: Uint8Array,
  suiteId: number,
  type: number,
  headerNonce: Uint8Array,
): { key: Uint8Array; nonce: Uint8Array } {
  const okm = provider.primitives.hkdf(
    messageKey,
    headerNonce,
    suiteInfo(KDF_LABELS.message, suiteId, type),
    44,
  );
  const out = { key: okm.slice(0, 32), nonce: okm.slice(32, 44) };
  wipe(okm);
  return out;
}
