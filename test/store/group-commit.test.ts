import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { blake2b, utf8 } from "../../src/crypto/index.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "../relay/fixtures/harness.ts";

describe("sqlite group commit", () => {
  it("shares one durable transaction among writes submitted together", async () => {
    const store = new SqliteStore({ path: join(tempDir("group"), "g.sqlite"), maxBatch: 64 });
    try {
      const before = store.writer.commits;
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => {
          const envelope = utf8(`m${i}`);
          return store.mailboxes.enqueue(
            [
              {
                sender: "a",
                recipient: "b",
                clientMessageId: `m${i}`,
                envelope,
                envelopeHash: blake2b(envelope),
                createdAt: 1,
                expiresAt: 2e12,
              },
            ],
            { maxMessages: 1000, maxBytes: 1e6 },
          );
        }),
      );
      assert.ok(results.every(([r]) => r?.ok));
      const commits = store.writer.commits - before;
      assert.equal(commits, Math.ceil(200 / 64), "batches of at most maxBatch");
    } finally {
      await store.close();
    }
  });

  it("rolls back a failing write alone; its batch-mates commit", async () => {
    const store = new SqliteStore({ path: join(tempDir("group"), "g.sqlite") });
    try {
      const good = store.writer.submit(() => store.db.exec("CREATE TABLE t (x INTEGER)"));
      const bad = store.writer.submit(() => {
        store.db.exec("INSERT INTO t VALUES (1)");
        throw new Error("boom");
      });
      const after = store.writer.submit(() => store.db.exec("INSERT INTO t VALUES (2)"));
      await good;
      await assert.rejects(bad, /boom/);
      await after;
      assert.deepEqual(
        store.db
          .prepare("SELECT x FROM t")
          .all()
          .map((row) => row.x),
        [2],
      );
    } finally {
      await store.close();
    }
  });

  it("refuses writes after close", async () => {
    const store = new SqliteStore({ path: join(tempDir("group"), "g.sqlite") });
    await store.close();
    await assert.rejects(
      store.writer.submit(() => 1),
      /closed/,
    );
    assert.equal(await store.ping(), false);
  });
});
