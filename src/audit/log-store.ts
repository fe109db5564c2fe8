/**
 * The storage interface of an append-only Merkle log. The relay implements it over its SQLite and
 * PostgreSQL stores; `MemoryLogStore` is the reference and `SqliteLogStore` the embedded adapter. Every
 * adapter must pass test/audit/store-conformance.ts.
 *
 * The store holds three things, written together in one atomic `append`:
 * - the tree size (authoritative: entries and nodes at or beyond it do not exist),
 * - the entries (leaf inputs) by index,
 * - every complete subtree hash: node (level, index) is the root of the 2^level leaves starting at
 *   index * 2^level; level 0 holds the leaf hashes. With them any root or proof costs O(log n) reads.
 *
 * Stores are dumb on purpose: the log computes every hash and the store never hashes. A store must not
 * reorder, merge or drop anything, and must reject an append whose `start` is not its current size
 * (two writers), atomically: after a failed append the store is unchanged.
 */

export interface SubtreeNode {
  /** 0 for leaf hashes; a node at level L covers 2^L leaves. */
  readonly level: number;
  /** Position among the nodes of its level: covers leaves [index * 2^level, (index + 1) * 2^level). */
  readonly index: number;
  readonly hash: Uint8Array;
}

export interface LogAppendBatch {
  /** Must equal the store's size before the append, else `log_append_conflict`. */
  readonly start: number;
  /** Leaf inputs for indices start, start + 1, ...; the new size is start + entries.length. */
  readonly entries: readonly Uint8Array[];
  /** Every subtree (level 0 included) completed by these entries, in any order. */
  readonly nodes: readonly SubtreeNode[];
}

/** An entry read back by range; absent indices are simply missing, so gaps are visible to a verifier. */
export interface StoredEntry {
  readonly index: number;
  readonly data: Uint8Array;
}

export interface MerkleLogStore {
  /** The number of entries committed. */
  size(): Promise<number>;
  /** Atomically appends entries and their completed subtree nodes, then sets size = start + entries. */
  append(batch: LogAppendBatch): Promise<void>;
  /** The entry at `index`, or undefined when none is stored. */
  entry(index: number): Promise<Uint8Array | undefined>;
  /** Entries with start <= index < end, ascending by index; gaps are left out, never filled. */
  entries(start: number, end: number): Promise<StoredEntry[]>;
  /** The complete subtree hash at (level, index), or undefined when none is stored. */
  node(level: number, index: number): Promise<Uint8Array | undefined>;
  /** Nodes of one level with start <= index < end, ascending by index; gaps are left out. */
  nodes(level: number, start: number, end: number): Promise<SubtreeNode[]>;
}
