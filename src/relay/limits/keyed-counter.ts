/**
 * Open things per key (connections per address, unauthenticated sockets per address, uploads being
 * verified per account), with a cap. Entries leave the map when their count returns to zero, so the
 * map holds only what is open now: it cannot grow with the number of keys that ever came.
 */
export class KeyedCounter {
  readonly #open = new Map<string, number>();
  readonly #cap: number;

  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Counts one more for `key` and returns true, or returns false (counting nothing) at the cap. */
  acquire(key: string): boolean {
    const open = this.#open.get(key) ?? 0;
    if (open >= this.#cap) return false;
    this.#open.set(key, open + 1);
    return true;
  }

  release(key: string): void {
    const open = this.#open.get(key);
    if (open === undefined) return;
    if (open <= 1) this.#open.delete(key);
    else this.#open.set(key, open - 1);
  }

  count(key: string): number {
    return this.#open.get(key) ?? 0;
  }

  /** Keys with something open (for tests and metrics). */
  get keys(): number {
    return this.#open.size;
  }
}
