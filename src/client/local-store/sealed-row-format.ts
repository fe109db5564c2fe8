import { concatBytes, u8, u16, utf8 } from "../../crypto/bytes.ts";
import { LOCAL_LABELS, label } from "../../crypto/labels.ts";
import type { CryptoPrimitives } from "../../crypto/provider/types.ts";
import { NanoError } from "../../errors/index.ts";

/**
 * The sealed-row format of the local store (docs/client.md "Local store sealing"), one definition for
 * both stores: the SQLite store seals synchronously over node:crypto (record-seal.ts), the browser's
 * IndexedDB store asynchronously over a CryptoProvider's primitives (this file), and the two write the
 * same bytes for the same row but for the random nonce — same keys, same associated data, same blind
 * indexes. Nothing here imports `node:` (the browser store is bundled from it).
 *
 * Two keys are derived from the random database key held in the keystore:
 * - the record key seals every secret- or content-bearing value with ChaCha20-Poly1305 under a fresh
 *   random nonce, with AD = label || table || row key, so a row copied into another table or under
 *   another key fails to open (`local_record_tampered`);
 * - the index key computes blind indexes: HKDF-Expand over HMAC-BLAKE2b is a PRF of its `info`, so
 *   `HKDF(ikm = index key, info = label || table || value)` is a keyed hash that lets the store look a
 *   username up by equality while the stored rows hold no username. Without the key the index reveals
 *   only equality between rows of one table.
 */
export const RECORD_KEY_LABEL = label(LOCAL_LABELS.localRecordKey);
export const INDEX_KEY_LABEL = label(LOCAL_LABELS.localIndexKey);
const ROW_AD_LABEL = label(LOCAL_LABELS.localRow);
const INDEX_LABEL = label(LOCAL_LABELS.localIndex);
export const BLIND_INDEX_LENGTH = 32;
export const LOCAL_KEY_LENGTH = 32;
export const ROW_NONCE_LENGTH = 12;
export const ROW_TAG_LENGTH = 16;

export interface LocalKeys {
  readonly recordKey: Uint8Array;
  readonly indexKey: Uint8Array;
}

/** What sealing needs from a runtime: HKDF and randomness (synchronous), the AEAD (asynchronous). */
export type RowSealPrimitives = Pick<CryptoPrimitives, "hkdf" | "randomBytes" | "aead">;

function lengthPrefixed(label: Uint8Array, table: string, value: Uint8Array): Uint8Array {
  const tableBytes = utf8(table);
  if (value.length > 0xffff) throw new RangeError("row key longer than 65535 bytes");
  return concatBytes(label, u8(tableBytes.length), tableBytes, u16(value.length), value);
}

/** The AEAD's associated data of a row: it binds the sealed bytes to their table and row key. */
export function rowAssociatedData(table: string, rowKey: Uint8Array): Uint8Array {
  return lengthPrefixed(ROW_AD_LABEL, table, rowKey);
}

/** The HKDF `info` of a blind index. */
export function blindIndexInfo(table: string, value: Uint8Array | string): Uint8Array {
  return lengthPrefixed(INDEX_LABEL, table, typeof value === "string" ? utf8(value) : value);
}

type Hkdf = RowSealPrimitives["hkdf"];

export function deriveLocalKeysWith(hkdf: Hkdf, databaseKey: Uint8Array): LocalKeys {
  if (databaseKey.length !== LOCAL_KEY_LENGTH) throw new RangeError("local database key must be 32 bytes");
  const empty = new Uint8Array(0);
  return {
    recordKey: hkdf(databaseKey, empty, RECORD_KEY_LABEL, 32),
    indexKey: hkdf(databaseKey, empty, INDEX_KEY_LABEL, 32),
  };
}

export function blindIndexWith(
  hkdf: Hkdf,
  keys: LocalKeys,
  table: string,
  value: Uint8Array | string,
): Uint8Array {
  return hkdf(keys.indexKey, new Uint8Array(0), blindIndexInfo(table, value), BLIND_INDEX_LENGTH);
}

export function tamperedRow(table: string, cause?: unknown): NanoError {
  return new NanoError(
    "local_record_tampered",
    `a sealed row of ${table} fails authentication`,
    cause === undefined ? undefined : { cause },
  );
}

/** nonce (12) || ciphertext || tag (16), as record-seal.ts's `sealRow` writes it. */
export async function sealRowWith(
  primitives: RowSealPrimitives,
  keys: LocalKeys,
  table: string,
  rowKey: Uint8Array,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const nonce = primitives.randomBytes(ROW_NONCE_LENGTH);
  const sealed = await primitives.aead.seal(
    keys.recordKey,
    nonce,
    plaintext,
    rowAssociatedData(table, rowKey),
  );
  return concatBytes(nonce, sealed);
}

/** The row's plaintext; `local_record_tampered` when it is short or does not authenticate. */
export async function openRowWith(
  primitives: RowSealPrimitives,
  keys: LocalKeys,
  table: string,
  rowKey: Uint8Array,
  sealed: Uint8Array,
): Promise<Uint8Array> {
  if (sealed.length < ROW_NONCE_LENGTH + ROW_TAG_LENGTH) throw tamperedRow(table);
  let opened: Uint8Array | null;
  try {
    opened = await primitives.aead.open(
      keys.recordKey,
      sealed.subarray(0, ROW_NONCE_LENGTH),
      sealed.subarray(ROW_NONCE_LENGTH),
      rowAssociatedData(table, rowKey),
    );
  } catch (cause) {
    throw tamperedRow(table, cause);
  }
  if (opened === null) throw tamperedRow(table);
  return opened;
}
