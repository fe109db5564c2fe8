// Tampering with the relay's SQLite file is found: `nano-relay audit verify` (the real command on the
// edited database) names the first bad index for a changed, deleted, reordered or inserted entry and
// for a log truncated and regrown; a client holding an older checkpoint detects the fork or rollback.
import assert from "node:assert/strict";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { before, describe, it } from "node:test";
import { CheckpointTracker } from "../../src/audit/checkpoint-tracker.ts";
import { KeyTransparencyVerifier } from "../../src/audit/kt-verifier.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";
import { readLogKey } from "../../src/relay/audit-log-key.ts";
import { RelayTransparency, transactionRunner } from "../../src/relay/transparency.ts";
import {
  call,
  claim,
  consistencyFetcher,
  ktTempDir,
  login,
  makeUser,
  pinnedKtKey,
  publishBundle,
  runRelayCli,
  startRelayProcess,
  writeKtConfig,
} from "./_kt-helpers.ts";

/** Extra audit events appended after the relay ran, each followed by a checkpoint (dense evidence). */
const EXTRA = 6;

function openLogs(dir: string): { db: DatabaseSync; logs: RelayTransparency } {
  const db = new DatabaseSync(join(dir, "relay.sqlite"));
  const key = readLogKey(join(dir, "log-key.json"), "relay.test");
  return { db, logs: new RelayTransparency({ db, key, run: transactionRunner(db), now: () => Date.now() }) };
}

function verify(config: string, ...extra: string[]) {
  const result = runRelayCli(["audit", "verify", "--config", config, "--log", "audit", "--json", ...extra]);
  const report = JSON.parse(result.stdout || "{}") as {
    ok: boolean;
    logs: { first_bad_index?: number; fault?: string; exact?: boolean; message?: string }[];
  };
  return {
    status: result.status,
    report,
    log: report.logs?.[0],
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

describe("tampering with the stored logs", () => {
  const base = ktTempDir("tamper-base");
  const baseConfig = writeKtConfig(base);
  let auditSize = 0;
  let heldAuditNote = "";
  let ktState = "";

  before(async () => {
    const relay = await startRelayProcess(baseConfig, base);
    try {
      const pinned = await pinnedKtKey(relay.api);
      const users = await Promise.all(["alice", "bob", "carol"].map(makeUser));
      for (const user of users) {
        assert.equal((await claim(relay.api, user)).status, 201);
        await login(relay.api, user);
        await publishBundle(relay.api, user);
      }
      const client = await KeyTransparencyVerifier.open(nodeProvider, pinned);
      const body = await call(relay.api, "GET", "/v1/prekeys/alice", undefined, users[1]!.token);
      await client.verify(
        "alice",
        users[0]!.record.encoded,
        body.body.transparency,
        consistencyFetcher(relay.api),
      );
      // The relay's on-demand checkpoint covers alice's leaf (index 0); the client asks for the newest.
      const latest = await call(relay.api, "GET", "/v1/transparency/kt/checkpoint");
      const tracker = await CheckpointTracker.open(nodeProvider, pinned, { trusted: client.state()! });
      const held = tracker.current!.checkpoint.size;
      const to = latest.body.tree_size as number;
      await tracker.advance(
        latest.body.checkpoint as string,
        to > held && held > 0 ? await consistencyFetcher(relay.api)(held, to) : [],
      );
      ktState = tracker.current!.note;
      assert.equal(tracker.current!.checkpoint.size, 3);
    } finally {
      assert.equal(await relay.stop(), 0);
    }
    const { db, logs } = openLogs(base);
    for (let i = 0; i < EXTRA; i++) {
      await logs.record({ type: "admin_action", outcome: "success", time: Date.now(), details: { step: i } });
      await logs.checkpoint("audit");
    }
    auditSize = await logs.stores.audit.size();
    heldAuditNote = (await logs.latestCheckpoint("audit"))!.note;
    db.close();
  });

  /** A copy of the base relay (database and key) with its own config. */
  const copy = (name: string) => {
    const dir = ktTempDir(name);
    for (const file of ["relay.sqlite", "relay.sqlite-wal", "log-key.json"])
      if (existsSync(join(base, file))) copyFileSync(join(base, file), join(dir, file));
    return { dir, config: writeKtConfig(dir) };
  };

  const target = () => auditSize - 3;

  it("the untouched log verifies (exit 0)", () => {
    const { config } = copy("tamper-none");
    const result = runRelayCli(["audit", "verify", "--config", config]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /audit: \d+ entries, \d+ checkpoint\(s\): ok/);
    assert.match(result.stdout, /kt: 3 entries/);
  });

  it("a changed entry: exit 65, first bad index named exactly", () => {
    const { dir, config } = copy("tamper-change");
    const db = new DatabaseSync(join(dir, "relay.sqlite"));
    const read = db.prepare("SELECT data FROM merkle_log_entries WHERE log_id = 'audit' AND idx = ?");
    const changed = new Uint8Array(read.get(target())!.data as Uint8Array);
    changed[changed.length - 1]! ^= 1;
    db.prepare("UPDATE merkle_log_entries SET data = ? WHERE log_id = 'audit' AND idx = ?").run(
      changed,
      target(),
    );
    db.close();
    const result = verify(config);
    assert.equal(result.status, 65, result.stdout + result.stderr);
    assert.equal(result.log?.first_bad_index, target());
    assert.equal(result.log?.fault, "leaf_hash_mismatch");
    const human = runRelayCli(["audit", "verify", "--config", config]);
    assert.equal(human.status, 65);
    assert.match(human.stdout, new RegExp(`first bad index ${target()}:`));
    // --from: starting at a checkpoint after the change trusts the prefix; at or before, it is found.
    assert.equal(verify(config, "--from", String(target() + 2)).status, 0);
    assert.equal(verify(config, "--from", String(target())).log?.first_bad_index, target());
  });

  it("a deleted entry", () => {
    const { dir, config } = copy("tamper-delete");
    const db = new DatabaseSync(join(dir, "relay.sqlite"));
    db.prepare("DELETE FROM merkle_log_entries WHERE log_id = 'audit' AND idx = ?").run(target());
    db.close();
    const result = verify(config);
    assert.equal(result.status, 65);
    assert.equal(result.log?.first_bad_index, target());
    assert.equal(result.log?.fault, "entry_missing");
  });

  it("two entries reordered", () => {
    const { dir, config } = copy("tamper-reorder");
    const db = new DatabaseSync(join(dir, "relay.sqlite"));
    const read = db.prepare("SELECT data FROM merkle_log_entries WHERE log_id = 'audit' AND idx = ?");
    const write = db.prepare("UPDATE merkle_log_entries SET data = ? WHERE log_id = 'audit' AND idx = ?");
    const a = read.get(target())!.data as Uint8Array;
    const b = read.get(target() + 1)!.data as Uint8Array;
    write.run(b, target());
    write.run(a, target() + 1);
    db.close();
    const result = verify(config);
    assert.equal(result.status, 65);
    assert.equal(result.log?.first_bad_index, target());
  });

  it("an entry inserted (later ones renumbered)", () => {
    const { dir, config } = copy("tamper-insert");
    const db = new DatabaseSync(join(dir, "relay.sqlite"));
    const rows = db
      .prepare(
        "SELECT idx, data FROM merkle_log_entries WHERE log_id = 'audit' AND idx >= ? ORDER BY idx DESC",
      )
      .all(target());
    const move = db.prepare("UPDATE merkle_log_entries SET idx = ? WHERE log_id = 'audit' AND idx = ?");
    for (const row of rows) move.run(Number(row.idx) + 1, Number(row.idx));
    db.prepare("INSERT INTO merkle_log_entries (log_id, idx, data) VALUES ('audit', ?, ?)").run(
      target(),
      rows.at(-1)!.data as Uint8Array,
    );
    db.prepare("UPDATE merkle_log_head SET tree_size = tree_size + 1 WHERE log_id = 'audit'").run();
    db.close();
    const result = verify(config);
    assert.equal(result.status, 65);
    assert.equal(result.log?.first_bad_index, target() + 1);
  });

  it("a forged checkpoint signature", () => {
    const { dir, config } = copy("tamper-note");
    const db = new DatabaseSync(join(dir, "relay.sqlite"));
    db.prepare(
      "UPDATE merkle_log_checkpoints SET note = replace(note, char(10) || '— ', char(10) || '— x') WHERE log_id = 'audit' AND tree_size = ?",
    ).run(target());
    db.close();
    const result = verify(config);
    assert.equal(result.status, 65);
    assert.match(result.log?.message ?? "", new RegExp(`checkpoint at size ${target()} does not verify`));
  });

  it("truncated and regrown with different entries: first bad index from the checkpoints; an older checkpoint's holder sees the fork", async () => {
    const { dir, config } = copy("tamper-regrow");
    const k = target();
    const db = new DatabaseSync(join(dir, "relay.sqlite"));
    db.prepare("DELETE FROM merkle_log_entries WHERE log_id = 'audit' AND idx >= ?").run(k);
    db.prepare("DELETE FROM merkle_log_personal_data WHERE log_id = 'audit' AND idx >= ?").run(k);
    // Every subtree hash that covers an index >= k.
    db.prepare("DELETE FROM merkle_log_nodes WHERE log_id = 'audit' AND ((idx + 1) << level) > ?").run(k);
    db.prepare("UPDATE merkle_log_head SET tree_size = ? WHERE log_id = 'audit'").run(k);
    db.close();
    const { db: again, logs } = openLogs(dir);
    for (let i = 0; i <= auditSize - k; i++)
      await logs.record({
        type: "admin_action",
        outcome: "success",
        time: Date.now(),
        details: { forged: i },
      });
    const forked = await logs.checkpoint("audit");
    assert.equal(forked.size, auditSize + 1);
    const proof = await logs.consistency("audit", auditSize, forked.size);
    again.close();
    const result = verify(config);
    assert.equal(result.status, 65, result.stdout);
    assert.equal(result.log?.fault, "checkpoint_root_mismatch");
    assert.equal(result.log?.first_bad_index, k);
    assert.equal(result.log?.exact, true);
    // A monitor that held the last honest checkpoint: the regrown log's new checkpoint is a fork.
    const tracker = await CheckpointTracker.open(nodeProvider, logs.key.verifier.audit, {
      trusted: heldAuditNote,
    });
    await assert.rejects(
      async () => await tracker.advance(forked.note, proof),
      (error: unknown) =>
        NanoError.is(error, "log_fork_detected") &&
        error.message.includes(`size ${auditSize},`) &&
        error.message.includes(`size ${auditSize + 1},`),
    );
  });

  it("a key-transparency log truncated and regrown: a client holding the older checkpoint sees rollback, then fork", async () => {
    const { dir, config } = copy("tamper-kt");
    const db = new DatabaseSync(join(dir, "relay.sqlite"));
    db.prepare("DELETE FROM merkle_log_entries WHERE log_id = 'kt' AND idx >= 1").run();
    db.prepare("DELETE FROM merkle_log_nodes WHERE log_id = 'kt' AND ((idx + 1) << level) > 1").run();
    db.prepare("DELETE FROM merkle_log_checkpoints WHERE log_id = 'kt' AND tree_size > 1").run();
    db.prepare("DELETE FROM merkle_log_personal_data WHERE log_id = 'kt' AND idx >= 1").run();
    db.prepare("DELETE FROM kt_latest_binding WHERE idx >= 1").run();
    db.prepare("DELETE FROM accounts WHERE username <> 'alice'").run();
    db.prepare("UPDATE merkle_log_head SET tree_size = 1 WHERE log_id = 'kt'").run();
    db.close();
    const relay = await startRelayProcess(config, dir);
    try {
      const pinned = await pinnedKtKey(relay.api);
      const alice = await makeUser("alice");
      const dave = await makeUser("dave");
      assert.equal((await claim(relay.api, dave)).status, 201);
      await login(relay.api, dave);
      const fetchAlice = async () =>
        (await call(relay.api, "GET", "/v1/prekeys/alice", undefined, dave.token)).body.transparency;
      // Alice's record bytes are not needed to reach the log checks: they fail first.
      const client = await KeyTransparencyVerifier.open(nodeProvider, pinned, ktState);
      await assert.rejects(
        client.verify("alice", alice.record.encoded, await fetchAlice(), consistencyFetcher(relay.api)),
        (error: unknown) =>
          NanoError.is(error, "log_rollback_detected") && /size 3,.*size 1,/.test(error.message),
      );
      for (const name of ["erin", "frank", "grace"])
        assert.equal((await claim(relay.api, await makeUser(name))).status, 201);
      const issued = runRelayCli([
        "audit",
        "checkpoint",
        "--issue",
        "--log",
        "kt",
        "--config",
        config,
        "--json",
      ]);
      assert.equal(issued.status, 0, issued.stderr);
      assert.equal(JSON.parse(issued.stdout).tree_size, 5);
      const response = await fetchAlice();
      assert.equal((response as { tree_size: number }).tree_size, 5);
      await assert.rejects(
        client.verify("alice", alice.record.encoded, response, consistencyFetcher(relay.api)),
        (error: unknown) =>
          NanoError.is(error, "log_fork_detected") && /size 3,.*size 5,/.test(error.message),
      );
      // The client kept its checkpoint: the fork stays detectable.
      assert.equal(client.checkpoint!.size, 3);
    } finally {
      await relay.stop();
    }
  });
});
