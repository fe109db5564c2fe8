/**
 * Synchronous appends to a SqliteLogStore, for callers that must write a log entry inside their own
 * synchronous transaction: the relay's group commit runs each write as a synchronous function in one
 * SQLite transaction, and an audit event or a key-transparency binding has to commit or roll back
 * together with the change it records. The hashing is MerkleLog's (RFC 9162 leaf and node hashes, every
 * completed subtree stored); a MerkleLog over the same store sees these appends like its own, since its
 * cache holds only complete subtrees, which an append never changes.
 */
import { appendedNodes, checkEntrySizes } from "./merkle-append.ts";
import type { AppendResult } from "./merkle-log.ts";
import type { SqliteLogStore } from "./sqlite-log-store.ts";

export function appendSync(store: SqliteLogStore, entries: readonly Uint8Array[]): AppendResult {
  checkEntrySizes(entries);
  const start = store.sizeSync();
  if (entries.length === 0) return { start, size: start };
  const append = appendedNodes(start, entries);
  let step = append.next();
  while (!step.done) step = append.next(store.nodeSync(step.value.level, step.value.index));
  store.appendSync({ start, entries, nodes: step.value });
  return { start, size: start + entries.length };
}
