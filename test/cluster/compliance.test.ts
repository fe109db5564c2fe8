// `nano-relay compliance` on a PostgreSQL-backed relay (a fresh database on the machine's PostgreSQL,
// a real relay process serving meanwhile): export, hold, refused erase, erase with cooling-off,
// access-log, transparency-report, and `audit verify` afterwards (docs/compliance.md).
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { testEnvelope } from "../relay/fixtures/identities.ts";
import { http, signUpOver } from "../relay/fixtures/processes.ts";
import { TestCluster } from "./_cluster.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

describe("compliance commands on PostgreSQL", { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let url: string;
  let alice: { token: string };
  let bob: { token: string };

  before(async () => {
    // With Redis: the relays cache account records, and an erasure must not leave one there.
    cluster = await TestCluster.create({ relays: 1 });
    await cluster.start();
    await cluster.ready();
    url = cluster.relays[0]!.url;
    alice = await signUpOver(url, "alice");
    bob = await signUpOver(url, "bob");
    const sent = await http(
      url,
      "POST",
      "/v1/messages",
      { to: "bob", client_message_id: "m1", envelope: b64(testEnvelope("alice to bob")) },
      alice.token,
    );
    assert.equal(sent.status, 201, JSON.stringify(sent.json));
  });

  after(async () => cluster?.stop());

  it("exports an account as signed JSON without envelopes; it verifies against the relay", () => {
    const output = join(cluster.dir, "bob.json");
    const run = cluster.cli("compliance", "export", "--user", "bob", "--output", output);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(statSync(output).mode & 0o777, 0o600);
    const file = JSON.parse(readFileSync(output, "utf8")) as {
      payload: { pending_messages: Record<string, unknown>[]; key_transparency: { bindings: unknown[] } };
    };
    assert.deepEqual(
      file.payload.pending_messages.map((m) => [m.sender, "envelope" in m]),
      [["alice", false]],
    );
    assert.equal(file.payload.key_transparency.bindings.length, 1);
    const verified = cluster.cli("compliance", "verify-export", output);
    assert.equal(verified.status, 0, verified.stderr);
  });

  it("a held account is not erased; released, it is, and its name waits out the cooling-off", async () => {
    // bob looks alice up: her record is now in the relay's L1 cache and in Redis (L2).
    assert.equal((await http(url, "GET", "/v1/accounts/alice", undefined, bob.token)).status, 200);
    assert.equal(cluster.cli("compliance", "hold", "--user", "alice", "--reason", "case 3").status, 0);
    const refused = cluster.cli("compliance", "erase", "--user", "alice");
    assert.equal(refused.status, 77, refused.stderr);
    assert.match(refused.stderr, /legal hold/);
    assert.equal(cluster.cli("compliance", "release", "--user", "alice").status, 0);
    const erased = cluster.cli("compliance", "erase", "--user", "alice", "--json");
    assert.equal(erased.status, 0, erased.stderr);
    const summary = JSON.parse(erased.stdout) as { messages: number; caches_cleared: boolean | null };
    assert.equal(summary.messages, 1);
    assert.equal(summary.caches_cleared, true, erased.stderr);

    assert.equal((await http(url, "GET", "/v1/messages", undefined, alice.token)).status, 401);
    // The announcement reaches the relay asynchronously; well before the caches' 30 s TTL.
    const started = Date.now();
    let lookup = await http(url, "GET", "/v1/accounts/alice", undefined, bob.token);
    while (lookup.status === 200 && Date.now() - started < 15_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      lookup = await http(url, "GET", "/v1/accounts/alice", undefined, bob.token);
    }
    assert.equal(lookup.status, 404, "no cache still serves the erased record");
    const late = await http(
      url,
      "POST",
      "/v1/messages",
      { to: "alice", client_message_id: "late", envelope: b64(testEnvelope("to the erased")) },
      bob.token,
    );
    assert.equal(late.status, 404, "and nothing is accepted for it");
    const inbox = await http(url, "GET", "/v1/messages", undefined, bob.token);
    assert.deepEqual(inbox.json.messages, [], "what alice sent is gone");
    await assert.rejects(signUpOver(url, "alice"), /username_cooling_off/);
    const verify = cluster.cli("audit", "verify");
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  it("access-log and transparency-report read the shared audit log", () => {
    const log = cluster.cli("compliance", "access-log", "--user", "alice", "--json");
    assert.equal(log.status, 0, log.stderr);
    assert.deepEqual(
      log.stdout
        .trim()
        .split("\n")
        .map((line) => [JSON.parse(line).action, JSON.parse(line).outcome]),
      [
        ["hold", "success"],
        ["erase", "failure"],
        ["release", "success"],
        ["erase", "success"],
      ],
    );
    const report = cluster.cli("compliance", "transparency-report", "--since", "0", "--format", "json");
    assert.equal(report.status, 0, report.stderr);
    const counts = (JSON.parse(report.stdout) as { counts: Record<string, number> }).counts;
    assert.equal(counts.exports, 1);
    assert.equal(counts.erasures, 1);
    assert.equal(counts.erasures_refused, 1);
  });
});
