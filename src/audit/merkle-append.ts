/**
 * The one computation behind every append, shared by the asynchronous MerkleLog and the synchronous
 * in-transaction append (sqlite-sync-append.ts): the leaf hashes of the new entries and every subtree
 * hash they complete (RFC 9162 node hashes), which the store keeps so roots and proofs cost O(log n)
 * reads.
 *
 * It is a generator so that each driver reads stored nodes its own way (awaiting an async store, or
 * calling a synchronous one) and only when needed: it yields the position of an existing subtree hash it
 * must read, and is resumed with that hash.
 */
import { sha256 } from "../crypto/hash.ts";
import { NanoError } from "../errors/index.ts";
import type { SubtreeNode } from "./log-store.ts";
import { hashChildren, hashLeaf } from "./merkle-hash.ts";

/** Entries are small records (events, bindings, commitments); big data is logged by hash. */
export const MAX_ENTRY_BYTES = 64 * 1024;

export interface NodePosition {
  readonly level: number;
  readonly index: number;
}

/** Refuses oversized entries before anything is hashed or stored. */
export function checkEntrySizes(entries: readonly Uint8Array[]): void {
  for (const entry of entries)
    if (entry.length > MAX_ENTRY_BYTES)
      throw new NanoError(
        "log_entry_too_large",
        `log entry of ${entry.length} bytes exceeds ${MAX_ENTRY_BYTES} bytes`,
      );
}

/**
 * Yields the positions of stored subtree hashes it needs (always on the old tree's right edge) and
 * returns every node the append completes, leaves first. `start` is the tree size before the append.
 */
export function* appendedNodes(
  start: number,
  entries: readonly Uint8Array[],
): Generator<NodePosition, SubtreeNode[], Uint8Array | undefined> {
  const fresh = new Map<string, Uint8Array>();
  const nodes: SubtreeNode[] = [];
  const record = (level: number, index: number, hash: Uint8Array): void => {
    fresh.set(`${level}/${index}`, hash);
    nodes.push({ level, index, hash });
  };
  for (const [offset, entry] of entries.entries()) {
    let index = start + offset;
    let level = 0;
    let hash = hashLeaf(sha256, entry);
    record(level, index, hash);
    // A right child completes its parent: climb while the new node is the right one of a pair.
    while (index % 2 === 1) {
      const left = fresh.get(`${level}/${index - 1}`) ?? (yield { level, index: index - 1 });
      if (left === undefined)
        throw new NanoError(
          "log_store_inconsistent",
          `the store has no subtree hash at level ${level} index ${index - 1}`,
        );
      hash = hashChildren(sha256, left, hash);
      level += 1;
      index = (index - 1) / 2;
      record(level, index, hash);
    }
  }
  return nodes;
}
