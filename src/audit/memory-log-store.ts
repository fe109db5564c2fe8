/**
 * The in-memory reference implementation of MerkleLogStore: used by tests, benchmarks and clients
 * that mirror a small log. Values are copied on the way in and out so a caller mutating a buffer it
 * passed or received can never change the stored log.
 */
import { copyBytes } from "../crypto/bytes.ts";
import { NanoError } from "../errors/index.ts";
import type { LogAppendBatch, MerkleLogStore, StoredEntry, SubtreeNode } from "./log-store.ts";

export class MemoryLogStore implements MerkleLogStore {
  #size = 0;
  readonly #entries: Uint8Array[] = [];
  /** One array per level; index within the level. */
  readonly #levels: Uint8Array[][] = [];

  async size(): Promise<number> {
    return this.#size;
  }

  async append(batch: LogAppendBatch): Promise<void> {
    if (batch.start !== this.#size)
      throw new NanoError(
        "log_append_conflict",
        `append expected size ${batch.start} but the store holds ${this.#size}`,
      );
    // Validate everything before the first write so a bad batch leaves the store unchanged.
    for (const node of batch.nodes)
      if (!Number.isSafeInteger(node.level) || node.level < 0 || !Number.isSafeInteger(node.index))
        throw new RangeError(`invalid subtree position (${node.level}, ${node.index})`);
    for (const [offset, data] of batch.entries.entries())
      this.#entries[batch.start + offset] = copyBytes(data);
    for (const node of batch.nodes) {
      let level = this.#levels[node.level];
      if (level === undefined) {
        level = [];
        this.#levels[node.level] = level;
      }
      level[node.index] = copyBytes(node.hash);
    }
    this.#size = batch.start + batch.entries.length;
  }

  async entry(index: number): Promise<Uint8Array | undefined> {
    if (index < 0 || index >= this.#size) return undefined;
    const data = this.#entries[index];
    return data === undefined ? undefined : copyBytes(data);
  }

  async entries(start: number, end: number): Promise<StoredEntry[]> {
    const out: StoredEntry[] = [];
    for (let index = Math.max(0, start); index < Math.min(end, this.#size); index++) {
      const data = this.#entries[index];
      if (data !== undefined) out.push({ index, data: copyBytes(data) });
    }
    return out;
  }

  async node(level: number, index: number): Promise<Uint8Array | undefined> {
    const hash = this.#levels[level]?.[index];
    return hash === undefined ? undefined : copyBytes(hash);
  }

  async nodes(level: number, start: number, end: number): Promise<SubtreeNode[]> {
    const row = this.#levels[level];
    const out: SubtreeNode[] = [];
    if (row === undefined) return out;
    for (let index = Math.max(0, start); index < Math.min(end, row.length); index++) {
      const hash = row[index];
      if (hash !== undefined) out.push({ level, index, hash: copyBytes(hash) });
    }
    return out;
  }
}
