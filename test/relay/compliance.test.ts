// `nano-relay compliance ...` against a REAL relay process (bin/nano-relay.js on port 0) and the real
// command on its database: export and its verifier, erasure, holds, access log (docs/compliance.md).
import assert from "node:assert/strict";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeAuditEvent } from "../../src/audit/audit-event.ts";
import { openCheckpoint } from "../../src/audit/checkpoint.ts";
import { hashLeaf } from "../../src/audit/merkle-hash.ts";
import { verifyInclusion } from "../../src/audit/merkle-verify.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { actorPseudonym, loadOrCreateLogKey, readLogKey } from "../../src/relay/audit-log-key.ts";
import { RelayTransparency, transactionRunner } from "../../src/relay/transparency.ts";
import { openDatabase } from "../../src/store/sqlite/sqlite-store.ts";
import {
  b64,
  call,
  claim,
  fromB64,
  ktTempDir,
  login,
  makeUser,
  pinnedKtKey,
  publishBundle,
  type RelayProcess,
  runRelayCli,
  startRelayProcess,
  type User,
  writeKtConfig,
} from "./_kt-helpers.ts";
import { testEnvelope } from "./fixtures/identities.ts";

interface ExportFile {
  format: string;
  payload: Record<string, unknown> & {
    account: { username: string; identity_hash: string };
    pending_messages: { id: number; sender: string; size: number; envelope?: string }[];
    key_transparency: {
      checkpoint: string;
      tree_size: number;
      bindings: { log_index: number; leaf: string; inclusion_proof: string[] }[];
    };
    audit_events: { type: string }[];
  };
  signature: Record<string, unknown>;
}

async function signUp(api: string, name: string): Promise<User> {
  const user = await makeUser(name);
  const claimed = await claim(api, user);
  assert.equal(claimed.status, 201, JSON.stringify(claimed.body));
  await login(api, user);
  await publishBundle(api, user);
  return user;
}

async function send(api: string, from: User, to: string, id: string): Promise<Uint8Array> {
  const envelope = testEnvelope(`${from.name}->${to} ${id}`);
  const sent = await call(
    api,
    "POST",
    "/v1/messages",
    { to, client_message_id: id, envelope: b64(envelope) },
    from.token,
  );
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  return envelope;
}

describe("nano-relay compliance export, verify-export, access-log", () => {
  let dir: string;
  let config: string;
  let relay: RelayProcess;
  let envelopes: Uint8Array[];

  before(async () => {
    dir = ktTempDir("compliance-export");
    config = writeKtConfig(dir);
    relay = await startRelayProcess(config, dir);
    const alice = await signUp(relay.api, "alice");
    await signUp(relay.api, "bob");
    envelopes = [await send(relay.api, alice, "bob", "m1"), await send(relay.api, alice, "bob", "m2")];
  });

  after(async () => {
    await relay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const exportTo = (name: string, ...extra: string[]) => {
    const output = join(dir, name);
    const run = runRelayCli([
      "compliance",
      "export",
      "--config",
      config,
      "--user",
      "bob",
      "--output",
      output,
      ...extra,
    ]);
    assert.equal(run.status, 0, run.stderr);
    return output;
  };

  it("writes a 0600 signed export with metadata and no envelope by default; it verifies against the relay", () => {
    const output = exportTo("bob.json", "--reason", "subject access request 17");
    assert.equal(statSync(output).mode & 0o777, 0o600);
    const text = readFileSync(output, "utf8");
    const file = JSON.parse(text) as ExportFile;
    assert.equal(file.format, "nano-relay-compliance-export/v1");
    assert.equal(file.payload.account.username, "bob");
    assert.deepEqual(
      file.payload.pending_messages.map((m) => [m.sender, m.size, "envelope" in m]),
      envelopes.map((e) => ["alice", e.length, false]),
    );
    for (const envelope of envelopes) assert.ok(!text.includes(b64(envelope)), "no envelope by default");
    const verified = runRelayCli(["compliance", "verify-export", output, "--config", config, "--json"]);
    assert.equal(verified.status, 0, verified.stderr);
    assert.deepEqual(JSON.parse(verified.stdout), {
      ok: true,
      signer: "relay.test/audit",
      checked_against_relay: true,
      username: "bob",
      generated_at: file.payload.generated_at,
    });
  });

  it("includes the envelopes only with --include-envelopes", () => {
    const file = JSON.parse(
      readFileSync(exportTo("bob-env.json", "--include-envelopes"), "utf8"),
    ) as ExportFile;
    assert.equal(file.payload.includes_envelopes, true);
    assert.deepEqual(
      file.payload.pending_messages.map((m) => m.envelope),
      envelopes.map(b64),
    );
  });

  it("proves every key-transparency binding against a checkpoint signed by the pinned kt key", async () => {
    const file = JSON.parse(readFileSync(exportTo("bob-kt.json", "--force"), "utf8")) as ExportFile;
    const kt = file.payload.key_transparency;
    assert.equal(kt.bindings.length, 1);
    const checkpoint = await openCheckpoint(nodeProvider, kt.checkpoint, await pinnedKtKey(relay.api));
    for (const binding of kt.bindings)
      verifyInclusion(sha256, {
        leafHash: hashLeaf(sha256, fromB64(binding.leaf)),
        index: binding.log_index,
        treeSize: checkpoint.size,
        proof: binding.inclusion_proof.map(fromB64),
        rootHash: checkpoint.rootHash,
      });
    assert.ok(
      file.payload.audit_events.some((event) => event.type === "account_claimed"),
      "the account's own audit events are in its export",
    );
  });

  it("refuses an altered export, one signed by another relay's key, and an unknown user", () => {
    const output = exportTo("bob-tamper.json", "--force");
    const file = JSON.parse(readFileSync(output, "utf8")) as ExportFile;
    file.payload.pending_messages[0]!.sender = "mallory";
    const altered = join(dir, "altered.json");
    writeFileSync(altered, JSON.stringify(file));
    const bad = runRelayCli(["compliance", "verify-export", altered]);
    assert.equal(bad.status, 65, bad.stdout);
    assert.match(bad.stderr, /Ed25519 signature does not verify/);

    // Half a signature is no signature: the Ed25519 line intact, the ML-DSA-65 one gone.
    const intact = JSON.parse(readFileSync(output, "utf8")) as ExportFile;
    const halved = join(dir, "halved.json");
    writeFileSync(halved, JSON.stringify({ ...intact, signature: { ...intact.signature, ml_dsa_65: "" } }));
    const half = runRelayCli(["compliance", "verify-export", halved]);
    assert.equal(half.status, 65);
    assert.match(half.stderr, /ML-DSA-65 signature does not verify/);
    const junk = join(dir, "junk.json");
    writeFileSync(junk, "{not json");
    const notJson = runRelayCli(["compliance", "verify-export", junk]);
    assert.equal(notJson.status, 65);
    assert.match(notJson.stderr, /not JSON/);
    assert.equal(runRelayCli(["compliance", "verify-export", join(dir, "absent.json")]).status, 66);

    // The same file is intact, but another relay (another log key) did not sign it.
    const otherDir = ktTempDir("compliance-other");
    try {
      const otherConfig = writeKtConfig(otherDir);
      loadOrCreateLogKey(join(otherDir, "log-key.json"), "relay.test");
      const foreign = runRelayCli(["compliance", "verify-export", output, "--config", otherConfig]);
      assert.equal(foreign.status, 65);
      assert.match(foreign.stderr, /not the expected relay's/);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }

    const unknown = runRelayCli([
      "compliance",
      "export",
      "--config",
      config,
      "--user",
      "nobody",
      "--output",
      join(dir, "nobody.json"),
    ]);
    assert.equal(unknown.status, 66, unknown.stderr);
    assert.match(unknown.stderr, /no account is named nobody/);
  });

  it("records each export in the audit log: target pseudonym, operator and reason as commitments; audit verify passes", async () => {
    const key = readLogKey(join(dir, "log-key.json"), "relay.test");
    const db = openDatabase(join(dir, "relay.sqlite"));
    try {
      const transparency = new RelayTransparency({
        db,
        key,
        run: transactionRunner(db),
        now: () => Date.now(),
      });
      const size = await transparency.stores.audit.size();
      const exports = [];
      for (const { index, data } of await transparency.stores.audit.entries(0, size)) {
        const event = decodeAuditEvent(data);
        if (event.details.action === "compliance_export") exports.push({ index, event, raw: data });
      }
      assert.equal(exports.length, 4, "one event per successful export");
      const first = exports[0]!;
      assert.deepEqual(first.event.actor, actorPseudonym(key, "bob"));
      assert.deepEqual(Object.keys(first.event.commitments), ["operator", "reason", "username"]);
      const reason = db
        .prepare(
          "SELECT data FROM merkle_log_personal_data WHERE log_id = 'audit' AND idx = ? AND field = 'reason'",
        )
        .get(first.index);
      assert.equal(Buffer.from(reason!.data as Uint8Array).toString(), "subject access request 17");
      assert.ok(!Buffer.from(first.raw).includes("subject access"), "the reason is not in the leaf");
    } finally {
      db.close();
    }
    const verify = runRelayCli(["audit", "verify", "--config", config]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  it("access-log lists who touched an account: its exports and holds, and check and backup of every account", () => {
    assert.equal(runRelayCli(["check", "--config", config]).status, 0);
    const backup = runRelayCli(["backup", "--config", config, "--output", join(dir, "backup.sqlite")]);
    assert.equal(backup.status, 0, backup.stderr);
    for (const command of ["hold", "release"]) {
      const run = runRelayCli([
        "compliance",
        command,
        "--config",
        config,
        "--user",
        "bob",
        "--reason",
        `${command} for case 9`,
      ]);
      assert.equal(run.status, 0, run.stderr);
    }
    const log = (user: string) => {
      const run = runRelayCli(["compliance", "access-log", "--config", config, "--user", user, "--json"]);
      assert.equal(run.status, 0, run.stderr);
      return run.stdout
        .trim()
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    };
    const operator = userInfo().username;
    const bob = log("bob");
    assert.deepEqual(
      bob.map((row) => [row.action, row.scope, row.operator]),
      [
        ["export", "account", operator],
        ["export", "account", operator],
        ["export", "account", operator],
        ["export", "account", operator],
        ["check", "all accounts", operator],
        ["backup", "all accounts", operator],
        ["hold", "account", operator],
        ["release", "account", operator],
      ],
    );
    assert.equal(bob[0]!.reason, "subject access request 17");
    assert.equal(bob[6]!.reason, "hold for case 9");
    // alice was never exported or held: only the commands that read everyone's data.
    assert.deepEqual(
      log("alice").map((row) => row.action),
      ["check", "backup"],
    );
    // Reading the access log is an access too: bob's first reading shows in his second.
    assert.equal(log("bob").at(-1)!.action, "access_log");
  });

  it("report judges each framework's controls from the configuration and the log; transparency-report counts", () => {
    const report = (framework: string) => {
      const run = runRelayCli([
        "compliance",
        "report",
        "--config",
        config,
        "--framework",
        framework,
        "--format",
        "json",
      ]);
      assert.equal(run.status, 0, run.stderr);
      const parsed = JSON.parse(run.stdout) as {
        controls: { control: string; status: string; evidence: string }[];
      };
      return new Map(parsed.controls.map((row) => [row.control, row]));
    };
    const hipaa = report("hipaa");
    assert.equal(hipaa.get("164.312(b)")!.status, "met");
    assert.match(hipaa.get("164.312(b)")!.evidence, /latest signed checkpoint: size \d+/);
    assert.equal(hipaa.get("164.312(a)(2)(iii)")!.status, "not_met", "token_idle_timeout_seconds = 0 here");
    assert.equal(hipaa.get("164.312(e)(1)")!.status, "not_met", "this test relay speaks plain HTTP");
    assert.equal(hipaa.get("164.308(b)")!.status, "operator");
    const gdpr = report("gdpr");
    assert.match(gdpr.get("Art. 15")!.evidence, /4 export\(s\) logged/);
    assert.equal(gdpr.get("content")!.status, "not_applicable");
    const sox = report("sox");
    assert.equal(sox.get("change management")!.status, "not_met", "approvals_required = 0");
    assert.equal(sox.get("backup and recovery")!.status, "met");
    const markdown = runRelayCli(["compliance", "report", "--config", config, "--framework", "gdpr"]);
    assert.match(markdown.stdout, /^# GDPR report for relay\.test$/m);
    assert.match(markdown.stdout, /^\| Art\. 17 \| erasure \| met \|/m);

    const counts = (since: string) => {
      const run = runRelayCli([
        "compliance",
        "transparency-report",
        "--config",
        config,
        "--since",
        since,
        "--format",
        "json",
      ]);
      assert.equal(run.status, 0, run.stderr);
      return (JSON.parse(run.stdout) as { counts: Record<string, number> }).counts;
    };
    assert.deepEqual(counts("0"), {
      exports: 4,
      erasures: 0,
      erasures_refused: 0,
      holds_placed: 1,
      holds_released: 1,
      access_log_reads: 3,
      backups: 1,
      restores: 0,
      config_approvals: 0,
      starts_refused: 0,
    });
    assert.ok(Object.values(counts("2999-01-01T00:00:00Z")).every((n) => n === 0));
    assert.equal(
      runRelayCli(["compliance", "transparency-report", "--config", config, "--since", "yesterday"]).status,
      64,
    );
  });
});
