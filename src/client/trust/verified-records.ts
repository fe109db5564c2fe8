import { toHex } from "../../crypto/bytes.ts";
import type { CryptoProvider } from "../../crypto/provider/index.ts";
import { decodeIdentityRecordExact, type IdentityRecord } from "../../protocol/index.ts";

/** Distinct identity records one open client remembers as verified. */
export const VERIFIED_RECORD_CACHE_SIZE = 256;

/**
 * Identity records already decoded and verified (every self-signature), by BLAKE2b-512 of their exact
 * bytes, for one open client (ClientContext.records). A stored contact's record was verified when it
 * was stored; without this it was decoded and its composite signatures verified again on every message
 * sent and received. Equal bytes verify equally (no time or context enters the check), so entries are
 * keyed by the bytes' hash alone; memory only (records are public), bounded, least recently used
 * evicted.
 */
export class VerifiedRecords {
  readonly #records = new Map<string, IdentityRecord>();
  readonly #capacity: number;
  readonly #provider: CryptoProvider;

  constructor(provider: CryptoProvider, capacity = VERIFIED_RECORD_CACHE_SIZE) {
    this.#provider = provider;
    this.#capacity = capacity;
  }

  /** `decodeIdentityRecordExact`, verified once per distinct record bytes. A failure is never kept. */
  async verified(bytes: Uint8Array): Promise<IdentityRecord> {
    const key = toHex(this.#provider.primitives.blake2b(bytes));
    const hit = this.#records.get(key);
    if (hit !== undefined) {
      this.#records.delete(key);
      this.#records.set(key, hit);
      return hit;
    }
    const record = await decodeIdentityRecordExact(this.#provider, bytes); // throws: nothing is kept
    this.#records.set(key, record);
    if (this.#records.size > this.#capacity) {
      const oldest = this.#records.keys().next().value;
      if (oldest !== undefined) this.#records.delete(oldest);
    }
    return record;
  }

  get size(): number {
    return this.#records.size;
  }

  clear(): void {
    this.#records.clear();
  }
}
