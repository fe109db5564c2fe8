import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { LocalStore } from "../../src/client/local-store/local-store.ts";
import { decodeRecord, encodeRecord } from "../../src/client/local-store/node-record-codec.ts";
import { deriveLocalKeys, openRow, sealRow } from "../../src/client/local-store/record-seal.ts";
import { randomBytes, SUITE_IDS, toHex, utf8 } from "../../src/crypto/index.ts";
import { withTempDir } from "./_helpers.ts";

/**
 * Local schema migration 6 (docs/client.md "Long message bodies") on a home written before it: long
 * texts sealed inside their records (base64 in JSON), no `body` column. The migration only adds the
 * column; such rows must read as they did (their records name no body apart), and a process killed
 * while it migrates leaves version 5 or 6, never a half: the next open finishes it and reads everything.
 */

const OPENER = new URL("./fixtures/store-opener.ts", import.meta.url).pathname;
const LONG = 100 * 1024;
const longText = (fill: string) => utf8(fill.repeat(LONG));

/** A version-5 home holding a long received and a long sent text inside their records, as then. */
async function homeBeforeMigration6(path: string, key: Uint8Array): Promise<void> {
  const store = await LocalStore.open(path, key);
  await store.transaction((tables) => {
    tables.insertReceived({
      messageId: "in",
      sender: "bob",
      contentType: "text",
      body: longText("r"),
      receivedAt: 1,
    });
    tables.insertReceived({
      messageId: "short",
      sender: "bob",
      contentType: "text",
      body: utf8("hi"),
      receivedAt: 2,
    });
    tables.insertSent({
      clientMessageId: "out",
      recipient: "bob",
      contentType: "text",
      body: longText("s"),
      sentAt: 3,
      contentId: "00",
      suite: SUITE_IDS.hybrid,
    });
  });
  await store.close();
  const keys = deriveLocalKeys(Uint8Array.from(key));
  const db = new DatabaseSync(path);
  try {
    for (const table of ["received", "sent"] as const) {
      const keyColumn = table === "received" ? "handle" : "client_message_id";
      const rows = db
        .prepare(`SELECT ${keyColumn} AS k, record, body FROM ${table} WHERE body IS NOT NULL`)
        .all();
      assert.equal(rows.length, 1);
      for (const row of rows) {
        const rowKey = table === "received" ? (row.k as Uint8Array) : utf8(String(row.k));
        const { bodyApart, ...message } = decodeRecord(
          table,
          openRow(keys, table, rowKey, row.record as Uint8Array),
        );
        assert.equal(bodyApart, true);
        const body = openRow(keys, `${table}-body`, rowKey, row.body as Uint8Array);
        const inline = sealRow(keys, table, rowKey, encodeRecord(table, { ...message, body }));
        db.prepare(`UPDATE ${table} SET record = ?, body = NULL WHERE ${keyColumn} = ?`).run(
          inline,
          row.k as Uint8Array,
        );
      }
      db.exec(`ALTER TABLE ${table} DROP COLUMN body`);
    }
    db.exec("PRAGMA user_version = 5; VACUUM;");
  } finally {
    db.close();
  }
}

function versionAndColumns(path: string): { version: number; columns: number } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
    const columns = (
      db.prepare("SELECT COUNT(*) AS n FROM pragma_table_info('received') WHERE name = 'body'").get() as {
        n: number;
      }
    ).n;
    return { version, columns: Number(columns) };
  } finally {
    db.close();
  }
}

async function assertReadsAll(path: string, key: Uint8Array): Promise<void> {
  const store = await LocalStore.open(path, key);
  try {
    const received = await store.read((tables) => tables.listReceived());
    assert.deepEqual(
      received.map((m) => [m.messageId, m.body]),
      [
        ["in", longText("r")],
        ["short", utf8("hi")],
      ],
    );
    const out = (await store.read((tables) => tables.history({ limit: 10 }))).find(
      (e) => e.direction === "out",
    );
    assert.deepEqual(out?.message.body, longText("s"));
  } finally {
    await store.close();
  }
}

test("a home from before migration 6 with long texts inside their records upgrades and reads them", () =>
  withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    await homeBeforeMigration6(path, key);
    assert.deepEqual(versionAndColumns(path), { version: 5, columns: 0 });
    await assertReadsAll(path, key);
    assert.deepEqual(versionAndColumns(path), { version: 6, columns: 1 });
  }));

test("SIGKILL while a version-5 home opens and migrates, 8 times: version 5 or 6 whole, and it then reads everything", () =>
  withTempDir(async (dir) => {
    const original = join(dir, "v5.db");
    const key = randomBytes(32);
    await homeBeforeMigration6(original, key);
    const path = join(dir, "local.db");
    const run = async (killAfterMs: number | null): Promise<number> => {
      for (const suffix of ["", "-wal", "-shm", ".anchor"]) await rm(`${path}${suffix}`, { force: true });
      await copyFile(original, path);
      await copyFile(`${original}.anchor`, `${path}.anchor`);
      const started = performance.now();
      const child = spawn(process.execPath, [OPENER, path, toHex(key)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let opened = 0;
      child.stdout.on("data", () => {
        if (opened === 0) opened = performance.now() - started;
      });
      const timer = killAfterMs === null ? null : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      await new Promise((resolve) => child.once("exit", resolve));
      if (timer !== null) clearTimeout(timer);
      return opened;
    };
    // How long the child takes to have opened (migrated): the kills land across that span.
    const span = await run(null);
    assert.ok(span > 0, "the child opened the store");
    const seen = new Set<number>();
    for (let iteration = 0; iteration < 8; iteration += 1) {
      await run(((iteration + Math.random()) / 8) * span * 1.1);
      const state = versionAndColumns(path);
      assert.equal(
        state.columns,
        state.version === 6 ? 1 : 0,
        `version ${state.version} with ${state.columns} body columns`,
      );
      assert.ok(state.version === 5 || state.version === 6);
      seen.add(state.version);
      await assertReadsAll(path, key);
    }
    assert.ok(seen.has(5), "some kill landed before the migration committed (the test can fail)");
  }));
