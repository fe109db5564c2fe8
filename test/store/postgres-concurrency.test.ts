import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { blake2b, utf8 } from "../../src/crypto/index.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import type { NewMessage } from "../../src/store/types.ts";
import { createTestDatabase, type TestDatabase } from "../support/services.ts";

/**
 * What several relays do to one database at once, with three stores on separate pools as three relays
 * would have: one mailbox written by all three (sequence numbers dense, each sender's in order, a
 * reader polling with a cursor meanwhile never skips one), one client message id retried through all
 * three (one row), one-time prekeys fetched through all three (each handed out once).
 */
let database: TestDatabase;
let relays: PostgresStore[];
before(async () => {
  database = await createTestDatabase();
  const first = await PostgresStore.open({ url: database.url, migrate: true, max: 4 });
  relays = [
    first,
    ...(await Promise.all([1, 2].map(() => PostgresStore.open({ url: database.url, max: 4 })))),
  ];
});
after(async () => {
  await Promise.all(relays.map((relay) => relay.close()));
  await database.drop();
});

const QUOTA = { maxMessages: 100_000, maxBytes: 1 << 30 };
function message(sender: string, recipient: string, id: string): NewMessage {
  const envelope = utf8(`${sender}:${id}`);
  return {
    sender,
    recipient,
    clientMessageId: id,
    envelope,
    envelopeHash: blake2b(envelope),
    createdAt: 1,
    expiresAt: Date.now() + 86_400_000,
  };
}

describe("postgres store under three relays at once", () => {
  it("one mailbox written by three relays: dense sequence numbers, per-sender order, a cursor never skips", async () => {
    const PER_SENDER = 150;
    const seenByReader: number[] = [];
    let writing = true;
    // The reader polls with a cursor while the writes land, as a connection's pump does.
    const reader = (async () => {
      let cursor = 0;
      for (;;) {
        const done = !writing;
        const batch = await relays[0]!.mailboxes.fetch("bob", cursor, 50, Date.now());
        for (const stored of batch) seenByReader.push(stored.id);
        if (batch.length > 0) cursor = batch.at(-1)!.id;
        else if (done) return;
      }
    })();
    // Each sender on its own relay, sending in order without waiting (group commit batches them).
    const results = await Promise.all(
      relays.map((relay, r) =>
        Promise.all(
          Array.from({ length: PER_SENDER }, (_, i) =>
            relay.mailboxes
              .enqueue([message(`sender${r}`, "bob", `m${i}`)], QUOTA)
              .then(([result]) => result!),
          ),
        ),
      ),
    );
    writing = false;
    await reader;
    const total = PER_SENDER * relays.length;
    const ids = results.flat().map((result) => (result.ok ? result.serverId : -1));
    assert.deepEqual(
      [...ids].sort((a, b) => a - b),
      Array.from({ length: total }, (_, i) => i + 1),
      "every sequence number used once, none skipped",
    );
    for (const perSender of results) {
      const mine = perSender.map((result) => (result.ok ? result.serverId : -1));
      assert.deepEqual(
        mine,
        [...mine].sort((a, b) => a - b),
        "a sender's messages are in its order",
      );
    }
    assert.deepEqual(
      seenByReader,
      Array.from({ length: total }, (_, i) => i + 1),
      "the reader saw every one, in order",
    );
  });

  it("the same client message id retried through three relays at once is one row", async () => {
    const attempts = await Promise.all(
      relays.flatMap((relay) =>
        Array.from({ length: 4 }, () => relay.mailboxes.enqueue([message("alice", "carol", "retry")], QUOTA)),
      ),
    );
    const ids = new Set(attempts.map(([result]) => (result?.ok ? result.serverId : -1)));
    assert.equal(ids.size, 1);
    assert.ok(!ids.has(-1));
    assert.equal(attempts.filter(([result]) => result?.ok && !result.duplicate).length, 1, "stored once");
    assert.equal((await relays[2]!.mailboxes.fetch("carol", 0, 10, Date.now())).length, 1);
  });

  it("one-time prekeys fetched through three relays in parallel go out exactly once", async () => {
    const identityRecord = utf8("ir:dave");
    await relays[0]!.accounts.claim({
      username: "dave",
      skeleton: "dave",
      identityHash: blake2b(identityRecord),
      identityRecord,
      createdAt: 1,
      updatedAt: 1,
    });
    await relays[1]!.prekeys.putBundle("dave", {
      suite: 2,
      bundle: utf8("b"),
      lastResort: utf8("lr"),
      signedPrekeyCreatedAt: 1,
      uploadedAt: 1,
    });
    const keys = Array.from({ length: 30 }, (_, i) => ({ id: `k${i}`, prekey: utf8(`otk${i}`) }));
    assert.equal(await relays[2]!.prekeys.addOneTimePrekeys("dave", 2, keys), 30);
    const taken = await Promise.all(
      Array.from({ length: 45 }, (_, i) => relays[i % 3]!.prekeys.takeBundle("dave", 2)),
    );
    const handedOut = taken.map((t) => t?.oneTime?.id).filter((id): id is string => id !== undefined);
    assert.equal(handedOut.length, 30, "every key handed out");
    assert.equal(new Set(handedOut).size, 30, "none twice");
    assert.equal(taken.filter((t) => t?.oneTime === null).length, 15, "then the last-resort key alone");
    assert.equal(await relays[0]!.prekeys.countOneTimePrekeys("dave", 2), 0);
  });
});
