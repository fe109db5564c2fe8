import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFile, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { LocalStore, type SessionRecord } from "../../src/client/local-store/local-store.ts";
import { randomBytes, toHex, utf8 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { withLocalStore, withTempDir } from "./_helpers.ts";

const WRITER = new URL("./fixtures/session-writer.ts", import.meta.url).pathname;

/**
 * Finding 6 of the protocol audit, client half (docs/client.md "Rollback of local state",
 * docs/protocol.md §11.4): a restored backup or a synced home that put an older local database back
 * made the next message reuse a chain position (and, before the protocol half of the fix, a
 * ChaCha20-Poly1305 key and nonce). Every session row carries the local state counter it was written
 * under; the counter is also kept outside the database (the anchor next to it, sealed under the
 * database key). A database older than the anchor, or a session row newer than its database's
 * counter, is refused with `local_state_rolled_back`, which says the local state was restored from an
 * older copy — before any session in it is used.
 */
function session(peer: string, state: string, updatedAt: number): SessionRecord {
  return {
    sessionId: utf8(`contact-sessions:${peer}`),
    peer,
    state: utf8(state),
    updatedAt,
    archived: false,
  };
}

function rolledBack(error: unknown): boolean {
  return (
    NanoError.is(error, "local_state_rolled_back") &&
    /restored from an older copy/.test((error as Error).message)
  );
}

test("a local database put back from an older copy is refused at open, before any session is used", () =>
  withLocalStore(async (store, path, key) => {
    await store.transaction((tables) => tables.putSession(session("bob", "chain position 1", 1)));
    await store.close();
    // The backup: the database as it was after message 1.
    await copyFile(path, `${path}.backup`);
    const reopened = await LocalStore.open(path, key);
    await reopened.transaction((tables) => tables.putSession(session("bob", "chain position 2", 2)));
    await reopened.close();
    await copyFile(path, `${path}.newest`);
    // The restore: the older database file comes back; the anchor beside it does not move back.
    await copyFile(`${path}.backup`, path);
    await assert.rejects(LocalStore.open(path, key), rolledBack);
    // The refusal changed nothing: with the newest copy back, the home opens and has its newest state.
    await copyFile(`${path}.newest`, path);
    const restored = await LocalStore.open(path, key);
    try {
      const [current] = await restored.getSessions("bob");
      assert.equal(new TextDecoder().decode(current?.state), "chain position 2");
    } finally {
      await restored.close();
    }
  }));

test("an emptied local database under a home that has state is refused the same way", () =>
  withLocalStore(async (store, path, key) => {
    await store.transaction((tables) => tables.putSession(session("bob", "some state", 1)));
    await store.close();
    await rm(path);
    await rm(`${path}-wal`, { force: true });
    await rm(`${path}-shm`, { force: true });
    await assert.rejects(LocalStore.open(path, key), rolledBack);
  }));

test("a session row newer than its database's counter (a partial restore) is refused when read", () =>
  withLocalStore(async (store) => {
    await store.transaction((tables) => tables.putSession(session("bob", "v1", 1)));
    const counterBefore = await store.read((tables) => tables.getSecretMeta("state-version"));
    await store.transaction((tables) => tables.putSession(session("bob", "v2", 2)));
    // The counter row alone goes back (what restoring one table of a copy would do).
    await store.transaction((tables) => tables.putSecretMeta("state-version", counterBefore!));
    await assert.rejects(
      store.read((tables) => tables.getSessions("bob")),
      rolledBack,
    );
  }));

test("the counter row's exact older bytes put back under an open store are read afresh, not from memory", () =>
  withLocalStore(async (store, path) => {
    await store.transaction((tables) => tables.putSession(session("bob", "v1", 1)));
    const raw = new DatabaseSync(path);
    try {
      const read = raw.prepare("SELECT record FROM meta WHERE name = 'state-version'");
      const older = (read.get() as { record: Uint8Array }).record;
      await store.transaction((tables) => tables.putSession(session("bob", "v2", 2)));
      assert.equal(await store.read((tables) => tables.stateVersion()), 2);
      // Another process (a sync client) writes the older sealed row back, byte for byte.
      raw.prepare("UPDATE meta SET record = ? WHERE name = 'state-version'").run(older);
      await assert.rejects(
        store.read((tables) => tables.stateVersion()),
        rolledBack,
      );
      await assert.rejects(
        store.read((tables) => tables.getSessions("bob")),
        rolledBack,
      );
    } finally {
      raw.close();
    }
  }));

test("the counter and session rows both put back under an open store are refused, and close does not move the anchor down", () =>
  withLocalStore(async (store, path, key) => {
    await store.transaction((tables) => tables.putSession(session("bob", "chain position 1", 1)));
    const raw = new DatabaseSync(path);
    try {
      // The older copy, consistent in itself: the counter and the session row it stamped.
      const counter = raw.prepare("SELECT record FROM meta WHERE name = 'state-version'");
      const rows = raw.prepare("SELECT handle, record FROM sessions");
      const olderCounter = (counter.get() as { record: Uint8Array }).record;
      const olderSessions = rows.all() as { handle: Uint8Array; record: Uint8Array }[];
      await store.transaction((tables) => tables.putSession(session("bob", "chain position 2", 2)));
      assert.equal(await store.read((tables) => tables.stateVersion()), 2);
      // Another process (a sync client, an attacker with the file) writes the whole older state back.
      raw.prepare("UPDATE meta SET record = ? WHERE name = 'state-version'").run(olderCounter);
      const put = raw.prepare("UPDATE sessions SET record = ? WHERE handle = ?");
      for (const row of olderSessions) put.run(row.record, row.handle);
    } finally {
      raw.close();
    }
    // Every session row is consistent with the counter now: only the store's memory of what it
    // committed (counter 2) can tell that chain position 1 was already used.
    await assert.rejects(
      store.read((tables) => tables.getSessions("bob")),
      rolledBack,
    );
    await assert.rejects(
      store.transaction((tables) => tables.putSession(session("bob", "chain position 2 again", 3))),
      rolledBack,
    );
    // Nor is a counter row deleted outright (the state of a home before its first session write).
    const deleting = new DatabaseSync(path);
    try {
      deleting.prepare("DELETE FROM meta WHERE name = 'state-version'").run();
    } finally {
      deleting.close();
    }
    await assert.rejects(
      store.read((tables) => tables.stateVersion()),
      rolledBack,
    );
    // Closing must not launder the rollback by anchoring the older counter.
    await store.close();
    await assert.rejects(LocalStore.open(path, key), rolledBack);
  }));

test("the counter only rises; an untouched database reopens; the anchor is private and sealed", () =>
  withLocalStore(async (store, path, key) => {
    for (let i = 0; i < 3; i++)
      await store.transaction((tables) => tables.putSession(session("bob", `s${i}`, i)));
    const versions = await store.read((tables) => tables.getSessions("bob").map((s) => s.stateVersion));
    assert.equal(versions.length, 1);
    assert.ok((versions[0] ?? 0) >= 3);
    await store.close();
    const again = await LocalStore.open(path, key);
    assert.equal((await again.getSessions("bob")).length, 1);
    await again.close();
    const anchor = `${path}.anchor`;
    assert.equal((await stat(anchor)).mode & 0o777, 0o600);
    // Sealed: an edited anchor is refused, never trusted (nor silently ignored).
    const bytes = await readFile(anchor);
    bytes[bytes.length - 1]! ^= 1;
    await writeFile(anchor, bytes);
    await assert.rejects(LocalStore.open(path, key), (error: unknown) =>
      NanoError.is(error, "local_record_tampered"),
    );
  }));

test("a copy taken during a run that was then killed (never closed) is refused too", () =>
  withTempDir(async (dir) => {
    // A long-running client (a watching receive, an SDK app) that is SIGKILLed or loses power never
    // reaches close(). The anchor used to move only there, so it stayed where the run began and any
    // copy of local.db taken during the run (a backup or sync tool) was accepted back later.
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    const child = spawn(process.execPath, [WRITER, path, toHex(key), "3", "3", "60000"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const lines: string[] = [];
    let wake = () => {};
    child.stdout.setEncoding("utf8");
    let buffered = "";
    child.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      lines.push(...parts);
      wake();
    });
    const nextLine = async (): Promise<string> => {
      while (lines.length === 0) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        await Promise.race([woken, exited]);
        if (lines.length === 0 && child.exitCode !== null) throw new Error("the writer exited early");
      }
      return lines.shift()!;
    };
    try {
      assert.equal(await nextLine(), "copy");
      // The copy: the database with its WAL, while the writer waits between commits.
      await copyFile(path, `${path}.copy`);
      await copyFile(`${path}-wal`, `${path}-wal.copy`).catch(() => {});
      child.stdin.write("go\n");
      assert.match(await nextLine(), /^anchored \d+$/, "the anchor follows the commits, not only close()");
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    await copyFile(`${path}.copy`, path);
    await rm(`${path}-wal`, { force: true });
    await copyFile(`${path}-wal.copy`, `${path}-wal`).catch(() => {});
    await rm(`${path}-shm`, { force: true });
    await assert.rejects(LocalStore.open(path, key), rolledBack);
  }));
