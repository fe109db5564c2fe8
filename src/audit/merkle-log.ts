/**
 * An append-only RFC 9162 Merkle log over a MerkleLogStore: appends entries, answers roots, inclusion
 * proofs (PATH, section 2.1.3.1) and consistency proofs (PROOF/SUBPROOF, section 2.1.4.1) for any
 * tree size up to the current one.
 *
 * Every append also stores the subtree hashes it completes, so a root or proof needs O(log n) reads
 * whatever the size: in RFC 9162's decomposition every left subtree is a complete, aligned power-of-two
 * range (one stored node), and only the right edge is recomputed.
 */
import { sha256 } from "../crypto/hash.ts";
import { NanoError } from "../errors/index.ts";
import type { LogAppendBatch, MerkleLogStore } from "./log-store.ts";
import { appendedNodes, checkEntrySizes } from "./merkle-append.ts";
import { checkTreeSize, EMPTY_ROOT, hashChildren, isPowerOfTwo, levelOf, splitPoint } from "./merkle-hash.ts";

export { MAX_ENTRY_BYTES } from "./merkle-append.ts";

export interface AppendResult {
  /** Index of the first appended entry. */
  readonly start: number;
  /** Tree size after the append. */
  readonly size: number;
}

/**
 * Upper-level subtree hashes are read by almost every proof, so they are kept in memory. Safe because a
 * complete subtree's hash never changes in an append-only log; bounded so memory stays flat at any size.
 * Full verification (verifyLog) reads the store directly and never sees this cache.
 */
const CACHED_MIN_LEVEL = 6;
const CACHE_LIMIT = 1 << 16;

function nodeKey(level: number, index: number): string {
  return `${level}/${index}`;
}

export class MerkleLog {
  readonly store: MerkleLogStore;
  /** Appends run one at a time: each batch's hashes depend on the size the previous one left. */
  #tail: Promise<unknown> = Promise.resolve();
  readonly #cache = new Map<string, Uint8Array>();
  #highWater = 0;

  constructor(store: MerkleLogStore) {
    this.store = store;
  }

  size(): Promise<number> {
    return this.#storeSize();
  }

  /**
   * Every operation reads the size through here. A size below one seen before means writes this
   * process observed were rolled back (an append inside the caller's transaction that was then
   * aborted): subtree hashes cached from them may be gone, so the cache is dropped.
   */
  async #storeSize(): Promise<number> {
    const size = await this.store.size();
    if (size < this.#highWater) this.#cache.clear();
    this.#highWater = size;
    return size;
  }

  /** Appends entries atomically (all or none) and returns where they landed. */
  append(entries: readonly Uint8Array[]): Promise<AppendResult> {
    try {
      checkEntrySizes(entries);
    } catch (error) {
      return Promise.reject(error);
    }
    // Snapshot the list: the caller may reuse its array while this append waits for earlier ones.
    const snapshot = [...entries];
    const run = this.#tail.then(() => this.#append(snapshot));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #append(entries: readonly Uint8Array[]): Promise<AppendResult> {
    const start = await this.#storeSize();
    if (entries.length === 0) return { start, size: start };
    const append = appendedNodes(start, entries);
    let step = append.next();
    while (!step.done) step = append.next(await this.#requireNode(step.value.level, step.value.index));
    const nodes = step.value;
    const batch: LogAppendBatch = { start, entries, nodes };
    await this.store.append(batch);
    return { start, size: start + entries.length };
  }

  async #requireNode(level: number, index: number): Promise<Uint8Array> {
    const key = nodeKey(level, index);
    const cached = this.#cache.get(key);
    // Copies out: a caller mutating a returned proof element must not poison later proofs.
    if (cached !== undefined) return cached.slice();
    const hash = await this.store.node(level, index);
    if (hash === undefined)
      throw new NanoError(
        "log_store_inconsistent",
        `the store has no subtree hash at level ${level} index ${index}`,
      );
    if (level >= CACHED_MIN_LEVEL) {
      // FIFO eviction: Map iterates in insertion order.
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, hash.slice());
    }
    return hash;
  }

  /** MTH over leaves [lo, hi), hi > lo, following RFC 9162's split so left parts are stored nodes. */
  async #rangeHash(lo: number, hi: number): Promise<Uint8Array> {
    const width = hi - lo;
    if (isPowerOfTwo(width) && lo % width === 0) return this.#requireNode(levelOf(width), lo / width);
    const k = splitPoint(width);
    const left = await this.#rangeHash(lo, lo + k);
    const right = await this.#rangeHash(lo + k, hi);
    return hashChildren(sha256, left, right);
  }

  async #checkSize(treeSize: number, what: string): Promise<void> {
    checkTreeSize(treeSize, what);
    const size = await this.#storeSize();
    if (treeSize > size)
      throw new NanoError("log_index_out_of_range", `${what} ${treeSize} exceeds the log size ${size}`);
  }

  /** The root hash at `treeSize` (default: the current size). */
  async rootHash(treeSize?: number): Promise<Uint8Array> {
    const size = treeSize ?? (await this.#storeSize());
    await this.#checkSize(size, "tree size");
    return size === 0 ? EMPTY_ROOT : this.#rangeHash(0, size);
  }

  /** The stored leaf hash of entry `index`. */
  async leafHash(index: number): Promise<Uint8Array> {
    checkTreeSize(index, "leaf index");
    const size = await this.#storeSize();
    if (index >= size)
      throw new NanoError("log_index_out_of_range", `leaf index ${index} is not below the log size ${size}`);
    return this.#requireNode(0, index);
  }

  async entry(index: number): Promise<Uint8Array> {
    checkTreeSize(index, "leaf index");
    const size = await this.#storeSize();
    if (index >= size)
      throw new NanoError("log_index_out_of_range", `leaf index ${index} is not below the log size ${size}`);
    const data = await this.store.entry(index);
    if (data === undefined)
      throw new NanoError("log_store_inconsistent", `the store has no entry at index ${index}`);
    return data;
  }

  /** PATH(index, D[treeSize]): the audit path, leaf to root. */
  async inclusionProof(index: number, treeSize?: number): Promise<Uint8Array[]> {
    const size = treeSize ?? (await this.#storeSize());
    await this.#checkSize(size, "tree size");
    checkTreeSize(index, "leaf index");
    if (index >= size)
      throw new NanoError("log_index_out_of_range", `leaf index ${index} is not below tree size ${size}`);
    const path: Uint8Array[] = [];
    let lo = 0;
    let hi = size;
    while (hi - lo > 1) {
      const k = splitPoint(hi - lo);
      if (index - lo < k) {
        path.push(await this.#rangeHash(lo + k, hi));
        hi = lo + k;
      } else {
        path.push(await this.#rangeHash(lo, lo + k));
        lo += k;
      }
    }
    // Collected root-first; RFC 9162 orders the path from the leaf up.
    return path.reverse();
  }

  /**
   * PROOF(size1, D[size2]). Empty when size1 is 0 or equal to size2: there is nothing to prove (the
   * verifier treats those cases without a proof).
   */
  async consistencyProof(size1: number, size2?: number): Promise<Uint8Array[]> {
    const second = size2 ?? (await this.#storeSize());
    await this.#checkSize(second, "second tree size");
    checkTreeSize(size1, "first tree size");
    if (size1 > second)
      throw new NanoError("tree_size_invalid", `first tree size ${size1} exceeds second tree size ${second}`);
    if (size1 === 0 || size1 === second) return [];
    const proof: Uint8Array[] = [];
    let lo = 0;
    let hi = second;
    let m = size1;
    let whole = true; // SUBPROOF's b: true while the old tree's root is still the left edge of [lo, hi)
    for (;;) {
      const width = hi - lo;
      if (m === width) {
        if (!whole) proof.push(await this.#rangeHash(lo, hi));
        break;
      }
      const k = splitPoint(width);
      if (m <= k) {
        proof.push(await this.#rangeHash(lo + k, hi));
        hi = lo + k;
      } else {
        proof.push(await this.#rangeHash(lo, lo + k));
        lo += k;
        m -= k;
        whole = false;
      }
    }
    return proof.reverse();
  }
}
