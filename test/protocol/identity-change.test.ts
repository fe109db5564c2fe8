import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS, type SuiteId, utf8 } from "../../src/crypto/index.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { SELECTION } from "../../src/protocol/selection.ts";
import { acceptIdentity, chooseSuite, receiveMessage, sendMessage, startSession } from "./_driver.ts";
import { ALL_SUITES, NOW } from "./_fixtures.ts";
import { connect, makeParty, type Party, publishBundle, roundTrip, snapshot } from "./_parties.ts";

/**
 * docs/protocol.md §11.2, DESIGN.md "a changed identity blocks sending and receiving for that contact
 * until the user re-verifies": the block is stored, covers the existing sessions in both directions,
 * and only `acceptIdentity` lifts it.
 */
const opts = { now: NOW, limits: DEFAULT_LIMITS };
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function established(suiteId: SuiteId = SUITE_IDS.hybrid, accepted?: SuiteId[]) {
  const alice = await makeParty("alice", suiteId, accepted);
  const bob = await makeParty("bob", suiteId, accepted);
  const { first } = await connect(alice, bob);
  await receiveMessage(bob.stores, "alice", first, opts);
  assert.equal(await roundTrip(bob, alice, "reply"), "reply");
  return { alice, bob };
}

function sessionsOf(party: Party): string {
  return JSON.stringify([...party.stores.sessionMap].map(([k, v]) => [k, Buffer.from(v).toString("hex")]));
}

test("a verified first contact from a changed identity blocks the old session both ways until accepted", async () => {
  const { alice, bob } = await established();
  // Alice reinstalled: same name, new keys. Her first contact verifies, so Bob records the change.
  const alice2 = await makeParty("alice", SUITE_IDS.hybrid);
  const { first: again } = await connect(alice2, bob);
  const pre = JSON.parse(snapshot(bob));
  await assert.rejects(receiveMessage(bob.stores, "alice", again, opts), { code: "identity_changed" });
  const contact = bob.stores.contacts.get("alice")!;
  assert.deepEqual(contact.record.hash, alice.record.hash, "the pinned record is unchanged");
  assert.deepEqual(contact.changed?.hash, alice2.record.hash, "the change is stored");
  const post = JSON.parse(snapshot(bob));
  assert.deepEqual(post.sessions, pre.sessions, "no session installed");
  assert.deepEqual(post.prekeys, pre.prekeys, "no prekey consumed");
  assert.deepEqual(post.replay, pre.replay, "no replay entry");

  // Blocked: Bob cannot send on the old session, nor receive on it, nor take the new first contact.
  const blocked = snapshot(bob);
  await assert.rejects(sendMessage(bob.stores, "alice", utf8("to alice"), opts), {
    code: "identity_changed",
  });
  assert.equal(snapshot(bob), blocked);
  const onOld = await sendMessage(alice.stores, "bob", utf8("old session"), opts);
  await assert.rejects(receiveMessage(bob.stores, "alice", onOld, opts), { code: "identity_changed" });
  assert.equal(snapshot(bob), blocked);
  await assert.rejects(receiveMessage(bob.stores, "alice", again, opts), { code: "identity_changed" });
  assert.equal(snapshot(bob), blocked);

  // The user re-verified: the new record is pinned, the old identity's sessions are closed...
  await acceptIdentity(bob.stores, alice2.record);
  const accepted = bob.stores.contacts.get("alice")!;
  assert.deepEqual(accepted.record.hash, alice2.record.hash);
  assert.equal(accepted.changed, undefined);
  assert.equal(accepted.pin, SUITE_IDS.hybrid);
  await assert.rejects(receiveMessage(bob.stores, "alice", onOld, opts), { code: "no_session" });
  // ...and the new identity's first contact (redelivered: it was never acknowledged) starts the session.
  const received = await receiveMessage(bob.stores, "alice", again, opts);
  assert.equal(received.newSession, true);
  assert.equal(text(received.content), "hello");
  assert.equal(await roundTrip(bob, alice2, "welcome back"), "welcome back");
  assert.equal(await roundTrip(alice2, bob, "thanks"), "thanks");
});

test("a changed bundle blocks the initiator's old session both ways until accepted", async () => {
  const { alice, bob } = await established();
  const bob2 = await makeParty("bob", SUITE_IDS.hybrid);
  const { bundle } = await publishBundle(bob2, SUITE_IDS.hybrid);
  const before = snapshot(alice);
  await assert.rejects(startSession(alice.stores, bundle, SELECTION.default, opts), {
    code: "identity_changed",
  });
  assert.deepEqual(alice.stores.contacts.get("bob")?.changed?.hash, bob2.record.hash);
  const { contacts: _c1, ...restBefore } = JSON.parse(before);
  const { contacts: _c2, ...restAfter } = JSON.parse(snapshot(alice));
  assert.deepEqual(restAfter, restBefore, "only the block itself is stored");

  const blocked = snapshot(alice);
  await assert.rejects(sendMessage(alice.stores, "bob", utf8("x"), opts), { code: "identity_changed" });
  assert.equal(snapshot(alice), blocked);
  const fromOldBob = await sendMessage(bob.stores, "alice", utf8("old bob"), opts);
  await assert.rejects(receiveMessage(alice.stores, "bob", fromOldBob, opts), { code: "identity_changed" });
  assert.equal(snapshot(alice), blocked);
  await assert.rejects(chooseSuite(alice.stores, bob2.record), { code: "identity_changed" });
  await assert.rejects(chooseSuite(alice.stores, bob.record), { code: "identity_changed" });
  await assert.rejects(startSession(alice.stores, bundle, SELECTION.default, opts), {
    code: "identity_changed",
  });
  assert.equal(snapshot(alice), blocked);

  await acceptIdentity(alice.stores, bob2.record);
  const { selection } = await chooseSuite(alice.stores, bob2.record);
  await startSession(alice.stores, bundle, selection, opts);
  const first = await sendMessage(alice.stores, "bob", utf8("hi again"), opts);
  assert.equal(text((await receiveMessage(bob2.stores, "alice", first, opts)).content), "hi again");
  assert.equal(await roundTrip(bob2, alice, "ok"), "ok");
  // The old identity's session is closed at Alice: its messages no longer decrypt.
  const late = await sendMessage(bob.stores, "alice", utf8("still me"), opts);
  await assert.rejects(receiveMessage(alice.stores, "bob", late, opts), { code: "decryption_failed" });
});

test("accepting a changed identity never lowers the pinned suite (suite_below_pin, nothing changes)", async () => {
  const all = [...ALL_SUITES];
  const { alice, bob } = await established(SUITE_IDS.hybrid, all);
  assert.equal(bob.stores.contacts.get("alice")?.pin, SUITE_IDS.hybrid);
  // The new identity offers only classical: its verified first contact is recorded as a change...
  const alice2 = await makeParty("alice", SUITE_IDS.classical, [SUITE_IDS.classical]);
  const { suite, first } = await connect(alice2, bob);
  assert.equal(suite, SUITE_IDS.classical);
  await assert.rejects(receiveMessage(bob.stores, "alice", first, opts), { code: "identity_changed" });
  // ...but accepting it would lower the pin below hybrid: refused, and the contact stays blocked.
  const blocked = snapshot(bob);
  await assert.rejects(acceptIdentity(bob.stores, alice2.record), { code: "suite_below_pin" });
  assert.equal(snapshot(bob), blocked);
  await assert.rejects(sendMessage(bob.stores, "alice", utf8("x"), opts), { code: "identity_changed" });
  assert.equal(bob.stores.contacts.get("alice")?.pin, SUITE_IDS.hybrid);
  // The old session stays blocked too (the change is still pending).
  const onOld = await sendMessage(alice.stores, "bob", utf8("old"), opts);
  await assert.rejects(receiveMessage(bob.stores, "alice", onOld, opts), { code: "identity_changed" });
  assert.equal(snapshot(bob), blocked);
});

test("acceptIdentity for an unknown contact pins the record's preferred suite; accepting the same record unblocks nothing else", async () => {
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const carol = await makeParty("carol", SUITE_IDS.quantum);
  await acceptIdentity(bob.stores, carol.record);
  assert.equal(bob.stores.contacts.get("carol")?.pin, SUITE_IDS.quantum);
  const before = sessionsOf(bob);
  await acceptIdentity(bob.stores, carol.record);
  assert.equal(sessionsOf(bob), before);
  assert.equal(bob.stores.contacts.get("carol")?.changed, undefined);
});
