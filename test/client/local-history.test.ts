import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { LocalStore, type ReceivedMessage } from "../../src/client/local-store/local-store.ts";
import { randomBytes, SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { withTempDir } from "./_helpers.ts";

/** The local store's side of issue 13 (loss 1 and history): shown marks, history, conversations. */

const text = (from: string, id: string, at: number, body = `${id} from ${from}`): ReceivedMessage => ({
  messageId: id,
  sender: from,
  contentType: "text",
  body: utf8(body),
  receivedAt: at,
  suite: SUITE_IDS.hybrid,
  sentAt: at - 1,
  contentId: "ab",
  envelopeBytes: 100,
  newSession: false,
});

const sent = (to: string, id: string, at: number) => ({
  clientMessageId: id,
  recipient: to,
  contentType: "text" as const,
  body: utf8(`${id} to ${to}`),
  sentAt: at,
  contentId: "cd",
  suite: SUITE_IDS.hybrid,
});

async function withStore<T>(run: (store: LocalStore, path: string, key: Uint8Array) => Promise<T>) {
  return withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    const store = await LocalStore.open(path, key);
    try {
      return await run(store, path, key);
    } finally {
      // Tests that reopen the file closed this one already.
      await store.close().catch(() => {});
    }
  });
}

test("a committed message stays unshown until marked, across a reopen; a receipt is never unshown", () =>
  withStore(async (store, path, key) => {
    await store.insertReceived(text("alice", "1", 10));
    await store.insertReceived(text("alice", "2", 11));
    await store.insertReceived({
      ...text("alice", "3", 12),
      contentType: "receipt",
      body: new Uint8Array(0),
    });
    assert.deepEqual(
      (await store.read((t) => t.listUnshown())).map((m) => m.messageId),
      ["1", "2"],
    );
    assert.equal(await store.relaxed((t) => t.markShown("1", false)), true);
    assert.equal(await store.relaxed((t) => t.markShown("1", false)), false, "marked once");
    await store.close();
    const reopened = await LocalStore.open(path, key);
    try {
      assert.deepEqual(
        (await reopened.read((t) => t.listUnshown())).map((m) => m.messageId),
        ["2"],
      );
    } finally {
      await reopened.close();
    }
  }));

test("history: both directions, per peer, since, the newest `limit` oldest first; conversations and unread", () =>
  withStore(async (store) => {
    await store.insertReceived(text("alice", "1", 100));
    await store.transaction((t) => t.insertSent(sent("alice", "s1", 110)));
    await store.insertReceived(text("bob", "2", 120));
    await store.insertReceived(text("alice", "3", 130));
    await store.relaxed((t) => t.markShown("1", true));
    const all = await store.read((t) => t.history({ limit: 10 }));
    assert.deepEqual(
      all.map(
        (e) => `${e.direction}:${e.direction === "in" ? e.message.messageId : e.message.clientMessageId}`,
      ),
      ["in:1", "out:s1", "in:2", "in:3"],
    );
    const alice = await store.read((t) => t.history({ peer: "alice", limit: 2 }));
    assert.deepEqual(
      alice.map((e) => e.message.body).map((b) => new TextDecoder().decode(b)),
      ["s1 to alice", "3 from alice"],
    );
    assert.deepEqual(
      (await store.read((t) => t.history({ peer: "alice", since: 105, limit: 10 }))).length,
      2,
    );
    const conversations = await store.read((t) => t.conversations());
    assert.deepEqual(
      conversations.map((c) => [c.peer, c.unread]),
      [
        ["alice", 1],
        ["bob", 1],
      ],
    );
    assert.equal(await store.transaction((t) => t.markRead("alice")), 1);
    assert.equal((await store.read((t) => t.conversations()))[0]?.unread, 0);
  }));

test("retention deletes old history, never a message not yet shown", () =>
  withStore(async (store) => {
    await store.insertReceived(text("alice", "old-shown", 10));
    await store.insertReceived(text("alice", "old-unshown", 11));
    await store.transaction((t) => t.insertSent(sent("alice", "old-sent", 12)));
    await store.insertReceived(text("alice", "new", 1000));
    await store.relaxed((t) => t.markShown("old-shown", false));
    await store.relaxed((t) => t.markShown("new", false));
    assert.equal(await store.transaction((t) => t.pruneHistory(500)), 2);
    assert.deepEqual(
      (await store.read((t) => t.history({ limit: 10 }))).map(
        (e) => e.message.body.length > 0 && e.direction,
      ),
      ["in", "in"],
    );
    assert.deepEqual(
      (await store.read((t) => t.listUnshown())).map((m) => m.messageId),
      ["old-unshown"],
    );
  }));

test("a peer column pointed at another conversation does not move a message into it", () =>
  withStore(async (store, path, key) => {
    await store.insertReceived(text("alice", "1", 10));
    await store.insertReceived(text("mallory", "2", 20, "a forged line"));
    await store.close();
    // Someone who can write the file copies alice's blind index onto mallory's row.
    const db = new DatabaseSync(path);
    db.exec("UPDATE received SET peer = (SELECT peer FROM received WHERE seq = 1) WHERE seq = 2");
    db.close();
    const reopened = await LocalStore.open(path, key);
    try {
      const alice = await reopened.read((t) => t.history({ peer: "alice", limit: 10 }));
      assert.deepEqual(
        alice.map((e) => e.direction === "in" && e.message.sender),
        ["alice"],
      );
    } finally {
      await reopened.close();
    }
  }));

test("rows written before history are filled in on open (peer and time from the sealed record)", () =>
  withStore(async (store, path, key) => {
    await store.insertReceived(text("alice", "1", 10));
    await store.close();
    const db = new DatabaseSync(path);
    db.exec("UPDATE received SET peer = NULL, at = NULL");
    db.close();
    const reopened = await LocalStore.open(path, key);
    try {
      const [entry] = await reopened.read((t) => t.history({ peer: "alice", limit: 10 }));
      assert.equal(entry?.direction, "in");
      assert.equal(entry?.message.receivedAt, 10);
    } finally {
      await reopened.close();
    }
  }));

test("a sent record copied under another message id is refused (sealed to its row key)", () =>
  withStore(async (store, path, key) => {
    await store.transaction((t) => t.insertSent(sent("alice", "s1", 10)));
    await store.close();
    const db = new DatabaseSync(path);
    db.exec("UPDATE sent SET client_message_id = 's2'");
    db.close();
    const reopened = await LocalStore.open(path, key);
    try {
      await assert.rejects(
        reopened.read((t) => t.history({ limit: 10 })),
        (error: unknown) => NanoError.is(error, "local_record_tampered"),
      );
    } finally {
      await reopened.close();
    }
  }));
