/**
 * Bytes the relay has handed to WebSocket sockets that the kernel has not taken yet, across every
 * socket. Each socket also has its own window (ws-connection.ts); this bounds their sum, so many slow
 * readers together cannot hold more than `limit` bytes of the relay's memory: pushes wait until
 * written bytes drain (issue 12, finding 2: ~5.3 MB per socket that never reads).
 */
export class OutboundBudget {
  readonly limit: number;
  #used = 0;
  #waiters: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  get available(): boolean {
    return this.#used < this.limit;
  }

  add(bytes: number): void {
    this.#used += bytes;
  }

  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
    if (this.#used < this.limit && this.#waiters.length > 0) {
      for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  /** Resolves once the sum is below the limit (at once if it is). */
  whenAvailable(): Promise<void> {
    if (this.available) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
