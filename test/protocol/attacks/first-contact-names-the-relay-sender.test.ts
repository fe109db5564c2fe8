import assert from "node:assert/strict";
import { test } from "node:test";
import { type SuiteId, utf8 } from "../../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../../src/crypto/node-provider.ts";
import { NanoError } from "../../../src/errors/index.ts";
import { decodeEnvelope } from "../../../src/protocol/envelope.ts";
import { DEFAULT_LIMITS } from "../../../src/protocol/limits.ts";
import { receiveMessage as decide } from "../../../src/protocol/receive-message.ts";
import { decideWithDirectory, receiveMessage, sendMessage } from "../_driver.ts";
import { ALL_SUITES, NOW } from "../_fixtures.ts";
import { connect, makeParty, roundTrip, snapshot } from "../_parties.ts";

/**
 * Finding 1 of the protocol audit, high (docs/protocol.md §7.7): first-contact impersonation. The
 * responder named the peer from the identity record inside the seal and ignored the sender the relay
 * authenticated; a self-signed record proves nothing about a username, so any registered account
 * ("mallory") could build a record for "alice" with her own keys, and Bob showed her message as Alice's
 * and pinned "alice" to Mallory's keys. A first contact is accepted only if its record names the relay
 * sender AND is byte-equal to the record key transparency proves for that name (or the one pinned).
 */
const opts = { provider, now: NOW, limits: DEFAULT_LIMITS };

/** Mallory, registered under her own name, and her self-signed record for "alice" (never in the log). */
async function mallory(suiteId: SuiteId) {
  return {
    account: await makeParty("mallory", suiteId, [suiteId]),
    posingAsAlice: await makeParty("alice", suiteId, [suiteId], { publish: false }),
  };
}

async function refusedWith(run: Promise<unknown>, code: string) {
  await assert.rejects(run, (error: unknown) => NanoError.is(error, code as never), `expected ${code}`);
}

for (const suiteId of ALL_SUITES) {
  const name = provider.suite(suiteId).name;

  test(`${name}: a first contact sent by mallory with a record for "alice" is refused, nothing stored`, async () => {
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const { posingAsAlice } = await mallory(suiteId);
    const { first } = await connect(posingAsAlice, bob);
    const before = snapshot(bob);
    // The relay authenticated the sender as mallory; the sealed record says alice.
    await refusedWith(receiveMessage(bob.stores, "mallory", first, opts), "first_contact_sender_mismatch");
    assert.equal(snapshot(bob), before, "no contact, session, replay entry or consumed prekey");
    assert.equal(bob.stores.contacts.has("alice"), false);
    // A second, fresh forgery is refused the same way; a resent copy for one lookup.
    const again = await sendMessage(posingAsAlice.stores, "bob", utf8("it's me, alice"), opts);
    await refusedWith(receiveMessage(bob.stores, "mallory", again, opts), "first_contact_sender_mismatch");
    await refusedWith(receiveMessage(bob.stores, "mallory", first, opts), "first_contact_refused");
    assert.equal(snapshot(bob), before);
  });

  test(`${name}: the same forgery through a relay that claims the sender is alice: not the proven record`, async () => {
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const { posingAsAlice } = await mallory(suiteId);
    const { first } = await connect(posingAsAlice, bob);
    const before = snapshot(bob);
    await refusedWith(receiveMessage(bob.stores, "alice", first, opts), "identity_not_proven");
    assert.equal(snapshot(bob), before);
    // The real Alice is then accepted, pinned to her own keys.
    const real = await connect(alice, bob);
    const got = await receiveMessage(bob.stores, "alice", real.first, opts);
    assert.equal(got.peer, "alice");
    assert.deepEqual(bob.stores.contacts.get("alice")?.record.hash, alice.record.hash);
    assert.equal(await roundTrip(bob, alice, "hi alice"), "hi alice");
  });

  test(`${name}: an honest first contact asks for the proven record once the cheap checks passed`, async () => {
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const { first } = await connect(alice, bob);
    const outcome = await decideWithDirectory(bob.stores, "alice", first, opts);
    assert.equal(outcome.kind, "delivered");
    // Without the proven record the decision cannot accept it: it asks, and writes nothing.
    const asked = await decide(
      provider,
      bob.stores,
      { relaySender: "alice", envelope: decodeEnvelope(provider, first) },
      opts,
    );
    assert.deepEqual(asked, { kind: "needs_record", username: "alice" });
    // A directory that proves nothing for "alice" (no such account in the log) refuses it.
    const none = await decide(
      provider,
      bob.stores,
      { relaySender: "alice", envelope: decodeEnvelope(provider, first), provenRecord: null },
      opts,
    );
    assert.equal(none.kind === "refused" && none.error.code, "identity_not_proven");
  });
}
