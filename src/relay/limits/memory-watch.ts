import { RelayBusyError } from "./busy.ts";

/** How long one reading of the resident set size is reused: a reading costs a read of /proc. */
const SAMPLE_MS = 250;

/**
 * The relay's memory budget (limits.memory_budget_bytes). Work that makes memory grow and can wait —
 * a new WebSocket connection, a prekey or attachment upload — is refused with relay_busy while the
 * resident set is above the budget; what is already running continues, so the relay sheds load
 * instead of being killed by the kernel with every client's work in flight.
 */
export class MemoryWatch {
  readonly budget: number;
  readonly #read: () => number;
  #sampledAt = Number.NEGATIVE_INFINITY;
  #rss = 0;

  constructor(budget: number, read: () => number = () => process.memoryUsage.rss()) {
    this.budget = budget;
    this.#read = read;
  }

  get rss(): number {
    const now = performance.now();
    if (now - this.#sampledAt >= SAMPLE_MS) {
      this.#rss = this.#read();
      this.#sampledAt = now;
    }
    return this.#rss;
  }

  /** Throws relay_busy when the resident set is over the budget. */
  admit(what: string): void {
    if (this.rss > this.budget) {
      throw new RelayBusyError(`the relay is over its memory budget; ${what} refused, retry shortly`, 5);
    }
  }
}
