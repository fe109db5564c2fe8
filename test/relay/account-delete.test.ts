// DELETE /v1/accounts/:username (docs/api.md, docs/compliance.md "Erasure"): the owner deletes its own
// account with its token AND its identity keys' signature over a fresh challenge — against a REAL relay
// process. A stolen token, another account's keys, a claim signature, a replayed challenge and a held
// account are all refused; a proper deletion erases and tombstones like `compliance erase`.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeAuditEvent } from "../../src/audit/audit-event.ts";
import { signAccountDeletion, signUsernameClaim } from "../../src/protocol/username-claim.ts";
import { actorPseudonym, readLogKey } from "../../src/relay/audit-log-key.ts";
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
  type RelayProcess,
  runRelayCli,
  startRelayProcess,
  type User,
  writeKtConfig,
} from "./_kt-helpers.ts";

describe("an account deletes itself", () => {
  let dir: string;
  let config: string;
  let relay: RelayProcess;
  let alice: User;
  let bob: User;

  before(async () => {
    dir = ktTempDir("account-delete");
    config = writeKtConfig(dir);
    relay = await startRelayProcess(config, dir);
    for (const name of ["alice", "bob"]) {
      const user = await makeUser(name);
      assert.equal((await claim(relay.api, user)).status, 201);
      await login(relay.api, user);
      if (name === "alice") alice = user;
      else bob = user;
    }
  });

  after(async () => {
    await relay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const challenge = async (username: string) =>
    fromB64(
      (await call(relay.api, "POST", "/v1/challenges", { purpose: "auth", username })).body
        .challenge as string,
    );
  // call() parses a JSON body; a 204 has none.
  const remove = async (target: string, token: string, nonce: Uint8Array, signature: Uint8Array) => {
    const response = await fetch(new URL(`/v1/accounts/${target}`, relay.api), {
      method: "DELETE",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ challenge: b64(nonce), signature: b64(signature) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>,
    };
  };
  const code = (result: { body: Record<string, unknown> }) => (result.body.error as { code: string }).code;

  it("refuses another account's token, other keys, a claim signature, a replayed challenge and a hold", async () => {
    let nonce = await challenge("alice");
    const own = await signAccountDeletion(alice.keys, alice.record, nonce);
    const bobs = await remove("alice", bob.token!, nonce, own);
    assert.equal(bobs.status, 403, "bob's token cannot delete alice, even with her signature");
    assert.equal(code(bobs), "account_delete_unauthorized");

    nonce = await challenge("alice");
    const forged = await remove(
      "alice",
      alice.token!,
      nonce,
      await signAccountDeletion(bob.keys, bob.record, nonce),
    );
    assert.equal(forged.status, 403, "alice's token with someone else's keys");
    nonce = await challenge("alice");
    const claimSig = await remove(
      "alice",
      alice.token!,
      nonce,
      await signUsernameClaim(alice.keys, alice.record, nonce),
    );
    assert.equal(code(claimSig), "account_delete_unauthorized", "a claim signature is not a deletion");

    const replayed = await remove(
      "alice",
      alice.token!,
      nonce,
      await signAccountDeletion(alice.keys, alice.record, nonce),
    );
    assert.equal(code(replayed), "challenge_invalid", "each challenge is single-use");

    assert.equal(runRelayCli(["compliance", "hold", "--config", config, "--user", "alice"]).status, 0);
    nonce = await challenge("alice");
    const held = await remove(
      "alice",
      alice.token!,
      nonce,
      await signAccountDeletion(alice.keys, alice.record, nonce),
    );
    assert.equal(held.status, 409);
    assert.equal(code(held), "account_on_hold");
    assert.equal(runRelayCli(["compliance", "release", "--config", config, "--user", "alice"]).status, 0);
    assert.equal(
      (await call(relay.api, "GET", "/v1/messages", undefined, alice.token)).status,
      200,
      "still here",
    );
  });

  it("deletes with its own keys: gone, tombstoned, logged by pseudonym; audit verify passes", async () => {
    const nonce = await challenge("alice");
    const deleted = await remove(
      "alice",
      alice.token!,
      nonce,
      await signAccountDeletion(alice.keys, alice.record, nonce),
    );
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
    assert.equal((await call(relay.api, "GET", "/v1/messages", undefined, alice.token)).status, 401);
    assert.equal((await call(relay.api, "GET", "/v1/accounts/alice", undefined, bob.token)).status, 404);
    const again = await claim(relay.api, await makeUser("alice"));
    assert.equal(code(again), "username_cooling_off");

    const key = readLogKey(join(dir, "log-key.json"), "relay.test");
    const db = openDatabase(join(dir, "relay.sqlite"));
    try {
      const transparency = new RelayTransparency({
        db,
        key,
        run: transactionRunner(db),
        now: () => Date.now(),
      });
      const events = (await transparency.stores.audit.entries(0, await transparency.stores.audit.size())).map(
        (entry) => decodeAuditEvent(entry.data),
      );
      const deletion = events.filter((event) => event.type === "account_deleted");
      assert.equal(deletion.length, 1);
      assert.deepEqual(deletion[0]!.actor, actorPseudonym(key, "alice"));
      assert.deepEqual(deletion[0]!.commitments, {}, "the name is what is forgotten");
      const left = db
        .prepare("SELECT count(*) AS n FROM merkle_log_personal_data WHERE field = 'username' AND data = ?")
        .get(Buffer.from("alice"));
      assert.equal(Number(left?.n), 0);
    } finally {
      db.close();
    }
    const verify = runRelayCli(["audit", "verify", "--config", config]);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });
});
