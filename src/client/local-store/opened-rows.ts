import { constantTimeEqual } from "../../crypto/index.ts";

/**
 * Memory of sealed rows this process already opened or wrote, so that reading the same row again
 * costs a comparison instead of an AEAD open, a JSON parse and a schema check. Every message sent or
 * received reads its contact and its session row (a hybrid session is several kilobytes) and writes the
 * session back; the e2e benchmark showed opening and decoding them as the largest share of the client's
 * CPU after the protocol itself.
 *
 * A hit requires the row's sealed bytes to be EXACTLY the bytes that were opened (or sealed) when the
 * entry was made: every seal draws a fresh random nonce, so any other write — by this process, by
 * another process on the same home (a `receive --watch` beside a `send`), a rolled-back savepoint, or
 * an edit of the file — yields other bytes and a miss, and the row is opened and authenticated as
 * usual. Records are handed out as deep copies, so a caller that wipes or changes the bytes it got
 * cannot change what the next caller sees. Bounded (least recently used evicted). Whatever leaves it —
 * replaced, evicted, stale, deleted with its row, or `clear` when the store closes — has its byte
 * fields zeroed, so a deleted row's secrets (an old chain key) do not outlive the row in memory.
 */
export class OpenedRows<T> {
  readonly #entries = new Map<string, { readonly sealed: Uint8Array; readonly record: T }>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The record remembered for `key` if the row still holds exactly `sealed`, else undefined. */
  get(key: string, sealed: Uint8Array): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    // constantTimeEqual, not equalBytes: sealed rows of up to megabytes are compared on every read,
    // and the native compare is several times faster than equalBytes's browser-safe JS loop.
    if (!constantTimeEqual(entry.sealed, sealed)) {
      this.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return structuredClone(entry.record);
  }

  /** Remembers `record` as the content of the row whose sealed bytes are `sealed`. */
  set(key: string, sealed: Uint8Array, record: T): void {
    this.delete(key);
    this.#entries.set(key, {
      sealed: Uint8Array.from(sealed),
      record: withoutUndefined(structuredClone(record)),
    });
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
  }

  /** Forgets `key`, zeroing the byte fields it held (a deleted row's secrets do not linger here). */
  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    zeroBytes(entry.record);
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    for (const { record } of this.#entries.values()) zeroBytes(record);
    this.#entries.clear();
  }
}

/** As the row decodes: an absent optional field is absent, not present with the value undefined. */
function withoutUndefined<T>(record: T): T {
  if (record !== null && typeof record === "object" && !(record instanceof Uint8Array)) {
    for (const [key, value] of Object.entries(record)) {
      if (value === undefined) delete (record as Record<string, unknown>)[key];
    }
  }
  return record;
}

function zeroBytes(value: unknown): void {
  if (value instanceof Uint8Array) value.fill(0);
  else if (value !== null && typeof value === "object")
    for (const inner of Object.values(value)) zeroBytes(inner);
}
