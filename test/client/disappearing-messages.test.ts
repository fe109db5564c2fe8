import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import {
  LocalStore,
  type ReceivedMessage,
  type SentMessage,
} from "../../src/client/local-store/local-store.ts";
import {
  EXPIRY_TOLERANCE_MS,
  expirySeconds,
  receivedExpiresAt,
  SENDER_CLOCK_TOLERANCE_MS,
} from "../../src/client/messaging/disappearing.ts";
import { randomBytes, SUITE_IDS, toHex, utf8 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { fileHolds } from "../support/file-holds.ts";
import { ChildProgress } from "./_child-progress.ts";
import { REPO_ROOT, withLocalStore, withTempDir } from "./_helpers.ts";

/**
 * Disappearing messages in the local store (docs/client.md "Disappearing messages"): rows whose
 * timer ran out are never shown, and the sweep deletes them from local.db and its WAL in one commit.
 */

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);

function received(id: string, text: string, expiresAt?: number): ReceivedMessage {
  return {
    messageId: id,
    sender: "alice",
    contentType: "text",
    body: utf8(text),
    receivedAt: T0,
    suite: SUITE_IDS.hybrid,
    sentAt: T0,
    contentId: toHex(randomBytes(16)),
    ...(expiresAt === undefined ? {} : { expireAfterSeconds: (expiresAt - T0) / 1000, expiresAt }),
  };
}

function sent(id: string, text: string, expiresAt?: number): SentMessage {
  return {
    clientMessageId: id,
    recipient: "alice",
    contentType: "text",
    body: utf8(text),
    sentAt: T0,
    contentId: toHex(randomBytes(16)),
    suite: SUITE_IDS.hybrid,
    ...(expiresAt === undefined ? {} : { expireAfterSeconds: (expiresAt - T0) / 1000, expiresAt }),
  };
}

/** The sealed bytes of every received and sent row (what a copy of the files would hold). */
function sealedRows(path: string): Uint8Array[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (
      db.prepare("SELECT record FROM received UNION ALL SELECT record FROM sent").all() as {
        record: Uint8Array;
      }[]
    ).map((row) => Uint8Array.from(row.record));
  } finally {
    db.close();
  }
}

test("a row whose timer ran out is never shown: not unshown, not history, not conversations, not export", () =>
  withLocalStore(async (store) => {
    await store.transaction((tables) => {
      tables.insertReceived(received("1", "kept"));
      tables.insertReceived(received("2", "gone soon", T0 + 60_000));
      tables.insertSent(sent("c-1", "my gone soon", T0 + 60_000));
    });
    const before = T0 + 59_999;
    const after = T0 + 60_000;
    await store.read((tables) => {
      assert.equal(tables.listUnshown(100, before).length, 2);
      assert.deepEqual(
        tables.listUnshown(100, after).map((m) => m.messageId),
        ["1"],
        "an unshown message that expired is never handed over",
      );
      assert.equal(tables.history({ limit: 10, now: before }).length, 3);
      assert.deepEqual(
        tables.history({ limit: 10, now: after }).map((e) => new TextDecoder().decode(e.message.body)),
        ["kept"],
      );
      const last = tables.conversations(after)[0]?.last;
      assert.equal(last?.direction === "in" ? last.message.messageId : null, "1");
      assert.deepEqual(
        tables.listReceived(0, 100, after).map((m) => m.messageId),
        ["1"],
      );
    });
  }));

test("the sweep deletes expired rows (sent and received, shown or not) and their sealed bytes leave local.db and the WAL", () =>
  withLocalStore(async (store, path) => {
    await store.transaction((tables) => {
      tables.insertReceived(received("keep", "DISAPPEAR-MARKER kept"));
      tables.insertReceived(received("in", "DISAPPEAR-MARKER received", T0 + 1000));
      tables.insertSent(sent("c-out", "DISAPPEAR-MARKER sent", T0 + 1000));
      tables.insertSent(sent("c-later", "DISAPPEAR-MARKER later", T0 + 5000));
    });
    await store.relaxed((tables) => tables.markShown("in", true));
    const doomed = sealedRows(path);
    assert.equal(doomed.length, 4);
    // The sealed rows are on disk (WAL or database) before the sweep: the check below can fail.
    for (const row of doomed)
      assert.ok((await fileHolds(`${path}-wal`, row)) || (await fileHolds(path, row)), "on disk before");
    assert.equal(await store.nextExpiry(), T0 + 1000);
    assert.equal(await store.sweepExpired(T0 + 1000), 2);
    const left = sealedRows(path);
    assert.equal(left.length, 2);
    for (const row of doomed) {
      if (left.some((kept) => Buffer.from(kept).equals(Buffer.from(row)))) continue;
      assert.equal(await fileHolds(`${path}-wal`, row), false, "not in local.db-wal after the sweep");
      assert.equal(await fileHolds(path, row), false, "nor in local.db (secure_delete)");
    }
    // The plaintext marker was never in the clear in either file (rows are sealed).
    for (const file of [path, `${path}-wal`])
      assert.equal(await fileHolds(file, utf8("DISAPPEAR-MARKER")), false, file);
    assert.equal(await store.nextExpiry(), T0 + 5000);
    // A redelivery of the swept message is skipped (its key is spent), not refused into the quarantine.
    assert.equal(await store.read((tables) => tables.hasReceived("in")), true);
    assert.equal(await store.sweepExpired(T0 + 1000), 0, "nothing twice");
  }));

test("a long body's own column (overflow pages) leaves local.db and the WAL with its swept row", () =>
  withLocalStore(async (store, path) => {
    // Long enough for many overflow pages: the body column is sealed apart (BODY_APART_BYTES).
    const long = (fill: string) => fill.repeat(200 * 1024);
    await store.transaction((tables) => {
      tables.insertReceived(received("keep", long("k")));
      tables.insertReceived(received("in", long("r"), T0 + 1000));
      tables.insertSent(sent("c-out", long("s"), T0 + 1000));
    });
    const bodies = (): Uint8Array[] => {
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        return (
          db.prepare("SELECT body FROM received UNION ALL SELECT body FROM sent").all() as {
            body: Uint8Array | null;
          }[]
        ).map((row) => Uint8Array.from(row.body ?? new Uint8Array(0)));
      } finally {
        db.close();
      }
    };
    const doomed = bodies();
    assert.equal(doomed.length, 3);
    // Short slices all along each sealed body: an overflow page's 4-byte link splits the column on
    // disk, so most slices (not all) are found before, and none of any page may remain after.
    const slices = (body: Uint8Array) => {
      const out: Uint8Array[] = [];
      for (let at = 0; at + 32 <= body.length; at += 1009) out.push(body.subarray(at, at + 32));
      return out;
    };
    const found = async (slice: Uint8Array) =>
      (await fileHolds(`${path}-wal`, slice)) || (await fileHolds(path, slice));
    for (const body of doomed) {
      assert.ok(body.length > 200 * 1024, "sealed apart");
      let onDisk = 0;
      for (const slice of slices(body)) if (await found(slice)) onDisk += 1;
      assert.ok(onDisk > slices(body).length * 0.9, `on disk before: ${onDisk}/${slices(body).length}`);
    }
    assert.equal(await store.sweepExpired(T0 + 1000), 2);
    const left = bodies();
    assert.equal(left.length, 1);
    for (const body of doomed) {
      if (Buffer.from(left[0]!).equals(Buffer.from(body))) continue;
      for (const slice of slices(body))
        assert.equal(await found(slice), false, "in neither local.db-wal nor local.db (secure_delete)");
    }
    assert.equal(new TextDecoder().decode((await store.read((t) => t.listReceived()))[0]?.body), long("k"));
  }));

test("opening the store sweeps what came due while no client ran; an expired attachment's saved file goes too", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    const file = join(dir, "photo.jpg");
    await writeFile(file, "saved plaintext");
    const now = Date.now();
    const first = await LocalStore.open(path, key);
    await first.transaction((tables) => {
      tables.insertReceived({
        ...received(
          "file",
          JSON.stringify({ path: file, filename: "photo.jpg", size: 15, contentType: "image/jpeg" }),
        ),
        contentType: "attachment",
        expireAfterSeconds: 1,
        expiresAt: now - 1,
      });
      tables.insertReceived({
        ...received("text", "still here"),
        expireAfterSeconds: 3600,
        expiresAt: now + 3_600_000,
      });
    });
    await first.close();
    const second = await LocalStore.open(path, key);
    try {
      assert.deepEqual(
        (await second.read((tables) => tables.listReceived(0, 10, 0))).map((m) => m.messageId),
        ["text"],
        "deleted on open, not only hidden",
      );
      await assert.rejects(readFile(file), { code: "ENOENT" });
    } finally {
      await second.close();
    }
  }));

test("a send waiting for the relay (an intent, plaintext sealed) whose timer ran out is swept, never sent", () =>
  withLocalStore(async (store) => {
    const intent = (id: string, expireAfterSeconds?: number) => ({
      clientMessageId: id,
      contentId: toHex(randomBytes(16)),
      recipient: "alice",
      text: `queued ${id}`,
      file: null,
      cryptoMode: null,
      createdAt: T0,
      ...(expireAfterSeconds === undefined ? {} : { expireAfterSeconds }),
    });
    await store.transaction((tables) => {
      tables.insertIntent(intent("short", 60));
      tables.insertIntent(intent("long", 3600));
      tables.insertIntent(intent("none"));
    });
    assert.equal(await store.nextExpiry(), T0 + 60_000);
    assert.equal(await store.sweepExpired(T0 + 60_000), 1);
    assert.deepEqual(
      (await store.read((tables) => tables.listIntents())).map((i) => [
        i.clientMessageId,
        i.expireAfterSeconds,
      ]),
      [
        ["long", 3600],
        ["none", undefined],
      ],
    );
  }));

test("an expires_at column edited to NULL (not authenticated) does not bring an expired message back", () =>
  withLocalStore(async (store, path) => {
    await store.transaction((tables) => tables.insertReceived(received("x", "expired", T0 + 1000)));
    const db = new DatabaseSync(path);
    db.exec("UPDATE received SET expires_at = NULL");
    db.close();
    await store.read((tables) => {
      assert.deepEqual(tables.listUnshown(100, T0 + 1000), []);
      assert.deepEqual(tables.history({ limit: 10, now: T0 + 1000 }), []);
      assert.equal(tables.history({ limit: 10, now: T0 + 999 }).length, 1);
    });
  }));

test("closing the store deletes what came due while it was open", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    const store = await LocalStore.open(path, key);
    const now = Date.now();
    await store.transaction((tables) => {
      tables.insertReceived({ ...received("soon", "short"), expireAfterSeconds: 1, expiresAt: now + 200 });
      tables.insertReceived(received("kept", "kept"));
    });
    await new Promise((resolve) => setTimeout(resolve, 250));
    await store.close();
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      assert.equal((db.prepare("SELECT count(*) AS n FROM received").get() as { n: number }).n, 1);
    } finally {
      db.close();
    }
  }));

test("conversation settings are sealed per peer and survive a reopen", () =>
  withLocalStore(async (store) => {
    await store.transaction((tables) => {
      tables.putConversation({ peer: "alice", expireAfterSeconds: 604_800, updatedAt: T0 });
    });
    const settings = await store.read((tables) => [
      tables.getConversation("alice"),
      tables.getConversation("bob"),
    ]);
    assert.deepEqual(settings, [{ peer: "alice", expireAfterSeconds: 604_800, updatedAt: T0 }, null]);
  }));

test("the receiver's clock: the relay's acceptance time moved by the measured skew, never later than the timer after arrival", () => {
  const hour = 3600;
  const relaySentAt = T0;
  // Receiver a day behind, the message waited 10 minutes at the relay: deleted an hour after the
  // relay accepted it (in the receiver's clock: a day earlier), not an hour after it arrived.
  const day = 86_400_000;
  const waited = 600_000;
  const behind = receivedExpiresAt({
    now: T0 + waited - day,
    relaySentAt,
    senderSentAt: T0,
    skewMs: day,
    expireAfterSeconds: hour,
  });
  assert.equal(behind, T0 - day + hour * 1000);
  // The same for a receiver a day ahead.
  assert.equal(
    receivedExpiresAt({
      now: T0 + waited + day,
      relaySentAt,
      senderSentAt: T0,
      skewMs: -day,
      expireAfterSeconds: hour,
    }),
    T0 + day + hour * 1000,
  );
  // A relay that claims an acceptance in the future gains nothing.
  assert.equal(
    receivedExpiresAt({
      now: T0,
      relaySentAt: T0 + day,
      senderSentAt: T0,
      skewMs: 0,
      expireAfterSeconds: hour,
    }),
    T0 + hour * 1000,
  );
  // Skew unknown (no Date header): the arrival starts the timer.
  assert.equal(
    receivedExpiresAt({
      now: T0 + waited,
      relaySentAt,
      senderSentAt: T0,
      skewMs: null,
      expireAfterSeconds: hour,
    }),
    T0 + waited + hour * 1000,
  );
  // A relay that backdates one message's sent_at by a day moves its timer by the sender-clock
  // tolerance at most: it is not deleted unseen.
  assert.equal(
    receivedExpiresAt({
      now: T0 + waited,
      relaySentAt: T0 - day,
      senderSentAt: T0,
      skewMs: 0,
      expireAfterSeconds: hour,
    }),
    T0 - SENDER_CLOCK_TOLERANCE_MS + hour * 1000,
  );
  // A relay that held it ten days and then claims it accepted it just now: the sender's clock bounds
  // the claim, so it is expired on arrival (reported), not kept an hour more.
  assert.equal(
    receivedExpiresAt({
      now: T0 + 10 * day,
      relaySentAt: T0 + 10 * day,
      senderSentAt: T0,
      skewMs: 0,
      expireAfterSeconds: hour,
    }),
    T0 + SENDER_CLOCK_TOLERANCE_MS + hour * 1000,
  );
  // A sent_at that is not a time (the relay's JSON is untyped) is no claim: never a NaN deadline, which
  // would be neither expired nor ever due.
  for (const junk of [Number.NaN, Number.POSITIVE_INFINITY, 1e300, "x" as unknown as number])
    assert.equal(
      receivedExpiresAt({
        now: T0,
        relaySentAt: junk,
        senderSentAt: T0,
        skewMs: 0,
        expireAfterSeconds: hour,
      }),
      T0 + hour * 1000,
    );
  assert.ok(EXPIRY_TOLERANCE_MS <= 5000);
});

test("the SDK's expireAfterMs must be whole seconds from 1 s to 365 d", () => {
  assert.equal(expirySeconds(3_600_000), 3600);
  for (const bad of [0, -1000, 1500, 366 * 86_400_000, Number.NaN, Number.POSITIVE_INFINITY])
    assert.throws(
      () => expirySeconds(bad),
      (error: unknown) => NanoError.is(error, "invalid_argument"),
    );
});

const SWEEP_KILLS = 4;

test(`SIGKILL during the sweep (${SWEEP_KILLS} times) loses no other row and leaves nothing expired visible`, () =>
  withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    await (await LocalStore.open(path, key)).close();
    const expiring = 40;
    const live = 5;
    let liveBefore = 0;
    for (let kill = 0; kill < SWEEP_KILLS; kill++) {
      const child = spawn(
        process.execPath,
        [
          join(REPO_ROOT, "test/client/fixtures/expiry-sweeper.ts"),
          path,
          toHex(key),
          String(expiring),
          String(live),
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      const progress = new ChildProgress(child);
      // Killed inside a round after a few: in its insert, its sweep, or the WAL truncation after it.
      await progress.killWithinNextStep(child, 4 + kill);
      const inserted = progress.steps().filter((line) => line.text.startsWith("inserted")).length;
      // Each sweep is one transaction: the expired rows of the last round are all there or all gone.
      const raw = new DatabaseSync(path, { readOnly: true });
      const counts = raw
        .prepare(
          "SELECT SUM(expires_at IS NOT NULL) AS expired, SUM(expires_at IS NULL) AS live FROM received",
        )
        .get() as { expired: number | null; live: number | null };
      raw.close();
      assert.ok([0, expiring].includes(counts.expired ?? 0), `expired rows left: ${counts.expired}`);
      const liveNow = counts.live ?? 0;
      assert.ok(
        liveNow === liveBefore + inserted * live || liveNow === liveBefore + (inserted + 1) * live,
        `live rows ${liveNow} after ${inserted} committed rounds`,
      );
      const store = await LocalStore.open(path, key);
      try {
        const rows = await store.read((tables) => tables.listReceived(0, 100_000, 0));
        assert.equal(rows.length, liveNow, "opening swept every expired row and kept every other");
        assert.ok(rows.every((row) => new TextDecoder().decode(row.body).startsWith("LIVE-")));
        // The rows are sealed, so a marker search would find nothing either way: what counts is that
        // no page image of before the sweep is left in the WAL — opening truncates it.
        assert.equal((await stat(`${path}-wal`)).size, 0, "the WAL is empty once the store is open");
      } finally {
        await store.close();
      }
      liveBefore = liveNow;
    }
  }));

test("a sweep committed by a process killed before its WAL truncation: the next open carries it out", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    // Past this run's clock (closing sweeps what is due), a whole number of seconds after T0.
    const later = T0 + 2 * 86_400_000;
    assert.ok(later > Date.now() + 60_000);
    const first = await LocalStore.open(path, key);
    await first.transaction((tables) => {
      tables.insertReceived(received("keep", "kept"));
      for (let i = 0; i < 20; i++)
        tables.insertReceived(received(`gone-${i}`, `${"x".repeat(2000)} ${i}`, later));
    });
    await first.close();
    const expiring = (() => {
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        return (
          db.prepare("SELECT record FROM received WHERE expires_at IS NOT NULL").all() as {
            record: Uint8Array;
          }[]
        ).map((row) => Uint8Array.from(row.record));
      } finally {
        db.close();
      }
    })();
    assert.equal(expiring.length, 20);
    // The sweep's transaction commits (secure_delete zeroes the cells, in pages written to the WAL),
    // then the process dies before the checkpoint that carries them into the database.
    const killed = spawn(
      process.execPath,
      [
        "-e",
        `const { DatabaseSync } = require("node:sqlite");
         const db = new DatabaseSync(process.argv[1]);
         db.exec("PRAGMA secure_delete = ON; DELETE FROM received WHERE expires_at IS NOT NULL;");
         process.kill(process.pid, "SIGKILL");`,
        path,
      ],
      { stdio: "ignore" },
    );
    await new Promise((resolve) => killed.on("exit", resolve));
    // The check below can fail: the old sealed rows are still in local.db.
    let onDisk = 0;
    for (const row of expiring) if (await fileHolds(path, row)) onDisk += 1;
    assert.ok(onDisk > 0, "the killed sweep left the old rows in the database file");
    const store = await LocalStore.open(path, key);
    try {
      for (const row of expiring) {
        assert.equal(await fileHolds(path, row), false, "not in local.db once opened");
        assert.equal(await fileHolds(`${path}-wal`, row), false, "nor in its WAL");
      }
      assert.deepEqual(
        (await store.read((tables) => tables.listReceived(0, 100, 0))).map((m) => m.messageId),
        ["keep"],
      );
    } finally {
      await store.close();
    }
  }));
