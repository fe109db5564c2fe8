import assert from "node:assert/strict";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { saveKeystore } from "../../src/client/keystore/keystore.ts";
import { encodeKeystoreContents, newKeystoreContents } from "../../src/client/keystore/keystore-contents.ts";
import {
  MIGRATIONS,
  migrate,
  SCHEMA_VERSION,
  schemaVersion,
} from "../../src/client/local-store/local-schema.ts";
import {
  BODY_APART_BYTES,
  type ContactRecord,
  LocalStore,
} from "../../src/client/local-store/local-store.ts";
import { randomBytes, SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { TEST_ARGON2ID, withLocalStore, withTempDir } from "./_helpers.ts";

function contact(username: string, overrides: Partial<ContactRecord> = {}): ContactRecord {
  return {
    username,
    identityRecord: randomBytes(48),
    pinnedSuite: SUITE_IDS.hybrid,
    verified: false,
    safetyNumberConfirmedAt: null,
    identityChanged: false,
    addedAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...overrides,
  };
}

const withStore = withLocalStore;

function isTampered(error: unknown): boolean {
  return NanoError.is(error, "local_record_tampered");
}

test("every record type round-trips through a real SQLite file and survives reopening", () =>
  withStore(async (store, path, key) => {
    const alice = contact("alice", { verified: true, safetyNumberConfirmedAt: 1_700_000_000_500 });
    await store.putContact(alice);
    await store.putContact(contact("bob"));
    const session = {
      sessionId: randomBytes(16),
      peer: "alice",
      state: randomBytes(100),
      updatedAt: 5,
      archived: false,
    };
    await store.putSession(session);
    const prekey = {
      id: randomBytes(8),
      suite: SUITE_IDS.quantum,
      role: "pq-one-time",
      secret: randomBytes(64),
      createdAt: 1,
      expiresAt: 2,
      lastResort: false,
    };
    await store.putPrekeySecret(prekey);
    const message = {
      messageId: "m-1",
      sender: "alice",
      contentType: "text/plain",
      body: utf8("hi"),
      receivedAt: 9,
    };
    assert.equal(await store.insertReceived(message), true);
    assert.equal(await store.insertReceived(message), false, "redelivery is stored once");
    await store.close();

    const reopened = await LocalStore.open(path, key);
    try {
      assert.deepEqual(await reopened.getContact("alice"), alice);
      assert.equal(await reopened.getContact("carol"), null);
      assert.deepEqual(
        (await reopened.listContacts()).map((c) => c.username),
        ["alice", "bob"],
      );
      assert.deepEqual(await reopened.getSessions("alice"), [{ ...session, stateVersion: 1 }]);
      assert.deepEqual(await reopened.getSessions("bob"), []);
      assert.deepEqual(await reopened.getPrekeySecret(prekey.id), prekey);
      assert.deepEqual(await reopened.listReceived(), [{ seq: 1, ...message }]);
      await assert.rejects(
        reopened.read((tables) => tables.requireContact("carol")),
        (error: unknown) => NanoError.is(error, "contact_not_found"),
      );
    } finally {
      await reopened.close();
    }
  }));

test("the replay cache answers new then replayed, and prunes expired entries", () =>
  withStore(async (store) => {
    const digest = randomBytes(64);
    assert.equal(await store.rememberReplay(digest, 100), true);
    assert.equal(await store.rememberReplay(digest, 100), false);
    assert.equal(await store.read((t) => t.hasReplay(digest)), true);
    assert.equal(await store.read((t) => t.pruneReplay(100)), 1);
    assert.equal(await store.read((t) => t.hasReplay(digest)), false);
  }));

test("a failed transaction leaves nothing behind; a committed one keeps everything", () =>
  withStore(async (store) => {
    const id = randomBytes(8);
    await store.putPrekeySecret({
      id,
      suite: 2,
      role: "one-time",
      secret: randomBytes(32),
      createdAt: 0,
      expiresAt: 1,
      lastResort: false,
    });
    await assert.rejects(
      store.transaction(async (tables) => {
        tables.rememberReplay(randomBytes(64), 10);
        tables.deletePrekeySecret(id);
        tables.putContact(contact("mallory"));
        await Promise.resolve();
        throw new Error("crash between steps");
      }),
      /crash between steps/,
    );
    assert.notEqual(await store.getPrekeySecret(id), null);
    assert.equal(await store.getContact("mallory"), null);
    await store.transaction((tables) => {
      tables.deletePrekeySecret(id);
      tables.putContact(contact("mallory"));
    });
    assert.equal(await store.getPrekeySecret(id), null);
    assert.notEqual(await store.getContact("mallory"), null);
  }));

test("stolen home directory: no canary plaintext, key or username appears in any file byte", () =>
  withTempDir(async (home) => {
    const canaries = {
      username: "canary-user-5e1f0a",
      peer: "canary-peer-77c2b9",
      text: "canary message text 9d8e7f",
      identityRecord: randomBytes(64),
      sessionState: randomBytes(64),
      prekeySecret: randomBytes(64),
      envelope: randomBytes(64),
      identitySeed: randomBytes(64),
    };
    const contents = newKeystoreContents(canaries.identitySeed);
    await saveKeystore(join(home, "keystore"), encodeKeystoreContents(contents), "canary passphrase", {
      argon2id: TEST_ARGON2ID,
    });
    const store = await LocalStore.open(join(home, "local.db"), contents.localStoreKey);
    await store.putContact(contact(canaries.username, { identityRecord: canaries.identityRecord }));
    await store.putContact(contact(canaries.peer));
    await store.putSession({
      sessionId: randomBytes(16),
      peer: canaries.peer,
      state: canaries.sessionState,
      updatedAt: 1,
      archived: false,
    });
    await store.putPrekeySecret({
      id: randomBytes(8),
      suite: 3,
      role: "pq",
      secret: canaries.prekeySecret,
      createdAt: 0,
      expiresAt: 1,
      lastResort: true,
    });
    await store.read((t) =>
      t.insertOutbox({
        clientMessageId: "cm-1",
        recipient: canaries.peer,
        envelope: canaries.envelope,
        createdAt: 1,
      }),
    );
    await store.insertReceived({
      messageId: "r-1",
      sender: canaries.peer,
      contentType: "text/plain",
      body: utf8(canaries.text),
      receivedAt: 2,
    });

    const needles: [string, Uint8Array][] = [
      ["local database key", contents.localStoreKey],
      ...Object.entries(canaries).flatMap(([name, value]): [string, Uint8Array][] => {
        const bytes = typeof value === "string" ? utf8(value) : value;
        const base64 = utf8(Buffer.from(bytes).toString("base64"));
        return [
          [name, bytes],
          [`${name} (base64)`, base64],
          [`${name} (hex)`, utf8(Buffer.from(bytes).toString("hex"))],
        ];
      }),
    ];
    const scan = async (when: string) => {
      const files = await readdir(home);
      assert.ok(files.includes("local.db") && files.includes("keystore"), files.join());
      for (const file of files) {
        const haystack = await readFile(join(home, file));
        for (const [name, needle] of needles) {
          assert.equal(haystack.indexOf(needle), -1, `${when}: ${name} found in ${file}`);
        }
      }
    };
    await scan("with the WAL live");
    await store.close();
    await scan("after checkpoint and close");
    // Control: the scan reads real bytes (the schema is plaintext by design).
    assert.notEqual((await readFile(join(home, "local.db"))).indexOf("CREATE TABLE contacts"), -1);
  }));

test("db, -wal and -shm are all 0600", () =>
  withStore(async (store, path) => {
    await store.putContact(contact("alice"));
    for (const suffix of ["", "-wal", "-shm"]) {
      assert.equal((await stat(`${path}${suffix}`)).mode & 0o777, 0o600, `local.db${suffix}`);
    }
  }));

test("swapping, moving or editing sealed rows is detected as local_record_tampered", () =>
  withStore(async (store, path) => {
    await store.putContact(contact("alice"));
    await store.putContact(contact("bob"));
    await store.read((t) =>
      t.insertOutbox({ clientMessageId: "a", recipient: "alice", envelope: utf8("x"), createdAt: 1 }),
    );
    await store.read((t) =>
      t.insertOutbox({ clientMessageId: "b", recipient: "bob", envelope: utf8("y"), createdAt: 1 }),
    );
    // A second connection plays the attacker with write access to the file.
    const raw = new DatabaseSync(path);
    try {
      const rows = raw.prepare("SELECT handle, record FROM contacts").all() as {
        handle: Uint8Array;
        record: Uint8Array;
      }[];
      const [first, second] = rows;
      raw.prepare("UPDATE contacts SET record = ? WHERE handle = ?").run(second!.record, first!.handle);
      raw.prepare("UPDATE contacts SET record = ? WHERE handle = ?").run(first!.record, second!.handle);
      await assert.rejects(store.getContact("alice"), isTampered);
      await assert.rejects(store.listContacts(), isTampered);

      raw.exec(
        "UPDATE outbox SET record = (SELECT record FROM outbox WHERE client_message_id = 'b') WHERE client_message_id = 'a'",
      );
      await assert.rejects(
        store.read((t) => t.getOutbox("a")),
        isTampered,
      );
      assert.equal((await store.read((t) => t.getOutbox("b")))?.recipient, "bob");

      // A contact row copied into the sessions table under the same handle bytes.
      raw.exec(
        "INSERT INTO sessions (handle, peer, updated_at, record) SELECT handle, handle, 1, record FROM contacts",
      );
      // The peer column is the contacts blind index, so getSessions finds the copied row.
      await assert.rejects(store.getSessions("alice"), isTampered);

      const bob = raw.prepare("SELECT record FROM outbox WHERE client_message_id = 'b'").get() as {
        record: Uint8Array;
      };
      const flipped = new Uint8Array(bob.record);
      flipped[flipped.length - 1]! ^= 1;
      raw.prepare("UPDATE outbox SET record = ? WHERE client_message_id = 'b'").run(flipped);
      await assert.rejects(
        store.read((t) => t.getOutbox("b")),
        isTampered,
      );
    } finally {
      raw.close();
    }
  }));

test("a long body is sealed as bytes in its own column; clearing, moving or adding one is local_record_tampered", () =>
  withStore(async (store, path) => {
    const long = (fill: number) => new Uint8Array(BODY_APART_BYTES + 1000).fill(fill);
    const message = (messageId: string, body: Uint8Array) => ({
      messageId,
      sender: "bob",
      contentType: "text",
      body,
      receivedAt: 1,
    });
    await store.read((t) => t.insertReceived(message("long-1", long(0x61))));
    await store.read((t) => t.insertReceived(message("long-2", long(0x62))));
    await store.read((t) => t.insertReceived(message("short", utf8("hello"))));
    await store.read((t) =>
      t.insertSent({
        clientMessageId: "s-long",
        recipient: "bob",
        contentType: "text",
        body: long(0x63),
        sentAt: 2,
        contentId: "00",
        suite: SUITE_IDS.hybrid,
      }),
    );
    const raw = new DatabaseSync(path);
    try {
      const rows = raw.prepare("SELECT seq, record, body FROM received ORDER BY seq").all() as {
        seq: number;
        record: Uint8Array;
        body: Uint8Array | null;
      }[];
      const sentRow = raw.prepare("SELECT record, body FROM sent").get() as {
        record: Uint8Array;
        body: Uint8Array | null;
      };
      // The body is not in the record (no base64 of it), and its column is the bytes plus nonce and tag.
      for (const row of [rows[0]!, rows[1]!, sentRow]) {
        assert.ok(row.record.length < 1000, `record of ${row.record.length} bytes`);
        assert.equal(row.body?.length, BODY_APART_BYTES + 1000 + 28);
      }
      assert.equal(rows[2]!.body, null, "a short body stays in its record");
      assert.deepEqual(
        (await store.read((t) => t.listReceived())).map((m) => m.body),
        [long(0x61), long(0x62), utf8("hello")],
      );
      assert.deepEqual((await store.read((t) => t.history({ limit: 10 })))[3]?.message.body, long(0x63));

      const update = raw.prepare("UPDATE received SET body = ? WHERE seq = ?");
      update.run(rows[1]!.body, rows[0]!.seq);
      await assert.rejects(
        store.read((t) => t.listReceived()),
        isTampered,
        "another row's body",
      );
      update.run(null, rows[0]!.seq);
      await assert.rejects(
        store.read((t) => t.listReceived()),
        isTampered,
        "a cleared body column does not read as an empty message",
      );
      update.run(rows[0]!.body, rows[0]!.seq);
      update.run(rows[0]!.body, rows[2]!.seq);
      await assert.rejects(
        store.read((t) => t.listReceived()),
        isTampered,
        "a body on a row whose record holds its own",
      );
      update.run(null, rows[2]!.seq);
      raw.prepare("UPDATE sent SET body = ?").run(rows[0]!.body);
      await assert.rejects(
        store.read((t) => t.history({ limit: 10 })),
        isTampered,
        "a received body in a sent row (the table is in the seal)",
      );
      raw.prepare("UPDATE sent SET body = ?").run(sentRow.body);
      assert.equal((await store.read((t) => t.listReceived())).length, 3, "restored, all reads again");
    } finally {
      raw.close();
    }
  }));

test("bodies of BODY_APART_BYTES -1, 0 and +1 (and empty) round-trip; an empty or truncated body column is local_record_tampered", () =>
  withStore(async (store, path) => {
    const lengths = [0, BODY_APART_BYTES - 1, BODY_APART_BYTES, BODY_APART_BYTES + 1];
    const bodyOf = (length: number) => new Uint8Array(length).fill(0x41 + (length % 26));
    for (const length of lengths) {
      await store.read((t) =>
        t.insertReceived({
          messageId: `in-${length}`,
          sender: "bob",
          contentType: "text",
          body: bodyOf(length),
          receivedAt: length,
        }),
      );
      await store.read((t) =>
        t.insertSent({
          clientMessageId: `out-${length}`,
          recipient: "bob",
          contentType: "text",
          body: bodyOf(length),
          sentAt: length,
          contentId: "00",
          suite: SUITE_IDS.hybrid,
        }),
      );
    }
    const raw = new DatabaseSync(path);
    try {
      // Exactly at BODY_APART_BYTES the body leaves the record; one byte less stays in it.
      const apart = (table: string) =>
        (raw.prepare(`SELECT body FROM ${table} ORDER BY at`).all() as { body: Uint8Array | null }[]).map(
          (row) => row.body !== null,
        );
      assert.deepEqual(apart("received"), [false, false, true, true]);
      assert.deepEqual(apart("sent"), [false, false, true, true]);
      assert.deepEqual(
        (await store.read((t) => t.listReceived())).map((m) => m.body),
        lengths.map(bodyOf),
      );
      assert.deepEqual(
        (await store.read((t) => t.history({ limit: 20 })))
          .filter((entry) => entry.direction === "out")
          .map((entry) => entry.message.body.length)
          .sort((a, b) => a - b),
        lengths,
      );
      const sealed = (
        raw.prepare("SELECT body FROM received WHERE body IS NOT NULL ORDER BY at LIMIT 1").get() as {
          body: Uint8Array;
        }
      ).body;
      const update = raw.prepare("UPDATE received SET body = ? WHERE body IS NOT NULL AND at = ?");
      for (const [bytes, why] of [
        [new Uint8Array(0), "an empty (not NULL) column is not an empty message"],
        [sealed.subarray(0, sealed.length - 1), "one byte short"],
        [sealed.subarray(0, 27), "shorter than nonce and tag"],
      ] as const) {
        update.run(bytes, BODY_APART_BYTES);
        await assert.rejects(
          store.read((t) => t.listReceived()),
          isTampered,
          why,
        );
      }
      update.run(sealed, BODY_APART_BYTES);
      assert.equal((await store.read((t) => t.listReceived())).length, lengths.length, "restored");
    } finally {
      raw.close();
    }
  }));

test("opening with another database key is refused, not read as garbage", () =>
  withStore(async (store, path) => {
    await store.putContact(contact("alice"));
    await store.close();
    await assert.rejects(LocalStore.open(path, randomBytes(32)), isTampered);
  }));

test("schema: migrations run once, in order; a newer database is refused", () =>
  withTempDir(async (dir) => {
    const db = new DatabaseSync(join(dir, "m.db"));
    try {
      assert.equal(migrate(db), SCHEMA_VERSION);
      assert.equal(migrate(db), 0);
      assert.equal(schemaVersion(db), MIGRATIONS.length);
      const next = [...MIGRATIONS, "ALTER TABLE contacts ADD COLUMN note TEXT;"];
      db.exec("INSERT INTO contacts (handle, record) VALUES (x'01', x'02')");
      assert.equal(migrate(db, next), 1);
      assert.deepEqual(
        { ...(db.prepare("SELECT handle, note FROM contacts").get() as object) },
        { handle: Uint8Array.of(1), note: null },
      );
      const broken = [...next, "CREATE TABLE ok (x); THIS IS NOT SQL;"];
      assert.throws(() => migrate(db, broken));
      assert.equal(schemaVersion(db), next.length, "a failed migration leaves the previous version");
      db.exec("PRAGMA user_version = 99");
      assert.throws(
        () => migrate(db),
        (error: unknown) => NanoError.is(error, "local_store_version_unsupported"),
      );
    } finally {
      db.close();
    }
    const path = join(dir, "newer.db");
    const newer = new DatabaseSync(path);
    newer.exec("PRAGMA user_version = 99");
    newer.close();
    const { chmod } = await import("node:fs/promises");
    await chmod(path, 0o600);
    await assert.rejects(LocalStore.open(path, randomBytes(32)), (error: unknown) =>
      NanoError.is(error, "local_store_version_unsupported"),
    );
  }));

test("a database file readable by others is refused", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path, "", { mode: 0o644 });
    await assert.rejects(LocalStore.open(path, randomBytes(32)), (error: unknown) =>
      NanoError.is(error, "insecure_permissions"),
    );
  }));

test("deletes, session order, prekey listing and received-log paging", () =>
  withStore(async (store, path) => {
    await store.putContact(contact("alice"));
    assert.equal(await store.read((t) => t.deleteContact("alice")), true);
    assert.equal(await store.read((t) => t.deleteContact("alice")), false);
    const sessionId = randomBytes(16);
    await store.putSession({ sessionId, peer: "bob", state: randomBytes(8), updatedAt: 1, archived: false });
    await store.putSession({
      sessionId: randomBytes(16),
      peer: "bob",
      state: randomBytes(8),
      updatedAt: 2,
      archived: true,
    });
    assert.deepEqual(
      (await store.getSessions("bob")).map((s) => s.updatedAt),
      [2, 1],
      "most recently updated first",
    );
    // Editing the clear updated_at column does not change which session comes first.
    const raw = new DatabaseSync(path);
    raw.exec("UPDATE sessions SET updated_at = 1000 - updated_at");
    raw.close();
    assert.deepEqual(
      (await store.getSessions("bob")).map((s) => s.updatedAt),
      [2, 1],
    );
    assert.equal(await store.read((t) => t.deleteSession(sessionId)), true);
    assert.equal((await store.getSessions("bob")).length, 1);
    for (const id of [randomBytes(8), randomBytes(8)]) {
      await store.putPrekeySecret({
        id,
        suite: 2,
        role: "one-time",
        secret: randomBytes(32),
        createdAt: 0,
        expiresAt: 1,
        lastResort: false,
      });
    }
    assert.equal((await store.read((t) => t.listPrekeySecrets())).length, 2);
    for (let i = 0; i < 5; i += 1) {
      await store.insertReceived({
        messageId: `m${i}`,
        sender: "bob",
        contentType: "text/plain",
        body: utf8(`${i}`),
        receivedAt: i,
      });
    }
    const firstPage = await store.listReceived(0, 2);
    assert.deepEqual(
      firstPage.map((m) => m.messageId),
      ["m0", "m1"],
    );
    const rest = await store.listReceived(firstPage.at(-1)!.seq, 10);
    assert.deepEqual(
      rest.map((m) => m.messageId),
      ["m2", "m3", "m4"],
    );
  }));
