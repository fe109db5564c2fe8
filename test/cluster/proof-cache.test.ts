import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { hashLeaf, verifyInclusion } from "../../src/audit/index.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { blake2b, utf8 } from "../../src/crypto/index.ts";
import { loadOrCreateLogKey } from "../../src/relay/audit-log-key.ts";
import { PostgresTransparency } from "../../src/relay/cluster/postgres-transparency.ts";
import { InclusionProofCache, proofCacheKey } from "../../src/relay/cluster/proof-cache.ts";
import { createRedisClient, type RedisClient } from "../../src/relay/cluster/redis-clients.ts";
import { transaction } from "../../src/store/postgres/connection.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { tempDir } from "../relay/fixtures/harness.ts";
import { createTestDatabase, PrivateRedis, type TestDatabase } from "../support/services.ts";

const PREFIX = "proof_cache_test";

/**
 * Three relays' transparency services over one database and one Redis, each with its own proof cache:
 * a proof computed on one relay is found in L2 by another and in L1 on a repeat; every proof served
 * from a cache verifies against the checkpoint's root; a new binding or an erase is seen at once
 * (they change which proof is asked for, never a cached one); a corrupt L2 value is recomputed.
 */
describe("cluster: inclusion proof caches (L1 LRU, L2 Redis, L3 PostgreSQL)", () => {
  let database: TestDatabase;
  let redis: PrivateRedis;
  let keyDir: string;
  const relays: {
    store: PostgresStore;
    kt: PostgresTransparency;
    cache: InclusionProofCache;
    redis: RedisClient;
  }[] = [];

  before(async () => {
    database = await createTestDatabase("nano_proof_cache");
    redis = await PrivateRedis.start();
    keyDir = tempDir("proof-cache");
    const key = loadOrCreateLogKey(join(keyDir, "log-key.json"), "relay.test").key;
    for (let i = 0; i < 3; i++) {
      const store = await PostgresStore.open({ url: database.url, migrate: i === 0, max: 2 });
      const kt = new PostgresTransparency({ pool: store.pool, key, now: () => Date.now() });
      const client = createRedisClient(redis.url, `proof-cache-${i}`);
      await client.connect();
      const cache = new InclusionProofCache(client, PREFIX);
      kt.cacheProofs(cache);
      relays.push({ store, kt, cache, redis: client });
    }
  });

  after(async () => {
    for (const relay of relays) {
      relay.redis.destroy();
      await relay.store.close();
    }
    await redis?.kill();
    await database?.drop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  const bind = (relay: (typeof relays)[0], username: string, seed: string, version: number) =>
    transaction(relay.store.pool, (tx) =>
      relay.kt.bind(tx, username, blake2b(utf8(`ir:${seed}`)), version, Date.now()),
    );

  async function verified(relay: (typeof relays)[0], username: string) {
    const proof = await relay.kt.ktProof(username);
    assert.ok(proof !== undefined, `${username} has a proof`);
    verifyInclusion(sha256, {
      leafHash: hashLeaf(sha256, proof.leaf),
      index: proof.index,
      treeSize: proof.checkpoint.size,
      proof: proof.inclusionProof,
      rootHash: await relay.kt.logs.kt.rootHash(proof.checkpoint.size),
    });
    return proof;
  }

  it("computes once, then serves from L2 on another relay and from L1 on a repeat; proofs verify", async () => {
    const [a, b, c] = relays as [(typeof relays)[0], (typeof relays)[0], (typeof relays)[0]];
    for (let i = 0; i < 5; i++) await bind(a, `user${i}`, `s${i}`, 1);
    const first = await verified(a, "user2");
    assert.deepEqual(a.cache.counters, { l1Hits: 0, l2Hits: 0, misses: 1 });
    const second = await verified(b, "user2");
    assert.deepEqual(b.cache.counters, { l1Hits: 0, l2Hits: 1, misses: 0 }, "relay B finds it in L2");
    assert.deepEqual(second.inclusionProof, first.inclusionProof);
    assert.deepEqual(second.leaf, first.leaf);
    await verified(b, "user2");
    assert.equal(b.cache.counters.l1Hits, 1, "a repeat on relay B is served from L1");
    await verified(c, "user2");
    assert.equal(c.cache.counters.l2Hits, 1, "and relay C finds it in L2 too");
  });

  it("a new binding is proved at once on every relay (a new key, never a stale cached proof)", async () => {
    const [a, b] = relays as [(typeof relays)[0], (typeof relays)[0]];
    const before = await verified(b, "user3");
    const index = await bind(a, "user3", "s3-new", 2);
    const after = await verified(b, "user3");
    assert.equal(after.index, index, "relay B proves the newest binding");
    assert.notEqual(after.index, before.index);
    assert.notDeepEqual(after.leaf, before.leaf);
  });

  it("an erased binding has no proof even while its proof is cached", async () => {
    const [a, b] = relays as [(typeof relays)[0], (typeof relays)[0]];
    await verified(b, "user4");
    await verified(b, "user4");
    assert.ok(b.cache.counters.l1Hits > 0);
    await a.kt.erase("user4", Date.now());
    assert.equal(await b.kt.ktProof("user4"), undefined);
  });

  it("a corrupt L2 value is recomputed, not served", async () => {
    const [a, , c] = relays as [(typeof relays)[0], (typeof relays)[0], (typeof relays)[0]];
    await bind(a, "user9", "s9", 1);
    const proof = await verified(a, "user9");
    await a.redis.set(proofCacheKey(PREFIX, proof.index, proof.checkpoint.size), "{not json");
    const misses = c.cache.counters.misses;
    await verified(c, "user9");
    assert.equal(c.cache.counters.misses, misses + 1, "relay C recomputed the proof");
  });

  it("with Redis down proofs are still served (computed or from L1) and verify", async () => {
    const [a, b, c] = relays as [(typeof relays)[0], (typeof relays)[0], (typeof relays)[0]];
    await redis.kill();
    for (let i = 0; i < 400 && c.redis.isReady; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(c.redis.isReady, false);
    await bind(a, "user7", "s7", 1);
    const misses = c.cache.counters.misses;
    await verified(c, "user7");
    assert.equal(c.cache.counters.misses, misses + 1);
    await verified(b, "user2");
    await redis.restart();
  });
});
