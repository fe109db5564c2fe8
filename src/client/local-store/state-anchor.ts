import { readFile } from "node:fs/promises";
import { utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { writeFileAtomic } from "../home/atomic-file.ts";
import { type LocalKeys, openRow, sealRow } from "./record-seal.ts";

/**
 * Rollback detection of the local state (audit finding 6, docs/client.md "Rollback of local state").
 * The database keeps a monotonic state counter (a sealed meta row, raised by every session write and
 * stamped into the session row); the anchor, a small file beside the database sealed under the same
 * key, keeps the last committed value (moved after each commit that raised it, and at close; the
 * LocalStore keeps one write in flight). Restoring or syncing an older `local.db` — or
 * losing it — leaves the anchor ahead of the database's counter: the store refuses to open, before any
 * session in it could send from a chain position already used. A whole home restored from one older
 * copy (anchor included) cannot be told apart locally; the protocol's per-message nonce keeps that case
 * from ever repeating a ChaCha20-Poly1305 key and nonce (docs/protocol.md §8.5).
 */
export const STATE_COUNTER_META = "state-version";
const ANCHOR_TABLE = "anchor";
const ANCHOR_ROW = utf8(STATE_COUNTER_META);

export function anchorPath(databasePath: string): string {
  return `${databasePath}.anchor`;
}

export function encodeCounter(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

export function decodeCounter(bytes: Uint8Array): number {
  if (bytes.length !== 8)
    throw new NanoError("local_record_tampered", "the local state counter is malformed");
  const value = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new NanoError("local_record_tampered", "the local state counter is out of range");
  }
  return Number(value);
}

export function rolledBack(found: number, expected: number): NanoError {
  return new NanoError(
    "local_state_rolled_back",
    `the local state was restored from an older copy: its state counter is ${found}, this home last committed ${expected}; it is not used, so no message is sent again from an old chain position`,
  );
}

/** The counter the anchor holds, or null when there is none yet (a new home, or one from before). */
export async function readAnchor(databasePath: string, keys: LocalKeys): Promise<number | null> {
  let sealed: Uint8Array;
  try {
    sealed = new Uint8Array(await readFile(anchorPath(databasePath)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  return decodeCounter(openRow(keys, ANCHOR_TABLE, ANCHOR_ROW, sealed));
}

/** Sealed, 0600, atomic: a crash leaves the old anchor (lagging is only less strict, never wrong). */
export async function writeAnchor(databasePath: string, keys: LocalKeys, counter: number): Promise<void> {
  await writeFileAtomic(
    anchorPath(databasePath),
    sealRow(keys, ANCHOR_TABLE, ANCHOR_ROW, encodeCounter(counter)),
  );
}
