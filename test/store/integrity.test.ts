import assert from "node:assert/strict";
import { closeSync, openSync, readSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { describe, it } from "node:test";
import { NanoError } from "../../src/errors/index.ts";
import { checkStore } from "../../src/store/sqlite/integrity.ts";
import { openCheckedStore, storeFailure } from "../../src/store/sqlite/open-checked.ts";
import { filledStore } from "./_filled-store.ts";

/**
 * The relay database's integrity check against the damage the outside review found: flipped bytes,
 * a truncated or empty file, garbage, and index damage that hides messages while every query
 * succeeds. Each damaged file must be refused by the start path with `store_damaged`, never opened.
 */
/**
 * Index damage as a failing disk or a buggy tool leaves it: rows written while SQLite did not know
 * the index, so the index misses them. Done through SQLite's writable_schema, the documented way to
 * edit the schema table by hand.
 */
function hideRowsFromIndex(path: string, rows: number): void {
  let db = new DatabaseSync(path);
  const index = db
    .prepare(
      "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema WHERE name = 'messages_by_recipient'",
    )
    .get() as Record<string, string | number>;
  db.enableDefensive(false);
  db.exec("PRAGMA writable_schema = ON");
  db.prepare("DELETE FROM sqlite_schema WHERE name = 'messages_by_recipient'").run();
  db.close();
  db = new DatabaseSync(path);
  for (let i = 0; i < rows; i++)
    db.prepare(
      "INSERT INTO messages (recipient, sender, envelope, size, created_at, expires_at) VALUES ('bob', 'mallory', x'00', 1, 0, 9e15)",
    ).run();
  db.prepare(
    "UPDATE mailbox_usage SET messages = messages + ?, bytes = bytes + ? WHERE recipient = 'bob'",
  ).run(rows, rows);
  db.enableDefensive(false);
  db.exec("PRAGMA writable_schema = ON");
  db.prepare("INSERT INTO sqlite_schema (type, name, tbl_name, rootpage, sql) VALUES (?, ?, ?, ?, ?)").run(
    index.type!,
    index.name!,
    index.tbl_name!,
    index.rootpage!,
    index.sql!,
  );
  db.close();
}

function open(path: string): DatabaseSync {
  return new DatabaseSync(path);
}

describe("relay database integrity", () => {
  it("a healthy database passes both forms and counts its mailboxes", async () => {
    const path = await filledStore();
    const db = open(path);
    for (const mode of ["quick", "full"] as const) {
      const report = checkStore(db, mode);
      assert.deepEqual(report.problems, []);
      assert.equal(report.messages, 40);
      assert.equal(report.mailboxes, 2);
      assert.ok((report.schemaVersion ?? 0) >= 6);
    }
    db.close();
    const store = openCheckedStore({ path });
    await store.close();
  });

  it("index damage that hides messages is found by the quick check (start) and named by the full one", async () => {
    const path = await filledStore();
    hideRowsFromIndex(path, 3);
    // What the damage does: the mailbox read goes through the index and misses the rows.
    const db = open(path);
    const reachable = db
      .prepare("SELECT count(*) AS n FROM messages WHERE recipient = 'bob' AND id > 0")
      .get() as {
      n: number;
    };
    assert.equal(reachable.n, 20, "the index hides the three rows from delivery");
    const quick = checkStore(db, "quick");
    assert.equal(quick.ok, false);
    assert.match(quick.problems[0]!.message, /wrong # of entries in index messages_by_recipient/);
    const full = checkStore(db, "full");
    assert.ok(
      full.problems.filter((p) => /missing from index messages_by_recipient/.test(p.message)).length >= 3,
    );
    db.close();
    assert.throws(
      () => openCheckedStore({ path }),
      (error: unknown) => NanoError.is(error, "store_damaged") && /messages_by_recipient/.test(error.message),
    );
  });

  it("a mailbox count that disagrees with the messages is a problem, per mailbox in the full form", async () => {
    const path = await filledStore();
    const db = open(path);
    db.prepare("UPDATE mailbox_usage SET messages = messages + 5 WHERE recipient = 'carol'").run();
    const quick = checkStore(db, "quick");
    assert.equal(quick.ok, false);
    assert.match(quick.problems[0]!.message, /mailbox usage says 45 messages/);
    const full = checkStore(db, "full");
    assert.ok(full.problems.some((p) => p.message === "mailbox carol: usage counts 25, it holds 20"));
    db.close();
  });

  it("flipped bytes inside a page, a truncated file, an empty file and garbage are refused as store_damaged", async () => {
    const damages: Record<string, (path: string) => void> = {
      "flipped bytes": (path) => {
        // Overwrite the middle of the messages table's pages (never the header: that is "garbage").
        const fd = openSync(path, "r+");
        const size = statSync(path).size;
        const page = Buffer.alloc(4096);
        readSync(fd, page, 0, 4096, Math.floor(size / 2 / 4096) * 4096);
        writeSync(fd, Buffer.alloc(2048, 0xa5), 0, 2048, Math.floor(size / 2 / 4096) * 4096 + 8);
        closeSync(fd);
      },
      truncated: (path) => truncateSync(path, Math.floor(statSync(path).size / 2)),
      empty: (path) => truncateSync(path, 0),
      garbage: (path) => writeFileSync(path, Buffer.alloc(8192, 0x42)),
    };
    for (const [name, damage] of Object.entries(damages)) {
      const path = await filledStore(120);
      damage(path);
      assert.throws(
        () => openCheckedStore({ path }),
        (error: unknown) => NanoError.is(error, "store_damaged"),
        `${name} must be refused`,
      );
    }
  });

  it("SQLite failures map to typed errors by what they say about the disk", () => {
    const sqlite = (errcode: number) =>
      Object.assign(new Error("x"), { code: "ERR_SQLITE_ERROR", errcode, errstr: "x" });
    assert.equal(storeFailure(sqlite(11), "db")?.code, "store_damaged");
    assert.equal(storeFailure(sqlite(26), "db")?.code, "store_damaged");
    assert.match(storeFailure(sqlite(13), "db")?.message ?? "", /no space left on device/);
    assert.equal(storeFailure(sqlite(13), "db")?.code, "store_unavailable");
    assert.equal(storeFailure(sqlite(10 | (3 << 8)), "db")?.code, "store_unavailable");
    assert.equal(storeFailure(sqlite(19), "db"), null, "a constraint is not a disk problem");
    assert.equal(storeFailure(new TypeError("bug"), "db"), null);
  });
});
