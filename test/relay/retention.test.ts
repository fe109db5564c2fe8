// Retention (docs/compliance.md): the sweeper deletes the personal data behind old audit events, keeps
// that of accounts under legal hold and of recent events, forgets ended tombstones, and the log still
// verifies. In process (the sweep is a function of the relay context and its injectable clock).
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openCheckpoint } from "../../src/audit/checkpoint.ts";
import { verifyLog } from "../../src/audit/verify-log.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { loadOrCreateLogKey } from "../../src/relay/audit-log-key.ts";
import { sweepOnce } from "../../src/relay/sweeper.ts";
import { RelayTransparency } from "../../src/relay/transparency.ts";
import { buildTestRelay, type TestRelay, tempDir } from "./fixtures/harness.ts";

const DAY = 86_400_000;

describe("retention: compliance.retention_audit_days, enforced by the sweeper", () => {
  let relay: TestRelay;
  let transparency: RelayTransparency;
  let keyDir: string;

  before(async () => {
    relay = await buildTestRelay({ compliance: { retention_audit_days: 30 } });
    keyDir = tempDir("retention-key");
    transparency = new RelayTransparency({
      db: relay.store.db,
      key: loadOrCreateLogKey(join(keyDir, "log-key.json"), "relay.test").key,
      run: (work) => relay.store.writer.submit(work),
      now: () => relay.clock.now(),
    });
  });

  after(async () => {
    await relay.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  const personal = (idx: number) =>
    relay.store.db
      .prepare("SELECT field FROM merkle_log_personal_data WHERE log_id = 'audit' AND idx = ? ORDER BY field")
      .all(idx)
      .map((row) => String(row.field));

  it("purges old events' names and addresses, keeps held accounts' and recent ones; the log verifies", async () => {
    const now = relay.clock.now();
    const event = (username: string, age: number) =>
      transparency.record({
        type: "auth_failed",
        outcome: "failure",
        time: now - age,
        username,
        address: "192.0.2.1",
        details: { reason: "signature_invalid" },
      });
    const oldCarol = await event("carol", 40 * DAY);
    const oldDave = await event("dave", 39 * DAY);
    const oldErin = await event("erin", 31 * DAY);
    const recentCarol = await event("carol", 29 * DAY);
    relay.store.db.prepare("INSERT INTO legal_holds (username, placed_at) VALUES ('dave', ?)").run(now);
    relay.store.db
      .prepare("INSERT INTO account_tombstones (skeleton_key, erased_at, until) VALUES (?, ?, ?), (?, ?, ?)")
      .run(new Uint8Array(32).fill(1), now - 40 * DAY, now - 1, new Uint8Array(32).fill(2), now, now + DAY);

    const swept = await sweepOnce(relay.context);
    assert.equal(swept.auditPersonalData, 4, "name and address of carol's and erin's old events");
    assert.deepEqual(personal(oldCarol), []);
    assert.deepEqual(personal(oldErin), []);
    assert.deepEqual(personal(oldDave), ["address", "username"], "dave is under legal hold");
    assert.deepEqual(personal(recentCarol), ["address", "username"], "29 days is within retention");
    const tombstones = relay.store.db.prepare("SELECT count(*) AS n FROM account_tombstones").get();
    assert.equal(Number(tombstones?.n), 1, "the ended tombstone is gone, the live one stays");

    // The entries themselves stay: a Merkle log cannot drop them, and they name no one.
    const checkpoint = await transparency.checkpoint("audit");
    const head = await openCheckpoint(nodeProvider, checkpoint.note, transparency.key.verifier.audit);
    const verified = await verifyLog(transparency.stores.audit, [head]);
    assert.ok(verified.ok);
    assert.equal(verified.size, 4);

    // Released, dave's old data goes at the next sweep; a month later so does carol's recent one.
    relay.store.db.prepare("DELETE FROM legal_holds").run();
    assert.equal((await sweepOnce(relay.context)).auditPersonalData, 2);
    await relay.clock.advance(2 * DAY);
    assert.equal((await sweepOnce(relay.context)).auditPersonalData, 2);
    assert.deepEqual(personal(recentCarol), []);
  });
});
