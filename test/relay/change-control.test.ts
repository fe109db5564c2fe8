// Change control (docs/compliance.md): a REAL relay process refuses to start with a configuration that
// weakens security against the last one it ran with until enough administrators of that last
// configuration approved exactly this change; with the approvals it starts and the log names them.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "smol-toml";
import { decodeAuditEvent } from "../../src/audit/audit-event.ts";
import { readLogKey } from "../../src/relay/audit-log-key.ts";
import { RelayTransparency, transactionRunner } from "../../src/relay/transparency.ts";
import { openDatabase } from "../../src/store/sqlite/sqlite-store.ts";
import { ktTempDir, runRelayCli, startRelayProcess } from "./_kt-helpers.ts";

interface Approver {
  ed25519: string;
  ml_dsa_65: string;
}

describe("change control: weakening configuration changes need signed approvals", () => {
  let dir: string;
  const keys: Record<string, { file: string; entry: Approver }> = {};

  const writeConfig = (
    name: string,
    security: Record<string, unknown>,
    compliance: Record<string, unknown>,
  ) => {
    const file = join(dir, name);
    writeFileSync(
      file,
      stringify({
        environment: "testing",
        server: { bind_address: "127.0.0.1", api_port: 0, websocket_port: 0, tls: { enabled: false } },
        storage: { path: join(dir, "relay.sqlite"), blob_dir: join(dir, "blobs") },
        security,
        compliance: {
          log_origin: "relay.test",
          log_key_file: join(dir, "log-key.json"),
          approvals_required: 2,
          approvers: [keys.ann!.entry, keys.ben!.entry],
          ...compliance,
        },
        monitoring: { log_level: "warn" },
      }),
    );
    return file;
  };

  const start = (config: string) =>
    runRelayCli(["start", "--config", config, "--port-file", join(dir, "p.json")]);
  const approve = (config: string, who: string) => {
    const run = runRelayCli([
      "compliance",
      "approve",
      "--config",
      config,
      "--key",
      keys[who]!.file,
      "--json",
    ]);
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as { weakened: { path: string }[] };
  };

  before(() => {
    dir = ktTempDir("change-control");
    for (const name of ["ann", "ben", "eve"]) {
      const file = join(dir, `${name}.key`);
      const made = runRelayCli(["compliance", "admin-key", "--name", name, "--output", file]);
      assert.equal(made.status, 0, made.stderr);
      const field = (key: string) =>
        JSON.parse(new RegExp(`^${key} = (.*)$`, "m").exec(made.stdout)![1]!) as string;
      keys[name] = { file, entry: { ed25519: field("ed25519"), ml_dsa_65: field("ml_dsa_65") } };
    }
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses an unapproved weakening (exit 77, naming each change), counts only the last config's approvers, then starts", async () => {
    const base = writeConfig("a.toml", { token_lifetime_seconds: 600 }, {});
    const first = await startRelayProcess(base, dir);
    assert.equal(await first.stop(), 0);

    // Longer tokens, no audit log lines, and eve slipped into the approvers: three weakenings.
    const weaker = writeConfig(
      "b.toml",
      { token_lifetime_seconds: 3600 },
      { audit_hook: "none", approvers: [keys.ann!.entry, keys.ben!.entry, keys.eve!.entry] },
    );
    const refused = start(weaker);
    assert.equal(refused.status, 77, refused.stderr);
    assert.match(refused.stderr, /security\.token_lifetime_seconds: 600 -> 3600/);
    assert.match(refused.stderr, /compliance\.audit_hook: "log" -> "none"/);
    assert.match(refused.stderr, /compliance\.approvers: "2 key\(s\)" -> "3 key\(s\)"/);
    assert.match(refused.stderr, /approvals by 2 administrator\(s\) of compliance\.approvers; 0 valid/);

    // eve is an approver only in the new configuration, which cannot vouch for itself.
    assert.equal(approve(weaker, "eve").weakened.length, 3);
    approve(weaker, "ann");
    const one = start(weaker);
    assert.equal(one.status, 77);
    assert.match(one.stderr, /1 valid approval\(s\) found .*\(ann\+[0-9a-f]{8}\)/);

    approve(weaker, "ben");
    const approved = await startRelayProcess(weaker, dir);
    assert.equal(await approved.stop(), 0);

    // Back to shorter tokens: stronger, so no approval is needed.
    const stronger = writeConfig(
      "c.toml",
      { token_lifetime_seconds: 300 },
      { audit_hook: "none", approvers: [keys.ann!.entry, keys.ben!.entry, keys.eve!.entry] },
    );
    const again = await startRelayProcess(stronger, dir);
    assert.equal(await again.stop(), 0);
  });

  it("a configuration too large for one leaf (10,000 reserved names) still starts; the names' change is in the diff", async () => {
    const reserved = Array.from({ length: 10_000 }, (_, i) => `reserved-name-${i}-${"x".repeat(40)}`);
    const big = writeConfig(
      "d.toml",
      { token_lifetime_seconds: 300, reserved_usernames: reserved },
      { audit_hook: "none", approvers: [keys.ann!.entry, keys.ben!.entry, keys.eve!.entry] },
    );
    const relay = await startRelayProcess(big, dir);
    assert.equal(await relay.stop(), 0, relay.stderr());
  });

  it("logs every start's configuration, diff, refusals and approvals; the log verifies", async () => {
    const key = readLogKey(join(dir, "log-key.json"), "relay.test");
    const db = openDatabase(join(dir, "relay.sqlite"));
    try {
      const transparency = new RelayTransparency({
        db,
        key,
        run: transactionRunner(db),
        now: () => Date.now(),
      });
      const entries = await transparency.stores.audit.entries(0, await transparency.stores.audit.size());
      const loaded = entries
        .map((entry) => decodeAuditEvent(entry.data))
        .filter((event) => event.type === "config_loaded");
      assert.deepEqual(
        loaded.map((event) => event.outcome),
        ["success", "failure", "failure", "success", "success", "success"],
      );
      const [, refusal, , withApprovals, last, big] = loaded;
      const bigDiff = JSON.parse(String(big!.details.changes)) as { path: string; to: string }[];
      assert.deepEqual(
        bigDiff.map((change) => change.path),
        ["security.reserved_usernames"],
      );
      assert.match(bigDiff[0]!.to, /^10000 name\(s\), sha256 [0-9a-f]{64}$/);
      assert.equal(refusal!.details.reason, "config_change_unapproved");
      assert.match(String(withApprovals!.details.approved_by), /^ann\+[0-9a-f]{8},ben\+[0-9a-f]{8}$/);
      assert.equal(
        withApprovals!.details.weakened,
        "security.token_lifetime_seconds,compliance.audit_hook,compliance.approvers",
      );
      const diff = JSON.parse(String(last!.details.changes)) as {
        path: string;
        from: unknown;
        to: unknown;
      }[];
      assert.deepEqual(diff, [{ path: "security.token_lifetime_seconds", from: 3600, to: 300 }]);
      assert.equal(last!.details.weakened, undefined);
      const approvals = entries
        .map((entry) => decodeAuditEvent(entry.data))
        .filter((event) => event.details.action === "config_approve");
      assert.equal(approvals.length, 3, "each approval is an audit event");
    } finally {
      db.close();
    }
    const verify = runRelayCli(["audit", "verify", "--config", join(dir, "c.toml")]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });
});
