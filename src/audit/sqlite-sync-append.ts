/**
 * Synchronous appends to a SqliteLogStore, for callers that must write a log entry inside their own
 * synchronous transaction: the relay's group commit runs each write as a synchronous function in one
 * SQLite transaction, and an audit event or a key-transparency binding has to commit or roll back
 * together with the change it records. The hashing is MerkleLog's (RFC 9162 leaf and node hashes, every
 * completed subtree stored); a MerkleLog over the same store sees these appends like its own, since its
 * cache holds only complete subtrees, which an append never changes.
 */
import { NanoError } from "../errors/index.ts";
import type { SubtreeNode } from "./log-store.ts";
import { hashChildren, hashLeaf } from "./merkle-hash.ts";
import { type AppendResult, MAX_ENTRY_BYTES } from "./merkle-log.ts";
import type { SqliteLogStore } from "./sqlite-log-store.ts";

export function appendSync(store: SqliteLogStore, entries: readonly Uint8Array[]): AppendResult {
  for (const entry of entries)
    if (entry.length > MAX_ENTRY_BYTES)
      throw new NanoError(
        "log_entry_too_large",
        `log entry of ${entry.length} bytes exceeds ${MAX_ENTRY_BYTES} bytes`,
      );
  const start = store.sizeSync();
  if (entries.length === 0) return { start, size: start };
  const fresh = new Map<string, Uint8Array>();
  const nodes: SubtreeNode[] = [];
  const record = (level: number, index: number, hash: Uint8Array): void => {
    fresh.set(`${level}/${index}`, hash);
    nodes.push({ level, index, hash });
  };
  for (const [offset, entry] of entries.entries()) {
    let index = start + offset;
    let level = 0;
    let hash = hashLeaf(entry);
    record(level, index, hash);
    // A right child completes its parent: climb while the new node is the right one of a pair.
    while (index % 2 === 1) {
      const left = fresh.get(`${level}/${index - 1}`) ?? store.nodeSync(level, index - 1);
      if (left === undefined)
        throw new NanoError(
          "log_store_inconsistent",
          `the store has no subtree hash at level ${level} index ${index - 1}`,
        );
      hash = hashChildren(left, hash);
      level += 1;
      index = (index - 1) / 2;
      record(level, index, hash);
    }
  }
  store.appendSync({ start, entries, nodes });
  return { start, size: start + entries.length };
}
