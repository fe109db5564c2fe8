// Retention on PostgreSQL (docs/compliance.md, "Retention"): the store's purge deletes the personal data
// behind old audit events, keeps a held account's and recent ones, and forgets ended tombstones — the
// same rules as on SQLite (test/relay/retention.test.ts), on the machine's PostgreSQL.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadOrCreateLogKey } from "../../src/relay/audit-log-key.ts";
import { PostgresTransparency } from "../../src/relay/cluster/postgres-transparency.ts";
import { transaction } from "../../src/store/postgres/connection.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { tempDir } from "../relay/fixtures/harness.ts";
import { createTestDatabase, type TestDatabase } from "../support/services.ts";

const DAY = 86_400_000;

describe("retention purge on PostgreSQL", () => {
  let database: TestDatabase;
  let store: PostgresStore;
  let transparency: PostgresTransparency;
  let keyDir: string;

  before(async () => {
    database = await createTestDatabase("nano_retention");
    store = await PostgresStore.open({ url: database.url, migrate: true, max: 2 });
    keyDir = tempDir("retention-pg");
    transparency = new PostgresTransparency({
      pool: store.pool,
      key: loadOrCreateLogKey(join(keyDir, "log-key.json"), "relay.test").key,
      now: () => Date.now(),
    });
  });

  after(async () => {
    await store?.close();
    await database?.drop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  const fields = async (idx: number) =>
    (
      await store.pool.query(
        "SELECT field FROM merkle_log_personal_data WHERE log_id = 'audit' AND idx = $1 ORDER BY field",
        [idx],
      )
    ).rows.map((row: { field: string }) => row.field);

  it("purges old events' names and addresses except a held account's; ended tombstones go", async () => {
    const now = Date.now();
    const event = (username: string, age: number) =>
      transaction(store.pool, (tx) =>
        transparency.appendEvent(tx, {
          type: "auth_failed",
          outcome: "failure",
          time: now - age,
          username,
          address: "192.0.2.1",
          details: { reason: "signature_invalid" },
        }),
      );
    const oldCarol = await event("carol", 40 * DAY);
    const oldDave = await event("dave", 39 * DAY);
    const recent = await event("carol", 29 * DAY);
    await store.pool.query("INSERT INTO legal_holds (username, placed_at) VALUES ('dave', $1)", [now]);
    await store.pool.query(
      "INSERT INTO account_tombstones (skeleton_key, erased_at, until) VALUES ($1, $2, $3), ($4, $5, $6)",
      [Buffer.alloc(32, 1), now - DAY, now - 1, Buffer.alloc(32, 2), now, now + DAY],
    );
    assert.equal(await store.retention.purgeAuditPersonalData(now - 30 * DAY, 1000), 2);
    assert.deepEqual(await fields(oldCarol), []);
    assert.deepEqual(await fields(oldDave), ["address", "username"]);
    assert.deepEqual(await fields(recent), ["address", "username"]);
    assert.equal(await store.retention.expireTombstones(now), 1);
    await store.pool.query("DELETE FROM legal_holds");
    assert.equal(await store.retention.purgeAuditPersonalData(now - 30 * DAY, 1), 2, "one entry's two rows");
    assert.deepEqual(await fields(oldDave), []);
    assert.equal(await store.retention.purgeAuditPersonalData(now - 30 * DAY, 1000), 0);
  });
});
