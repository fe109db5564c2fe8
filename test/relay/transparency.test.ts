// Key transparency against a REAL relay process (port 0) with real protocol identities: every bundle
// carries a proof the client verifies, the client's checkpoint only moves forward, and the transparency
// endpoints refuse hostile input with typed errors.

import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeAuditEvent } from "../../src/audit/audit-event.ts";
import { decodeKtLeaf, encodeKtLeaf } from "../../src/audit/kt-leaf.ts";
import { describeKtOutcome, KeyTransparencyVerifier } from "../../src/audit/kt-verifier.ts";
import type { LogVerifierKey } from "../../src/audit/log-key.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";
import { loadMigrations } from "../../src/store/sqlite/migrations.ts";
import {
  b64,
  call,
  claim,
  consistencyFetcher,
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
  updateIdentity,
  writeKtConfig,
} from "./_kt-helpers.ts";

const rejects = async (work: Promise<unknown>, code: string) =>
  assert.rejects(work, (error: unknown) => NanoError.is(error, code as never) || assert.fail(String(error)));

describe("key transparency with a real relay", async () => {
  const dir = ktTempDir("kt");
  const config = writeKtConfig(dir);
  let relay: RelayProcess;
  let pinned: LogVerifierKey;
  const alice = await makeUser("alice");
  const bob = await makeUser("bob");

  before(async () => {
    relay = await startRelayProcess(config, dir);
    pinned = await pinnedKtKey(relay.api);
    for (const user of [alice, bob]) {
      assert.equal((await claim(relay.api, user)).status, 201);
      await login(relay.api, user);
      await publishBundle(relay.api, user);
    }
  });
  after(async () => {
    await relay?.stop();
  });

  const fetchBundle = async (target: User, by: User) => {
    const result = await call(relay.api, "GET", `/v1/prekeys/${target.name}`, undefined, by.token);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return result.body;
  };

  it("writes the log key file with mode 0600 and publishes both verifier keys", async () => {
    assert.equal(statSync(join(dir, "log-key.json")).mode & 0o777, 0o600);
    assert.equal(pinned.name, "relay.test/kt");
    const printed = runRelayCli(["audit", "log-keys", "--config", config, "--json"]);
    assert.equal(printed.status, 0, printed.stderr);
    const keys = (await call(relay.api, "GET", "/v1/transparency/log-keys")).body;
    assert.deepEqual(JSON.parse(printed.stdout).kt, (keys.kt as { verifier_keys: string[] }).verifier_keys);
  });

  it("a bundle proves its owner's binding; the client verifies it and tracks the checkpoint", async () => {
    const body = await fetchBundle(alice, bob);
    const client = await KeyTransparencyVerifier.open(nodeProvider, pinned);
    const result = await client.verify(
      "alice",
      alice.record.encoded,
      body.transparency,
      consistencyFetcher(relay.api),
    );
    assert.equal(result.proven, true);
    assert.equal(result.recordVersion, 1);
    assert.ok(result.checkpoint.size > result.logIndex);
    assert.equal(client.state(), (body.transparency as { checkpoint: string }).checkpoint);
    assert.match(
      describeKtOutcome("alice", result),
      /^alice's identity is proven in the key-transparency log \(entry 0\) at \(origin relay\.test\/kt, size \d+, root /,
    );
    assert.match(describeKtOutcome("alice", new NanoError("kt_binding_mismatch", "x")), /NOT proven/);
    assert.match(describeKtOutcome("alice", new NanoError("log_fork_detected", "y")), /^SECURITY ERROR/);
    assert.match(describeKtOutcome("alice", undefined), /NOT proven/);
    // The same proof also rides with the account lookup.
    const account = await call(relay.api, "GET", "/v1/accounts/alice", undefined, bob.token);
    await client.verify(
      "alice",
      alice.record.encoded,
      account.body.transparency,
      consistencyFetcher(relay.api),
    );
  });

  it("after an identity update the new record is proven and the persisted tracker advances by a consistency proof", async () => {
    const client = await KeyTransparencyVerifier.open(nodeProvider, pinned);
    await client.verify(
      "bob",
      bob.record.encoded,
      (await fetchBundle(bob, alice)).transparency,
      consistencyFetcher(relay.api),
    );
    const saved = client.state()!;
    const old = alice.record;
    assert.equal((await updateIdentity(relay.api, alice)).status, 200);
    await publishBundle(relay.api, alice);
    const restored = await KeyTransparencyVerifier.open(nodeProvider, pinned, saved);
    const asked: [number, number][] = [];
    const fetcher = consistencyFetcher(relay.api);
    const body = await fetchBundle(alice, bob);
    const result = await restored.verify("alice", alice.record.encoded, body.transparency, (from, to) => {
      asked.push([from, to]);
      return fetcher(from, to);
    });
    assert.equal(result.recordVersion, 2);
    assert.equal(asked.length, 1);
    assert.ok(
      restored.checkpoint!.size >
        (await KeyTransparencyVerifier.open(nodeProvider, pinned, saved)).checkpoint!.size,
    );
    // The old record is no longer what the log binds: a relay serving it is caught.
    await rejects(
      (await KeyTransparencyVerifier.open(nodeProvider, pinned)).verify(
        "alice",
        old.encoded,
        body.transparency,
        fetcher,
      ),
      "kt_binding_mismatch",
    );
  });

  it("rejects a proof for another user, a forged leaf, a bad proof and a missing or malformed object", async () => {
    const fetcher = consistencyFetcher(relay.api);
    const proof = (await fetchBundle(bob, alice)).transparency as Record<string, unknown>;
    const fresh = () => KeyTransparencyVerifier.open(nodeProvider, pinned);
    // Bob's proof offered for alice's name: the salted commitment does not open.
    await rejects(
      (await fresh()).verify("alice", alice.record.encoded, proof, fetcher),
      "salted_commitment_mismatch",
    );
    // Bob's proof with alice's record: the identity hash differs.
    await rejects((await fresh()).verify("bob", alice.record.encoded, proof, fetcher), "kt_binding_mismatch");
    // A leaf rewritten to bind another identity no longer hashes into the signed tree.
    const leaf = decodeKtLeaf(fromB64(proof.leaf as string));
    const forged = encodeKtLeaf({ ...leaf, identityHash: alice.record.hash });
    await rejects(
      (await fresh()).verify("bob", alice.record.encoded, { ...proof, leaf: b64(forged) }, fetcher),
      "inclusion_proof_invalid",
    );
    const path = proof.inclusion_proof as string[];
    if (path.length > 0) {
      const flipped = fromB64(path[0]!);
      flipped[0]! ^= 1;
      await rejects(
        (await fresh()).verify(
          "bob",
          bob.record.encoded,
          { ...proof, inclusion_proof: [b64(flipped), ...path.slice(1)] },
          fetcher,
        ),
        "inclusion_proof_invalid",
      );
    }
    await rejects(
      (await fresh()).verify("bob", bob.record.encoded, { ...proof, log_index: 10_000 }, fetcher),
      "kt_proof_missing",
    );
    await rejects((await fresh()).verify("bob", bob.record.encoded, null, fetcher), "kt_proof_missing");
    await rejects(
      (await fresh()).verify("bob", bob.record.encoded, { ...proof, leaf: "%%%" }, fetcher),
      "kt_proof_missing",
    );
    await rejects(
      (await fresh()).verify(
        "bob",
        bob.record.encoded,
        { ...proof, inclusion_proof: Array(65).fill("AA==") },
        fetcher,
      ),
      "kt_proof_missing",
    );
    const note = proof.checkpoint as string;
    const tampered = note.replace(/\n(\d+)\n/, (_m, size: string) => `\n${Number(size) + 1}\n`);
    await rejects(
      (await fresh()).verify("bob", bob.record.encoded, { ...proof, checkpoint: tampered }, fetcher),
      "checkpoint_signature_invalid",
    );
    const unsigned = note.split("\n\n")[0]!;
    await rejects(
      (await fresh()).verify("bob", bob.record.encoded, { ...proof, checkpoint: `${unsigned}\n\n` }, fetcher),
      "signed_note_malformed",
    );
  });

  it("a checkpoint older than the one held: proven a prefix it is a stale answer, unproven a rollback naming both", async () => {
    const first = await KeyTransparencyVerifier.open(nodeProvider, pinned);
    const proof = (await fetchBundle(bob, alice)).transparency as Record<string, unknown>;
    await first.verify("bob", bob.record.encoded, proof, consistencyFetcher(relay.api));
    // A newer checkpoint exists after one more claim; then the relay "replays" the old one.
    const carol = await makeUser("carol");
    assert.equal((await claim(relay.api, carol)).status, 201);
    await login(relay.api, carol);
    await publishBundle(relay.api, carol);
    const newer = await KeyTransparencyVerifier.open(nodeProvider, pinned);
    await newer.verify(
      "carol",
      carol.record.encoded,
      (await fetchBundle(carol, bob)).transparency,
      consistencyFetcher(relay.api),
    );
    // The relay proves the older tree a prefix of the newer (PROOF(old, new)): a stale answer, verified
    // at its own checkpoint, the tracker keeping the newer.
    const held = newer.checkpoint?.size;
    const stale = await newer.verify("bob", bob.record.encoded, proof, consistencyFetcher(relay.api));
    assert.ok(held !== undefined && stale.checkpoint.size < held);
    assert.equal(newer.checkpoint?.size, held);
    // A relay that cannot show that proof has rolled back.
    await assert.rejects(
      newer.verify("bob", bob.record.encoded, proof, async () => {
        throw new NanoError("relay_unreachable", "no proof");
      }),
      (error: unknown) =>
        NanoError.is(error, "log_rollback_detected") &&
        /held \(origin relay\.test\/kt, size \d+.*received \(origin/.test(error.message),
    );
  });

  it("concurrent verifications against a growing log do not look like a fork", async () => {
    const client = await KeyTransparencyVerifier.open(nodeProvider, pinned);
    await client.verify(
      "bob",
      bob.record.encoded,
      (await fetchBundle(bob, alice)).transparency,
      consistencyFetcher(relay.api),
    );
    const grown: [User, unknown][] = [];
    for (const name of ["judy", "ivan"]) {
      const user = await makeUser(name);
      assert.equal((await claim(relay.api, user)).status, 201);
      await login(relay.api, user);
      await publishBundle(relay.api, user);
      grown.push([user, (await fetchBundle(user, alice)).transparency]);
    }
    const sizes = grown.map(([, proof]) => (proof as { tree_size: number }).tree_size);
    assert.ok(sizes[0]! > client.checkpoint!.size && sizes[1]! > sizes[0]!, sizes.join(","));
    const results = await Promise.all(
      grown.map(([user, proof]) =>
        client.verify(user.name, user.record.encoded, proof, consistencyFetcher(relay.api)),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.checkpoint.size),
      sizes,
    );
    assert.equal(client.checkpoint!.size, sizes[1]);
  });

  it("transparency endpoints: checkpoint, consistency and their hostile inputs", async () => {
    const latest = await call(relay.api, "GET", "/v1/transparency/kt/checkpoint");
    assert.equal(latest.status, 200);
    const size = latest.body.tree_size as number;
    assert.ok(size >= 3);
    const ok = await call(relay.api, "GET", `/v1/transparency/kt/consistency?from=1&to=${size}`);
    assert.equal(ok.status, 200);
    const audit = await call(relay.api, "GET", "/v1/transparency/audit/checkpoint");
    assert.equal(audit.status, 200);
    const bad = async (path: string, status: number, code: string) => {
      const result = await call(relay.api, "GET", path);
      assert.equal(result.status, status, `${path}: ${JSON.stringify(result.body)}`);
      assert.equal((result.body.error as { code: string }).code, code, path);
    };
    await bad("/v1/transparency/nope/checkpoint", 404, "route_not_found");
    await bad(`/v1/transparency/kt/consistency?from=2&to=1`, 400, "tree_size_invalid");
    await bad(`/v1/transparency/kt/consistency?from=0&to=${size + 1}`, 400, "log_index_out_of_range");
    await bad("/v1/transparency/kt/consistency?from=-1&to=1", 400, "malformed_request");
    await bad("/v1/transparency/kt/consistency?from=01&to=1", 400, "malformed_request");
    await bad("/v1/transparency/kt/consistency?from=1", 400, "malformed_request");
    await bad(`/v1/transparency/kt/consistency?from=1&to=${"9".repeat(40)}`, 400, "malformed_request");
    await bad("/v1/transparency/kt/consistency?from=1&to=2&x=1", 400, "malformed_request");
  });

  it("the audit log records claims, updates, logins, auth failures and lifecycle events pseudonymously", async () => {
    const stranger = await makeUser("dave");
    // A login for an account that does not exist: an authentication failure.
    const nonce = await call(relay.api, "POST", "/v1/challenges", { purpose: "auth", username: "dave" });
    const failed = await call(relay.api, "POST", "/v1/auth/token", {
      username: "dave",
      challenge: nonce.body.challenge,
      device_certificate: b64(stranger.record.encoded),
      signature: "AAAA",
    });
    assert.equal(failed.status, 401);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exported = runRelayCli([
      "audit",
      "export",
      "--config",
      config,
      "--since",
      "0",
      "--format",
      "jsonl",
    ]);
    assert.equal(exported.status, 0, exported.stderr);
    const events = exported.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const types = events.map((event) => event.type);
    for (const type of [
      "migration",
      "config_loaded",
      "relay_started",
      "account_claimed",
      "identity_updated",
      "login",
      "prekeys_uploaded",
      "auth_failed",
    ])
      assert.ok(types.includes(type), `${type} missing from ${types.join(",")}`);
    assert.equal(types.filter((type) => type === "migration").length, loadMigrations().length);
    const claimed = events.find((event) => event.type === "account_claimed")!;
    assert.match(String(claimed.actor), /^[0-9a-f]{32}$/);
    assert.ok((claimed.correlation_id as string).length > 0);
    // Personal data is absent from the leaves and from a default export.
    assert.ok(!exported.stdout.includes("alice"));
    const failure = events.find((event) => event.type === "auth_failed")!;
    // No account is named dave: a name nobody holds stays out of the log (docs/compliance.md).
    assert.deepEqual(Object.keys(failure.commitments as object).sort(), ["address"]);
    assert.equal(failure.outcome, "failure");
    const withData = runRelayCli(["audit", "export", "--config", config, "--since", "0", "--personal-data"]);
    assert.ok(withData.stdout.includes('"username":"alice"'));
    const late = runRelayCli(["audit", "export", "--config", config, "--since", "2999-01-01T00:00:00Z"]);
    assert.equal(late.stdout, "");
    // The leaves decode byte-exactly to what the export printed.
    const proved = runRelayCli(["audit", "prove", "0", "--config", config, "--json"]);
    assert.equal(proved.status, 0, proved.stderr);
    assert.equal(decodeAuditEvent(fromB64(JSON.parse(proved.stdout).leaf)).type, "migration");
  });

  it("audit verify passes on the live log, and the CLI refuses bad arguments", () => {
    const verify = runRelayCli(["audit", "verify", "--config", config, "--json"]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.equal(JSON.parse(verify.stdout).ok, true);
    assert.equal(runRelayCli(["audit", "verify", "--config", config, "--from", "x"]).status, 64);
    assert.equal(runRelayCli(["audit", "prove", "-1", "--config", config]).status, 64);
    assert.equal(runRelayCli(["audit", "export", "--config", config, "--since", "yesterday"]).status, 64);
    assert.equal(
      runRelayCli(["audit", "export", "--config", config, "--since", "0", "--format", "csv"]).status,
      64,
    );
    const beyond = runRelayCli(["audit", "prove", "999999", "--config", config]);
    assert.notEqual(beyond.status, 0);
    assert.match(beyond.stderr, /^nano-relay: /);
  });

  it("erasure forgets a username: the logs still verify and the binding can no longer be proven", async () => {
    const erased = runRelayCli(["audit", "erase", "--username", "Alice", "--config", config, "--json"]);
    assert.equal(erased.status, 0, erased.stderr);
    assert.ok(JSON.parse(erased.stdout).erased_rows >= 2);
    const exported = runRelayCli(["audit", "export", "--config", config, "--since", "0", "--personal-data"]);
    assert.ok(!exported.stdout.includes('"alice"'));
    assert.ok(exported.stdout.includes('"bob"'));
    assert.match(exported.stdout, /"action":"erase_personal_data"/);
    const verify = runRelayCli(["audit", "verify", "--config", config]);
    assert.equal(verify.status, 0, verify.stdout);
    const body = await fetchBundle(alice, bob);
    assert.equal(body.transparency, null);
    await rejects(
      (await KeyTransparencyVerifier.open(nodeProvider, pinned)).verify(
        "alice",
        alice.record.encoded,
        body.transparency,
        consistencyFetcher(relay.api),
      ),
      "kt_proof_missing",
    );
    assert.equal(runRelayCli(["audit", "erase", "--config", config]).status, 64);
  });
});

describe("rate-limit blocks are audited", () => {
  it("a refused claim challenge lands in the audit log as blocked, the address only as a commitment", async () => {
    const dir = ktTempDir("kt-rate");
    const config = writeKtConfig(dir, {}, { claims_per_hour: 1 });
    const relay = await startRelayProcess(config, dir);
    try {
      const ask = () => call(relay.api, "POST", "/v1/challenges", { purpose: "claim", username: "erin" });
      assert.equal((await ask()).status, 200);
      for (let i = 0; i < 3; i++) assert.equal((await ask()).status, 429);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      assert.equal(await relay.stop(), 0);
    }
    const exported = runRelayCli(["audit", "export", "--config", config, "--since", "0"]);
    const events = exported.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // Three refusals from one address within a minute: the first in full, the other two as one
    // aggregate written when the window closed (here: at the clean stop), not three entries.
    const blocked = events.filter((event) => event.type === "rate_limited");
    assert.equal(blocked.length, 2);
    assert.deepEqual(blocked[0]!.details, { reason: "claim" });
    assert.deepEqual(blocked[1]!.details, { reason: "aggregated", first_reason: "claim", count: 2 });
    for (const entry of blocked) {
      assert.equal(entry.outcome, "blocked");
      assert.deepEqual(Object.keys(entry.commitments as object), ["address"]);
    }
    // No client address in clear (config_loaded carries the relay's own configuration, whose
    // bind_address is this same loopback address: that one is the server's, not a person's).
    const clientEvents = events.filter((event) => event.type !== "config_loaded");
    assert.ok(!JSON.stringify(clientEvents).includes("127.0.0.1"));
    assert.equal(events.at(-1)!.type, "relay_stopped");
  });
});

describe("checkpoints on an interval, migrations and admin actions", () => {
  it("signs a checkpoint of a grown log without being asked; migrate and --issue are audited", async () => {
    const dir = ktTempDir("kt-interval");
    const config = writeKtConfig(dir, { checkpoint_interval_seconds: 0.2 });
    const migrated = runRelayCli(["migrate", "--config", config]);
    assert.equal(migrated.status, 0, migrated.stderr);
    const relay = await startRelayProcess(config, dir);
    try {
      const before = await call(relay.api, "GET", "/v1/transparency/kt/checkpoint");
      assert.equal(before.body.tree_size, 0);
      assert.equal((await claim(relay.api, await makeUser("heidi"))).status, 201);
      let size = 0;
      for (let i = 0; i < 200 && size === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        size = (await call(relay.api, "GET", "/v1/transparency/kt/checkpoint")).body.tree_size as number;
      }
      assert.equal(size, 1);
    } finally {
      assert.equal(await relay.stop(), 0);
    }
    assert.equal(runRelayCli(["audit", "checkpoint", "--issue", "--config", config]).status, 0);
    const exported = runRelayCli(["audit", "export", "--config", config, "--since", "0"]);
    const events = exported.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const migrations = events.filter((event) => event.type === "migration");
    assert.equal(migrations.length, loadMigrations().length);
    assert.ok(migrations.every((event) => (event.details as { via?: string }).via === "command"));
    assert.equal(events.at(-1)!.type, "admin_action");
    assert.deepEqual(events.at(-1)!.details, { action: "checkpoint_issue", log: "audit" });
    assert.equal(runRelayCli(["audit", "verify", "--config", config]).status, 0);
  });
});
