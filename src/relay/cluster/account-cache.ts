/**
 * L1 (in-process LRU) and L2 (Redis) caches of account records in front of PostgreSQL (L3), for a
 * cluster (docs/cluster.md "Caches"). Every send reads its recipient's record, so this takes one
 * database round trip off each message. Writes go to the database first and then invalidate: the
 * relay that wrote drops its L1 entry and the L2 key and publishes the username; every relay drops its
 * L1 entry on that message. Only records found are cached (a claim never has to chase a cached "no").
 *
 * A read fills L2 only where the key is absent (SET NX), and an identity replacement leaves a tombstone
 * there for the TTL instead of deleting the key: a relay that read the old record from the database just before a
 * write and tries to store it in L2 just after finds the tombstone and stores nothing. (With a plain
 * DEL that late fill put the old record back in L2 for every relay until the TTL.) What remains is a
 * write made around the relays (a command on the database), seen at the TTL; both TTLs are short for
 * that reason, and clients check every identity record against its key-transparency proof anyway.
 */
import type { AccountRecord, AccountStore } from "../../store/types.ts";
import type { RedisClient } from "./redis-clients.ts";

/** The L2 key of one account's record (also deleted by `nano-relay compliance erase`). */
export function accountCacheKey(prefix: string, username: string): string {
  return `${prefix}:cache:account:${username}`;
}

const L1_ENTRIES = 10_000;
const L1_TTL_MS = 30_000;
const L2_TTL_SECONDS = 30;
/** In L2 after a write: not a record (a read treats it as a miss), and it blocks late fills. */
const TOMBSTONE = "-";

interface Entry {
  readonly record: AccountRecord;
  readonly until: number;
}

interface Serialized {
  readonly u: string;
  readonly s: string;
  readonly h: string;
  readonly r: string;
  readonly c: number;
  readonly m: number;
}

function serialize(record: AccountRecord): string {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  const value: Serialized = {
    u: record.username,
    s: record.skeleton,
    h: b64(record.identityHash),
    r: b64(record.identityRecord),
    c: record.createdAt,
    m: record.updatedAt,
  };
  return JSON.stringify(value);
}

function deserialize(text: string): AccountRecord | null {
  try {
    const value = JSON.parse(text) as Serialized;
    const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"));
    return {
      username: value.u,
      skeleton: value.s,
      identityHash: bytes(value.h),
      identityRecord: bytes(value.r),
      createdAt: value.c,
      updatedAt: value.m,
    };
  } catch {
    return null;
  }
}

export interface CacheCounters {
  l1Hits: number;
  l2Hits: number;
  misses: number;
}

export class CachedAccountStore implements AccountStore {
  readonly #inner: AccountStore;
  readonly #l1 = new Map<string, Entry>();
  /** Bumped by every invalidation of a name: a read that started before one must not fill L1. */
  readonly #generation = new Map<string, number>();
  #redis: RedisClient | null = null;
  #prefix = "nano";
  #announce: ((username: string) => void) | null = null;
  /** False while invalidations cannot arrive (Redis subscription down): every read goes to L3. */
  #live = false;
  readonly counters: CacheCounters = { l1Hits: 0, l2Hits: 0, misses: 0 };

  constructor(inner: AccountStore) {
    this.#inner = inner;
  }

  /** Turns on L2 and cluster-wide invalidation (`announce` publishes a username to every relay). */
  attach(redis: RedisClient, prefix: string, announce: (username: string) => void): void {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#announce = announce;
  }

  #key(username: string): string {
    return accountCacheKey(this.#prefix, username);
  }

  /**
   * While the invalidation channel is down the caches are bypassed (an update on another relay would go
   * unnoticed); when it comes back L1 starts empty, since invalidations sent meanwhile were lost.
   */
  setLive(live: boolean): void {
    if (live !== this.#live) this.#l1.clear();
    this.#live = live;
  }

  /** Drops a name from L1 (an invalidation from any relay). */
  invalidate(username: string): void {
    this.#l1.delete(username);
    this.#generation.set(username, (this.#generation.get(username) ?? 0) + 1);
    if (this.#generation.size > L1_ENTRIES) this.#generation.delete(this.#generation.keys().next().value!);
  }

  /**
   * `replaced`: a record existed, so a racing read may hold the old one: tombstone the key. A claim
   * creates the first record (no read can hold an older one), so its key is only cleared and the next
   * read fills L2 at once.
   */
  async #invalidateEverywhere(username: string, replaced: boolean): Promise<void> {
    this.invalidate(username);
    const redis = this.#redis;
    if (redis?.isReady)
      await (replaced
        ? redis.set(this.#key(username), TOMBSTONE, { EX: L2_TTL_SECONDS })
        : redis.del(this.#key(username))
      ).catch(() => {});
    this.#announce?.(username);
  }

  #fill(username: string, record: AccountRecord, generation: number): void {
    if ((this.#generation.get(username) ?? 0) !== generation) return;
    this.#l1.delete(username);
    if (this.#l1.size >= L1_ENTRIES) this.#l1.delete(this.#l1.keys().next().value!);
    this.#l1.set(username, { record, until: Date.now() + L1_TTL_MS });
  }

  async get(username: string): Promise<AccountRecord | null> {
    if (!this.#live) return this.#inner.get(username);
    const cached = this.#l1.get(username);
    if (cached !== undefined && cached.until > Date.now()) {
      this.counters.l1Hits++;
      return cached.record;
    }
    const generation = this.#generation.get(username) ?? 0;
    const redis = this.#redis;
    if (redis?.isReady) {
      const text = await redis.get(this.#key(username)).catch(() => null);
      const record = text === null || text === TOMBSTONE ? null : deserialize(text);
      if (record !== null) {
        this.counters.l2Hits++;
        this.#fill(username, record, generation);
        return record;
      }
    }
    this.counters.misses++;
    const record = await this.#inner.get(username);
    if (record === null) return null;
    this.#fill(username, record, generation);
    if (redis?.isReady && (this.#generation.get(username) ?? 0) === generation)
      await redis
        .set(this.#key(username), serialize(record), { EX: L2_TTL_SECONDS, NX: true })
        .catch(() => {});
    return record;
  }

  async claim(...args: Parameters<AccountStore["claim"]>): ReturnType<AccountStore["claim"]> {
    const result = await this.#inner.claim(...args);
    if (result.outcome === "created") await this.#invalidateEverywhere(args[0].username, false);
    return result;
  }

  async replaceIdentity(...args: Parameters<AccountStore["replaceIdentity"]>): Promise<boolean> {
    const replaced = await this.#inner.replaceIdentity(...args);
    if (replaced) await this.#invalidateEverywhere(args[0], true);
    return replaced;
  }

  putToken(...args: Parameters<AccountStore["putToken"]>): ReturnType<AccountStore["putToken"]> {
    return this.#inner.putToken(...args);
  }

  getToken(...args: Parameters<AccountStore["getToken"]>): ReturnType<AccountStore["getToken"]> {
    return this.#inner.getToken(...args);
  }

  deleteToken(...args: Parameters<AccountStore["deleteToken"]>): ReturnType<AccountStore["deleteToken"]> {
    return this.#inner.deleteToken(...args);
  }

  deleteExpiredTokens(
    ...args: Parameters<AccountStore["deleteExpiredTokens"]>
  ): ReturnType<AccountStore["deleteExpiredTokens"]> {
    return this.#inner.deleteExpiredTokens(...args);
  }
}
