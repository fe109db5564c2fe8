import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../home/atomic-file.ts";
import { type LocalKeys, openRow, sealRow } from "./record-seal.ts";
import { ANCHOR_ROW, ANCHOR_TABLE, decodeCounter, encodeCounter } from "./state-counter.ts";

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
export {
  ANCHOR_ROW,
  ANCHOR_TABLE,
  decodeCounter,
  encodeCounter,
  rolledBack,
  STATE_COUNTER_META,
} from "./state-counter.ts";

export function anchorPath(databasePath: string): string {
  return `${databasePath}.anchor`;
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
