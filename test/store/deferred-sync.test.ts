// The relay store's fsync off the event loop (src/store/sqlite/group-commit.ts, wal-sync.ts): a write
// resolves only after a sync that began after its COMMIT, and a message committed but not yet synced
// is never handed out by a mailbox read. The real WAL fsync runs underneath; the test only decides
// when each sync's answer is let through, which a real disk answers too fast to observe.
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, it } from "node:test";
import { blake2b, utf8 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import type { Durability } from "../../src/store/sqlite/group-commit.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { WalSync } from "../../src/store/sqlite/wal-sync.ts";
import { tempDir } from "../relay/fixtures/harness.ts";

/** The real WAL sync, answered only when the test releases it (in order). */
class HeldSync implements Durability {
  readonly started: { release: (failure?: Error) => void }[] = [];
  readonly #inner: WalSync;
  constructor(inner: WalSync) {
    this.#inner = inner;
  }

  sync(): Promise<void> {
    return this.#inner.sync().then(
      () =>
        new Promise<void>((resolve, reject) => {
          this.started.push({ release: (failure) => (failure === undefined ? resolve() : reject(failure)) });
        }),
    );
  }

  syncNow(): void {
    this.#inner.syncNow();
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.ok(condition(), "condition not reached");
}

function message(id: string) {
  const envelope = utf8(id);
  return {
    sender: "a",
    recipient: "b",
    clientMessageId: id,
    envelope,
    envelopeHash: blake2b(envelope),
    createdAt: 1,
    expiresAt: 2e12,
  };
}

const QUOTA = { maxMessages: 1000, maxBytes: 1e6 };

function open(): { store: SqliteStore; held: () => HeldSync; path: string } {
  const path = join(tempDir("deferred-sync"), "d.sqlite");
  let held: HeldSync | null = null;
  const store = new SqliteStore({
    path,
    durability: (walSync) => {
      held = new HeldSync(walSync);
      return held;
    },
  });
  return { store, held: () => held!, path };
}

describe("group commit with the fsync off the event loop", () => {
  it("settles a write only after a sync begun after its COMMIT; writes during a sync commit together after it", async () => {
    const { store, held, path } = open();
    const rows = () => {
      const reader = new DatabaseSync(path, { readOnly: true });
      try {
        return Number(reader.prepare("SELECT count(*) AS n FROM t").get()?.n);
      } finally {
        reader.close();
      }
    };
    try {
      let first = false;
      let later = 0;
      void store.writer.submit(() => store.db.exec("CREATE TABLE t (x INTEGER)")).then(() => (first = true));
      await until(() => held().started.length === 1);
      assert.equal(rows(), 0, "committed (visible) before its sync");
      // The event loop is free while the disk works; writes arriving now wait for the running sync...
      for (const x of [1, 2])
        void store.writer.submit(() => store.db.exec(`INSERT INTO t VALUES (${x})`)).then(() => later++);
      await tick();
      await tick();
      assert.equal(rows(), 0, "not committed while the sync runs");
      assert.equal(first, false, "not resolved before its sync answered");
      const commits = store.writer.commits;
      held().started[0]!.release();
      await until(() => first);
      // ...then commit as one transaction, and wait for a sync of their own, begun after that COMMIT.
      await until(() => held().started.length === 2);
      assert.equal(store.writer.commits, commits + 1, "one transaction for the writes of one sync");
      assert.equal(rows(), 2);
      await tick();
      assert.equal(later, 0, "a sync begun before their COMMIT does not cover them");
      held().started[1]!.release();
      await until(() => later === 2);
    } finally {
      for (const sync of held().started) sync.release();
      await store.close();
    }
  });

  it("rejects the writes of a failed sync with store_unavailable", async () => {
    const { store, held } = open();
    try {
      const write = store.writer.submit(() => store.db.exec("CREATE TABLE t (x INTEGER)"));
      await until(() => held().started.length === 1);
      held().started[0]!.release(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
      await assert.rejects(write, (error: unknown) => NanoError.is(error, "store_unavailable"));
    } finally {
      await store.close();
    }
  });

  it("after a failed sync reports nothing stored and hands nothing out, however the next sync ends", async () => {
    // Linux may drop the pages a failed fdatasync could not write and answer the next one with
    // success; WAL recovery then stops at the lost frame and takes every later commit with it.
    const { store, held } = open();
    const outcomes: (string | null)[] = [];
    store.writer.onOutcome = (failure) => outcomes.push(failure?.code ?? null);
    try {
      const first = store.mailboxes.enqueue([message("m1")], QUOTA);
      await until(() => held().started.length === 1);
      held().started[0]!.release(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
      await assert.rejects(first, (error: unknown) => NanoError.is(error, "store_unavailable"));
      const later = store.mailboxes.enqueue([message("m2")], QUOTA);
      const read = store.mailboxes.fetch("b", 0, 10, 0);
      let settled = 0;
      for (const promise of [later, read])
        promise.then(
          () => settled++,
          () => settled++,
        );
      // A broken writer would commit m2 and, once a later sync succeeds, call m1 and m2 durable: every
      // later sync is let through with success.
      let released = 1;
      await until(() => {
        for (const sync of held().started.slice(released)) sync.release();
        released = held().started.length;
        return settled === 2;
      });
      await assert.rejects(later, (error: unknown) => NanoError.is(error, "store_unavailable"));
      await assert.rejects(read, (error: unknown) => NanoError.is(error, "store_unavailable"));
      await assert.rejects(store.probeWrite(), (error: unknown) => NanoError.is(error, "store_unavailable"));
      assert.equal(outcomes.at(-1), "store_unavailable", "the store's health must not heal by itself");
    } finally {
      for (const sync of held().started) sync.release();
      await store.close();
    }
  });

  it("hands a committed message out of the mailbox only once it is durable", async () => {
    const { store, held } = open();
    try {
      let stored = false;
      void store.mailboxes.enqueue([message("m1")], QUOTA).then(() => (stored = true));
      await until(() => held().started.length === 1);
      let fetched: number[] | null = null;
      void store.mailboxes.fetch("b", 0, 10, 0).then((rows) => (fetched = rows.map((row) => row.id)));
      await tick();
      await tick();
      assert.equal(fetched, null, "a committed, unsynced message must not be read out");
      held().started[0]!.release();
      await until(() => stored);
      // The read waits for a sync begun after it read the row (the first began before).
      await until(() => held().started.length === 2);
      assert.equal(fetched, null);
      held().started[1]!.release();
      await until(() => fetched !== null);
      assert.equal(fetched!.length, 1);
      // Once durable and known to be, it is read without waiting for the disk.
      assert.equal((await store.mailboxes.fetch("b", 0, 10, 0)).length, 1);
    } finally {
      for (const sync of held().started) sync.release();
      await store.close();
    }
  });
});
