import {
  aeadOpen,
  aeadSealAfterNonce,
  CHACHA20_POLY1305,
  hkdf,
  randomBytes,
  wipe,
} from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import {
  blindIndexWith,
  deriveLocalKeysWith,
  type LocalKeys,
  ROW_NONCE_LENGTH,
  ROW_TAG_LENGTH,
  rowAssociatedData,
  tamperedRow,
} from "./sealed-row-format.ts";

/**
 * Row sealing for the SQLite local store, synchronous over node:crypto: the tables run inside a
 * synchronous SQLite transaction. The format (keys, associated data, blind indexes) is defined once in
 * sealed-row-format.ts, which the browser's IndexedDB store seals with asynchronously.
 */
export { BLIND_INDEX_LENGTH, type LocalKeys } from "./sealed-row-format.ts";

export function deriveLocalKeys(databaseKey: Uint8Array): LocalKeys {
  return deriveLocalKeysWith(hkdf, databaseKey);
}

export function wipeLocalKeys(keys: LocalKeys): void {
  wipe(keys.recordKey, keys.indexKey);
}

export function blindIndex(keys: LocalKeys, table: string, value: Uint8Array | string): Uint8Array {
  return blindIndexWith(hkdf, keys, table, value);
}

/** nonce (12) || ciphertext || tag (16). */
export function sealRow(
  keys: LocalKeys,
  table: string,
  rowKey: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const nonce = randomBytes(CHACHA20_POLY1305.nonceLength);
  return aeadSealAfterNonce(keys.recordKey, nonce, plaintext, rowAssociatedData(table, rowKey));
}

export function openRow(keys: LocalKeys, table: string, rowKey: Uint8Array, sealed: Uint8Array): Uint8Array {
  try {
    if (sealed.length < ROW_NONCE_LENGTH + ROW_TAG_LENGTH) {
      throw new NanoError("truncated", "sealed row is shorter than nonce and tag");
    }
    return aeadOpen(
      keys.recordKey,
      sealed.subarray(0, ROW_NONCE_LENGTH),
      sealed.subarray(ROW_NONCE_LENGTH),
      rowAssociatedData(table, rowKey),
    );
  } catch (cause) {
    throw tamperedRow(table, cause);
  }
}
