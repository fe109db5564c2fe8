import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, it } from "node:test";
import { stringify } from "smol-toml";
import { tempDir, testConfig } from "./fixtures/harness.ts";
import { testEnvelope } from "./fixtures/identities.ts";
import { http, RelayProcess, signUpOver } from "./fixtures/processes.ts";

/**
 * Recovery with the real commands (docs/relay.md "Checking and recovering"): `nano-relay start` on a
 * damaged database refuses with exit 65 and a message (never a stack trace a supervisor would loop
 * on), `nano-relay check` names the damage, `nano-relay backup` copies a relay that is being written
 * to, and `nano-relay restore` puts the copy back without ever reusing a message id.
 */
const BIN = new URL("../../bin/nano-relay.js", import.meta.url).pathname;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

function relayDir(): { dir: string; config: string; database: string } {
  const dir = tempDir("recovery");
  const config = join(dir, "relay.toml");
  writeFileSync(config, stringify(testConfig({}, dir) as unknown as Record<string, unknown>));
  return { dir, config, database: join(dir, "relay.sqlite") };
}

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
}

/** A relay process on `dir` with two accounts and `count` messages to bob; stopped before returning. */
async function relayWithMessages(dir: string, count: number): Promise<void> {
  const relay = new RelayProcess(testConfig({}, dir), dir);
  await relay.start();
  try {
    const alice = await signUpOver(relay.url, "alice");
    await signUpOver(relay.url, "bob");
    for (let i = 0; i < count; i++) {
      const sent = await http(
        relay.url,
        "POST",
        "/v1/messages",
        { to: "bob", client_message_id: `m-${i}`, envelope: b64(testEnvelope(`message ${i}`)) },
        alice.token,
      );
      assert.equal(sent.status, 201);
    }
  } finally {
    await relay.stop();
  }
}

function assertRefusedCleanly(result: ReturnType<typeof run>, pattern: RegExp): void {
  assert.equal(result.status, 65, `exit 65 (EX_DATAERR), got ${result.status}: ${result.stderr}`);
  assert.match(result.stderr, /^nano-relay: /);
  assert.match(result.stderr, pattern);
  assert.match(result.stderr, /hint: run nano-relay check/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

describe("nano-relay check, backup and restore", () => {
  it("start refuses a damaged, truncated or empty database with exit 65 on every restart; check names it", async () => {
    const { dir, config, database } = relayDir();
    await relayWithMessages(dir, 30);
    const healthy = run(["check", "--config", config]);
    assert.equal(healthy.status, 0, healthy.stderr + healthy.stdout);
    assert.match(healthy.stdout, /mailboxes\s+ok: 30 message\(s\) in 1 mailbox/);
    assert.match(healthy.stdout, /audit log\s+ok: \d+ entries/);
    assert.match(healthy.stdout, /\nok\n$/);

    truncateSync(database, Math.floor(statSync(database).size / 2));
    // A supervisor restarting it gets the same clear refusal each time.
    for (let attempt = 0; attempt < 2; attempt++)
      assertRefusedCleanly(run(["start", "--config", config]), /failed its integrity check|is damaged/);
    const checked = run(["check", "--config", config, "--json"]);
    assert.equal(checked.status, 65);
    const report = JSON.parse(checked.stdout) as { ok: boolean; problems: { check: string }[] };
    assert.equal(report.ok, false);
    assert.equal(report.problems[0]!.check, "sqlite");

    truncateSync(database, 0);
    assertRefusedCleanly(run(["start", "--config", config]), /is empty \(0 bytes\)/);
    assert.equal(statSync(database).size, 0, "the refused start wrote nothing");
  });

  it("index damage that hides messages: start refuses, check says which messages are unreachable", async () => {
    const { dir, config, database } = relayDir();
    await relayWithMessages(dir, 10);
    // The mailbox index loses track of rows (as test/store/integrity.test.ts does it, via writable_schema).
    let db = new DatabaseSync(database);
    const index = db
      .prepare(
        "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema WHERE name = 'messages_by_recipient'",
      )
      .get() as Record<string, string | number>;
    db.enableDefensive(false);
    db.exec("PRAGMA writable_schema = ON");
    db.prepare("DELETE FROM sqlite_schema WHERE name = 'messages_by_recipient'").run();
    db.close();
    db = new DatabaseSync(database);
    db.prepare(
      "INSERT INTO messages (recipient, sender, envelope, size, created_at, expires_at) VALUES ('bob', 'alice', x'00', 1, 0, 9e15)",
    ).run();
    db.prepare(
      "UPDATE mailbox_usage SET messages = messages + 1, bytes = bytes + 1 WHERE recipient = 'bob'",
    ).run();
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
    assertRefusedCleanly(run(["start", "--config", config]), /messages_by_recipient/);
    const checked = run(["check", "--config", config]);
    assert.equal(checked.status, 65);
    assert.match(checked.stdout, /missing from index messages_by_recipient/);
    assert.match(checked.stderr, /nano-relay restore --input FILE/);
  });

  it("check finds an attachment whose blob is gone, and a log whose entry was edited", async () => {
    const { dir, config, database } = relayDir();
    await relayWithMessages(dir, 2);
    const db = new DatabaseSync(database);
    db.prepare(
      "INSERT INTO attachments (hash, owner, size, created_at, expires_at) VALUES (?, 'alice', 10, 0, 9e15)",
    ).run("ab".repeat(64));
    db.prepare("UPDATE merkle_log_entries SET data = x'00' WHERE log_id = 'audit' AND idx = 1").run();
    db.close();
    const checked = run(["check", "--config", config]);
    assert.equal(checked.status, 65, checked.stdout);
    assert.match(checked.stdout, /problem: attachments: blob abababababababab\.\.\. is missing/);
    assert.match(checked.stdout, /problem: audit log: first bad entry 1/);
    assert.match(
      run(["check", "--config", config, "--quick"]).stdout,
      /\nok\n$/,
      "the quick form skips the logs",
    );
  });

  it("backup copies a relay that is being written to; restore puts it back and never reuses a message id", async () => {
    const { dir, config } = relayDir();
    const relay = new RelayProcess(testConfig({}, dir), dir);
    await relay.start();
    const backupFile = join(dir, "backup.sqlite");
    let acknowledgedBefore: number[] = [];
    let highestId = 0;
    try {
      const alice = await signUpOver(relay.url, "alice");
      await signUpOver(relay.url, "bob");
      let sent = 0;
      const send = async () => {
        const answer = await http(
          relay.url,
          "POST",
          "/v1/messages",
          { to: "bob", client_message_id: `w-${sent}`, envelope: b64(testEnvelope(`w ${sent++}`)) },
          alice.token,
        );
        assert.equal(answer.status, 201);
        highestId = Math.max(highestId, Number(answer.json.server_id));
        return Number(answer.json.server_id);
      };
      for (let i = 0; i < 20; i++) acknowledgedBefore.push(await send());
      // Writes keep going while the backup runs (a bounded loop that stops by itself).
      let writing = true;
      const writer = (async () => {
        for (let i = 0; i < 400 && writing; i++) await send();
      })();
      const backup = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [
          BIN,
          "backup",
          "--config",
          config,
          "--output",
          backupFile,
          "--json",
        ]);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
        });
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.on("exit", (code) => resolve({ code, stdout, stderr }));
      });
      writing = false;
      await writer;
      assert.equal(backup.code, 0, backup.stderr);
      assert.equal(statSync(backupFile).mode & 0o777, 0o600);
      assert.ok(sent > 20, "messages were written around the backup");
      const refused = run(["restore", "--config", config, "--input", backupFile]);
      assert.equal(refused.status, 74, "restore refuses while the relay has the database open");
      assert.match(refused.stderr, /is in use\nhint: stop the relay first/);
      const again = run(["backup", "--config", config, "--output", backupFile]);
      assert.equal(again.status, 73, "an existing backup is not overwritten without --force");
    } finally {
      await relay.stop();
    }
    // The copy is consistent: it passes the full check (mailbox counts equal the rows, logs verify)
    // and holds every message acknowledged before the backup started.
    const copy = new DatabaseSync(backupFile);
    const ids = new Set(
      (copy.prepare("SELECT id FROM messages").all() as { id: number }[]).map((row) => Number(row.id)),
    );
    copy.close();
    for (const id of acknowledgedBefore) assert.ok(ids.has(id), `message ${id} is in the backup`);
    acknowledgedBefore = [];

    const restored = run(["restore", "--config", config, "--input", backupFile, "--json"]);
    assert.equal(restored.status, 0, restored.stderr);
    const result = JSON.parse(restored.stdout) as { previous: string; message_ids_from: number };
    assert.ok(existsSync(join(result.previous, "relay.sqlite")), "the replaced database is kept");
    assert.ok(readdirSync(dir).some((name) => name.startsWith("relay.sqlite.before-restore-")));
    assert.equal(result.message_ids_from, highestId, "ids continue above the replaced database's");
    assert.equal(run(["check", "--config", config]).status, 0);

    // The restored relay serves, and its next message id is above every id ever issued.
    const again = new RelayProcess(testConfig({}, dir), dir);
    await again.start();
    try {
      const carol = await signUpOver(again.url, "carol");
      const answer = await http(
        again.url,
        "POST",
        "/v1/messages",
        { to: "bob", client_message_id: "after-restore", envelope: b64(testEnvelope("after")) },
        carol.token,
      );
      assert.equal(answer.status, 201);
      assert.ok(Number(answer.json.server_id) > highestId, "no id is handed out twice");
    } finally {
      await again.stop();
    }
  });

  it("check, backup and restore refuse a PostgreSQL-backed configuration and name the right tools", () => {
    const dir = tempDir("recovery-pg");
    const config = join(dir, "relay.toml");
    const settings = testConfig(
      { storage: { backend: "postgres", postgres_url: "postgres://postgres@127.0.0.1:5432/test" } },
      dir,
    );
    writeFileSync(config, stringify(settings as unknown as Record<string, unknown>));
    for (const args of [["check"], ["backup", "--output", join(dir, "b")], ["restore", "--input", config]]) {
      const result = run([...args, "--config", config]);
      assert.equal(result.status, 64, result.stderr);
      assert.match(
        result.stderr,
        /works on the SQLite database; this configuration uses storage\.backend = "postgres"/,
      );
      assert.match(result.stderr, /hint: use PostgreSQL's own tools/);
    }
  });

  it("restore refuses a file that is not a relay backup and changes nothing", async () => {
    const { dir, config, database } = relayDir();
    await relayWithMessages(dir, 1);
    const before = statSync(database).mtimeMs;
    const junk = join(dir, "junk.sqlite");
    writeFileSync(junk, Buffer.alloc(4096, 0x41));
    const result = run(["restore", "--config", config, "--input", junk]);
    assert.equal(result.status, 65, result.stderr);
    assert.match(result.stderr, /is not a relay backup|does not verify/);
    assert.equal(statSync(database).mtimeMs, before);
    assert.ok(!readdirSync(dir).some((name) => name.startsWith("relay.sqlite.before-restore-")));
    const missing = run(["restore", "--config", config, "--input", join(dir, "nope.sqlite")]);
    assert.equal(missing.status, 66);
    rmSync(junk);
  });
});
