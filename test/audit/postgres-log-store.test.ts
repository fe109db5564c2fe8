import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { MerkleLogStore } from "../../src/audit/log-store.ts";
import { hashLeaf, rootFromLeafHashes } from "../../src/audit/merkle-hash.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import { appendInTransaction, PostgresLogStore } from "../../src/audit/postgres-log-store.ts";
import { toHex, utf8 } from "../../src/crypto/bytes.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { NanoError } from "../../src/errors/index.ts";
import { openPool, type Pool, transaction } from "../../src/store/postgres/connection.ts";
import { migratePostgres } from "../../src/store/postgres/migrations.ts";
import { createTestDatabase, randomName, type TestDatabase } from "../support/services.ts";
import { runStoreConformance } from "./store-conformance.ts";

let database: TestDatabase;
let pool: Pool;
before(async () => {
  database = await createTestDatabase();
  pool = openPool({ url: database.url, max: 8 });
  await migratePostgres(pool);
});
after(async () => {
  await pool.end();
  await database.drop();
});

// Each store is a fresh log id in the same tables: a log is exactly its rows under that id.
runStoreConformance("PostgresLogStore", {
  create: async (): Promise<MerkleLogStore> => new PostgresLogStore(pool, { logId: randomName("log") }),
  dispose: async () => {},
});

test("PostgresLogStore: appends from many writers at once (separate connections) form one valid sequence", async () => {
  const logId = randomName("seq");
  // Eight writers, each in its own transaction on its own connection, as eight relays would be.
  const writers = Array.from({ length: 8 }, (_, w) =>
    Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        transaction(pool, (tx) => appendInTransaction(tx, logId, [utf8(`w${w}-${i}`)])),
      ),
    ),
  );
  const results = (await Promise.all(writers)).flat();
  const starts = results.map((r) => r.start).sort((a, b) => a - b);
  assert.deepEqual(
    starts,
    Array.from({ length: 40 }, (_, i) => i),
    "every index used once, none skipped",
  );
  const store = new PostgresLogStore(pool, { logId });
  const entries = await store.entries(0, 40);
  const leafHashes = entries.map((e) => hashLeaf(sha256, e.data));
  assert.equal(toHex(await new MerkleLog(store).rootHash()), toHex(rootFromLeafHashes(sha256, leafHashes)));
});

test("PostgresLogStore: an append inside a transaction that rolls back leaves nothing", async () => {
  const logId = randomName("rb");
  const store = new PostgresLogStore(pool, { logId });
  await new MerkleLog(store).append([utf8("kept")]);
  await assert.rejects(
    transaction(pool, async (tx) => {
      await appendInTransaction(tx, logId, [utf8("lost")]);
      throw new NanoError("internal_error", "the change it records failed");
    }),
  );
  assert.equal(await store.size(), 1);
  assert.equal(await store.entry(1), undefined);
  await new MerkleLog(store).append([utf8("next")]);
  assert.deepEqual(await store.entry(1), utf8("next"));
});

test("PostgresLogStore: rows planted beyond the size make the next append fail as inconsistent", async () => {
  const logId = randomName("tamper");
  const store = new PostgresLogStore(pool, { logId });
  await new MerkleLog(store).append([utf8("a")]);
  await pool.query("INSERT INTO merkle_log_entries (log_id, idx, data) VALUES ($1, 1, 'x')", [logId]);
  await assert.rejects(new MerkleLog(store).append([utf8("b")]), (e: unknown) =>
    NanoError.is(e, "log_store_inconsistent"),
  );
  assert.equal(await store.size(), 1);
});
