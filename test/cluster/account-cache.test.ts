import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { blake2b, utf8 } from "../../src/crypto/index.ts";
import { CachedAccountStore } from "../../src/relay/cluster/account-cache.ts";
import { ClusterLink } from "../../src/relay/cluster/cluster-link.ts";
import { DeliveryHub } from "../../src/relay/delivery-hub.ts";
import { RelayMetrics } from "../../src/relay/metrics.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { testConfig } from "../relay/fixtures/harness.ts";
import { createTestDatabase, PrivateRedis, type TestDatabase } from "../support/services.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function account(seed: string) {
  const identityRecord = utf8(`ir:${seed}`);
  return {
    username: "alice",
    skeleton: "alice",
    identityHash: blake2b(identityRecord),
    identityRecord,
    createdAt: 1,
    updatedAt: 1,
  };
}

/**
 * Two relays' caches over one database and one Redis: a record cached on relay B is dropped there the
 * moment relay A changes it (pub/sub invalidation), relay C finds it in L2, and with Redis down the
 * caches step aside so nothing stale is served while invalidations cannot arrive.
 */
describe("cluster: account caches (L1 LRU, L2 Redis, L3 PostgreSQL)", () => {
  let database: TestDatabase;
  let redis: PrivateRedis;
  const relays: { store: PostgresStore; cache: CachedAccountStore; link: ClusterLink }[] = [];
  before(async () => {
    database = await createTestDatabase();
    redis = await PrivateRedis.start();
    const config = testConfig({ cluster: { redis_url: redis.url, key_prefix: "cache_test" } });
    for (let i = 0; i < 3; i++) {
      const store = await PostgresStore.open({ url: database.url, migrate: i === 0, max: 2 });
      const cache = new CachedAccountStore(store.accounts);
      const link = new ClusterLink({
        url: redis.url,
        config,
        hub: new DeliveryHub(),
        log: pino({ level: "silent" }),
        metrics: new RelayMetrics(),
      });
      cache.attach(link.commands, "cache_test", (username) => link.announceInvalidation(username));
      link.addCache(cache);
      await link.start();
      relays.push({ store, cache, link });
    }
    for (let i = 0; i < 200 && !relays.every((r) => r.link.health.redis === "subscribed"); i++)
      await sleep(25);
  });
  after(async () => {
    for (const relay of relays) {
      await relay.link.close();
      await relay.store.close();
    }
    await redis.kill();
    await database.drop();
  });

  it("serves from L1, then L2 on another relay, and drops a record everywhere when it changes", async () => {
    const [a, b, c] = relays as [(typeof relays)[0], (typeof relays)[0], (typeof relays)[0]];
    const first = account("one");
    assert.equal((await a.cache.claim(first)).outcome, "created");
    assert.deepEqual((await b.cache.get("alice"))?.identityHash, first.identityHash);
    // The claim's own invalidation may still be on its way and (rightly) keep the first read out of
    // L1; within a few reads the record is cached.
    for (let i = 0; i < 100 && b.cache.counters.l1Hits === 0; i++) {
      await b.cache.get("alice");
      await sleep(5);
    }
    assert.ok(b.cache.counters.l1Hits > 0, "later reads are served from L1");
    await c.cache.get("alice");
    assert.equal(c.cache.counters.l2Hits, 1, "another relay finds it in L2");
    const next = account("two");
    assert.equal(await a.cache.replaceIdentity("alice", first.identityHash, next, 5), true);
    // B holds the old record in L1 until the invalidation arrives (pub/sub, milliseconds).
    let seen: Uint8Array | undefined;
    for (let i = 0; i < 200; i++) {
      seen = (await b.cache.get("alice"))?.identityHash;
      if (seen !== undefined && Buffer.from(seen).equals(Buffer.from(next.identityHash))) break;
      await sleep(10);
    }
    assert.deepEqual(seen, next.identityHash, "relay B serves the new record");
    assert.deepEqual((await c.cache.get("alice"))?.identityHash, next.identityHash, "and so does relay C");
  });

  it("a read racing an identity replacement never leaves the old record in L2 for other relays", async () => {
    const [a, b, c] = relays as [(typeof relays)[0], (typeof relays)[0], (typeof relays)[0]];
    const record = (seed: string) => ({ ...account(seed), username: "bob", skeleton: "bob" });
    const old = record("old");
    // Claimed around the caches: no invalidation of bob is on its way to bump what the read sees.
    assert.equal((await a.store.accounts.claim(old)).outcome, "created");
    // Relay B's read: it has the old record from the database and is held just before it fills L2
    // (a slow event loop, a descheduled process) while relay A replaces the identity.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let fetched!: () => void;
    const readDone = new Promise<void>((resolve) => (fetched = resolve));
    const slowInner: typeof b.store.accounts = Object.create(b.store.accounts);
    slowInner.get = async (username) => {
      const found = await b.store.accounts.get(username);
      fetched();
      await held;
      return found;
    };
    const racing = new CachedAccountStore(slowInner);
    racing.attach(b.link.commands, "cache_test", (username) => b.link.announceInvalidation(username));
    b.link.addCache(racing);
    const reading = racing.get("bob");
    await readDone;
    const next = record("new");
    assert.equal(await a.cache.replaceIdentity("bob", old.identityHash, next, 7), true);
    release();
    assert.deepEqual(
      (await reading)?.identityHash,
      old.identityHash,
      "the racing read itself saw the old one",
    );
    // Relay C has never read bob: whatever it finds in L2 is what any relay would serve for 30 s.
    assert.deepEqual(
      (await c.cache.get("bob"))?.identityHash,
      next.identityHash,
      "relay C gets the new record",
    );
  });

  it("with Redis down every read goes to the database", async () => {
    const [, b] = relays as [(typeof relays)[0], (typeof relays)[0]];
    await redis.kill();
    for (let i = 0; i < 200 && b.link.health.redis === "subscribed"; i++) await sleep(25);
    assert.equal(b.link.health.redis, "down");
    const before = { ...b.cache.counters };
    await b.cache.get("alice");
    await b.cache.get("alice");
    assert.deepEqual(b.cache.counters, before, "no cache level was consulted");
    await redis.restart();
  });
});
