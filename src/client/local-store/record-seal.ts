import {
  aeadOpen,
  aeadSeal,
  CHACHA20_POLY1305,
  concatBytes,
  hkdf,
  randomBytes,
  u8,
  u16,
  utf8,
  wipe,
} from "../../crypto/index.ts";
import { LOCAL_LABELS, label } from "../../crypto/labels.ts";
import { NanoError } from "../../errors/index.ts";

/**
 * Row sealing for the local database (docs/client.md "Local store sealing"). Two keys are derived from
 * the random database key held in the keystore:
 * - the record key seals every secret- or content-bearing value with ChaCha20-Poly1305 under a fresh
 *   random nonce, with AD = label || table || row key, so a row copied into another table or under
 *   another key fails to open (`local_record_tampered`);
 * - the index key computes blind indexes: HKDF-Expand over HMAC-BLAKE2b is a PRF of its `info`, so
 *   `HKDF(ikm = index key, info = label || table || value)` is a keyed hash that lets the store look a
 *   username up by equality while the file holds no username. Without the key the index reveals only
 *   equality between rows of one table.
 */
const RECORD_KEY_LABEL = label(LOCAL_LABELS.localRecordKey);
const INDEX_KEY_LABEL = label(LOCAL_LABELS.localIndexKey);
const ROW_AD_LABEL = label(LOCAL_LABELS.localRow);
const INDEX_LABEL = label(LOCAL_LABELS.localIndex);
export const BLIND_INDEX_LENGTH = 32;

export interface LocalKeys {
  readonly recordKey: Uint8Array;
  readonly indexKey: Uint8Array;
}

export function deriveLocalKeys(databaseKey: Uint8Array): LocalKeys {
  if (databaseKey.length !== 32) throw new RangeError("local database key must be 32 bytes");
  const empty = new Uint8Array(0);
  return {
    recordKey: hkdf(databaseKey, empty, RECORD_KEY_LABEL, CHACHA20_POLY1305.keyLength),
    indexKey: hkdf(databaseKey, empty, INDEX_KEY_LABEL, 32),
  };
}

export function wipeLocalKeys(keys: LocalKeys): void {
  wipe(keys.recordKey, keys.indexKey);
}

function lengthPrefixed(label: Uint8Array, table: string, value: Uint8Array): Uint8Array {
  const tableBytes = utf8(table);
  if (value.length > 0xffff) throw new RangeError("row key longer than 65535 bytes");
  return concatBytes(label, u8(tableBytes.length), tableBytes, u16(value.length), value);
}

export function blindIndex(keys: LocalKeys, table: string, value: Uint8Array | string): Uint8Array {
  const bytes = typeof value === "string" ? utf8(value) : value;
  return hkdf(
    keys.indexKey,
    new Uint8Array(0),
    lengthPrefixed(INDEX_LABEL, table, bytes),
    BLIND_INDEX_LENGTH,
  );
}

/** nonce (12) || ciphertext || tag (16). */
export function sealRow(
  keys: LocalKeys,
  table: string,
  rowKey: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const nonce = randomBytes(CHACHA20_POLY1305.nonceLength);
  return concatBytes(
    nonce,
    aeadSeal(keys.recordKey, nonce, plaintext, lengthPrefixed(ROW_AD_LABEL, table, rowKey)),
  );
}

export function openRow(keys: LocalKeys, table: string, rowKey: Uint8Array, sealed: Uint8Array): Uint8Array {
  const nonceLength = CHACHA20_POLY1305.nonceLength;
  try {
    if (sealed.length < nonceLength + CHACHA20_POLY1305.tagLength) {
      throw new NanoError("truncated", "sealed row is shorter than nonce and tag");
    }
    return aeadOpen(
      keys.recordKey,
      sealed.subarray(0, nonceLength),
      sealed.subarray(nonceLength),
      lengthPrefixed(ROW_AD_LABEL, table, rowKey),
    );
  } catch (cause) {
    throw new NanoError("local_record_tampered", `a sealed row of ${table} fails authentication`, { cause });
  }
}
