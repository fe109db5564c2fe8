import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import type { LocalStore, PrekeySecretRecord } from "../../src/client/local-store/local-store.ts";
import { prekeyRowId } from "../../src/client/local-store/protocol-stores.ts";
import { randomBytes, SUITE_IDS } from "../../src/crypto/index.ts";
import { withLocalStore } from "./_helpers.ts";

/**
 * Finding 8 of the protocol audit (docs/client.md "Local store sealing"): the local database runs in
 * WAL mode with secure_delete, but a deleted row's old bytes stayed in the `-wal` file until the store
 * closed — a used one-time prekey secret, a dropped session. Whoever later holds the database key (a
 * passphrase compromise) could read them back from the WAL, undoing the deletion's forward secrecy. A
 * commit that deletes secrets now checkpoints the WAL into the database and truncates it.
 */
async function sealedPrekeyRows(path: string): Promise<Uint8Array[]> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (db.prepare("SELECT record FROM prekey_secrets").all() as { record: Uint8Array }[]).map((r) =>
      Uint8Array.from(r.record),
    );
  } finally {
    db.close();
  }
}

async function fileIncludes(path: string, needle: Uint8Array): Promise<boolean> {
  try {
    return (await readFile(path)).includes(Buffer.from(needle));
  } catch {
    return false;
  }
}

function prekey(id: number): PrekeySecretRecord {
  return {
    id: prekeyRowId(SUITE_IDS.hybrid, id),
    suite: SUITE_IDS.hybrid,
    role: "3",
    secret: randomBytes(1300),
    createdAt: 1,
    expiresAt: 2 ** 40,
    lastResort: false,
  };
}

async function deleteAndCheck(store: LocalStore, path: string, remove: (id: Uint8Array) => Promise<void>) {
  const row = prekey(7);
  await store.transaction((tables) => tables.putPrekeySecret(row));
  const [sealed] = await sealedPrekeyRows(path);
  assert.ok(sealed !== undefined);
  assert.ok(
    (await fileIncludes(`${path}-wal`, sealed)) || (await fileIncludes(path, sealed)),
    "the sealed secret is on disk",
  );
  await remove(row.id);
  assert.equal(await fileIncludes(`${path}-wal`, sealed), false, "not in the WAL after the deleting commit");
  assert.equal(await fileIncludes(path, sealed), false, "nor in the database file (secure_delete)");
}

test("deleting a prekey secret leaves no copy of its sealed row in the -wal file or the database", () =>
  withLocalStore(async (store, path) => {
    await deleteAndCheck(store, path, (id) =>
      store.transaction((tables) => void tables.deletePrekeySecret(id)),
    );
  }));

test("consuming a one-time secret (the row rewritten without its seed) leaves no copy of the old row", () =>
  withLocalStore(async (store, path) => {
    await deleteAndCheck(store, path, (id) =>
      store.transaction((tables) => {
        const row = tables.getPrekeySecret(id)!;
        tables.putPrekeySecret({ ...row, secret: row.secret.slice(0, 100) });
        tables.secretsDeleted();
      }),
    );
  }));

test("deleting a session leaves no copy of its sealed row in the -wal file", () =>
  withLocalStore(async (store, path) => {
    const sessionId = randomBytes(16);
    await store.transaction((tables) =>
      tables.putSession({ sessionId, peer: "bob", state: randomBytes(2000), updatedAt: 1, archived: false }),
    );
    const db = new DatabaseSync(path, { readOnly: true });
    const rows = db.prepare("SELECT record FROM sessions").all() as { record: Uint8Array }[];
    db.close();
    assert.equal(rows.length, 1);
    const sealed = Uint8Array.from(rows[0]!.record);
    await store.transaction((tables) => void tables.deleteSession(sessionId));
    assert.equal(await fileIncludes(`${path}-wal`, sealed), false);
    assert.equal(await fileIncludes(path, sealed), false);
  }));
