import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { SELECTION, selectSuite } from "../../src/protocol/selection.ts";
import { MemoryStores } from "../../src/protocol/stores.ts";
import { chooseSuite, receiveMessage, sendMessage, startSession } from "./_driver.ts";
import { ALL_SUITES, NOW } from "./_fixtures.ts";
import { connect, makeParty, type Party, publishBundle, snapshot } from "./_parties.ts";

/** Selection, floors and pins (docs/protocol.md §5): never a silent change, never a lower suite. */
const opts = { now: NOW, limits: DEFAULT_LIMITS };

/** The same identity on a fresh device state (lost sessions and contacts): a reset. */
function reset(party: Party): Party {
  return { ...party, stores: new MemoryStores(party.keys, party.record) };
}

test("no_common_suite: a quantum-floored sender and a classical-only peer", async () => {
  const alice = await makeParty("alice", SUITE_IDS.quantum); // accepts quantum and hybrid
  const bob = await makeParty("bob", SUITE_IDS.classical, [SUITE_IDS.classical]);
  const before = snapshot(alice);
  await assert.rejects(chooseSuite(alice.stores, bob.record), { code: "no_common_suite" });
  assert.equal(snapshot(alice), before);
});

test("explicit mode not accepted by the peer (or by us) is suite_not_accepted, never another suite", async () => {
  const alice = await makeParty("alice", SUITE_IDS.classical); // accepts every suite
  const bob = await makeParty("bob", SUITE_IDS.hybrid); // hybrid only
  const before = snapshot(alice);
  await assert.rejects(chooseSuite(alice.stores, bob.record, SUITE_IDS.classical), {
    code: "suite_not_accepted",
  });
  await assert.rejects(chooseSuite(alice.stores, bob.record, SUITE_IDS.quantum), {
    code: "suite_not_accepted",
  });
  await assert.rejects(chooseSuite(bob.stores, alice.record, SUITE_IDS.classical), {
    code: "suite_not_accepted",
  });
  assert.equal(snapshot(alice), before);
  // Without the explicit mode the same pair meets on hybrid.
  assert.equal((await chooseSuite(alice.stores, bob.record)).suite.id, SUITE_IDS.hybrid);
  assert.equal((await chooseSuite(alice.stores, bob.record, SUITE_IDS.hybrid)).selection, SELECTION.explicit);
});

test("suite_below_pin on both sides: a reset never lowers the suite", async () => {
  const all = [...ALL_SUITES];
  const alice = await makeParty("alice", SUITE_IDS.hybrid, all);
  const bob = await makeParty("bob", SUITE_IDS.hybrid, all);
  const { suite, first } = await connect(alice, bob);
  assert.equal(suite, SUITE_IDS.hybrid);
  await receiveMessage(bob.stores, "alice", first, opts);
  assert.equal(alice.stores.contacts.get("bob")?.pin, SUITE_IDS.hybrid);
  assert.equal(bob.stores.contacts.get("alice")?.pin, SUITE_IDS.hybrid);

  // Initiator: choosing or starting a classical session with a hybrid-pinned contact is refused.
  const aliceBefore = snapshot(alice);
  await assert.rejects(chooseSuite(alice.stores, bob.record, SUITE_IDS.classical), {
    code: "suite_below_pin",
  });
  const { bundle: classical } = await publishBundle(bob, SUITE_IDS.classical);
  await assert.rejects(startSession(alice.stores, classical, SELECTION.explicit, opts), {
    code: "suite_below_pin",
  });
  assert.equal(snapshot(alice), aliceBefore);

  // Responder: Alice resets (fresh state, same identity) and starts classical: Bob refuses it.
  const fresh = reset(alice);
  const lowered = await connect(fresh, bob, { explicit: SUITE_IDS.classical });
  assert.equal(lowered.suite, SUITE_IDS.classical);
  const bobBefore = snapshot(bob);
  await assert.rejects(receiveMessage(bob.stores, "alice", lowered.first, opts), { code: "suite_below_pin" });
  assert.equal(snapshot(bob), bobBefore);

  // A reset at the pinned suite is a new session, accepted (and shown to the user by the client).
  const again = await connect(reset(alice), bob);
  const received = await receiveMessage(bob.stores, "alice", again.first, opts);
  assert.equal(received.newSession, true);
  assert.equal(bob.stores.contacts.get("alice")?.pin, SUITE_IDS.hybrid);
});

test("the pin rises with a higher suite and then holds", async () => {
  const all = [...ALL_SUITES];
  const alice = await makeParty("alice", SUITE_IDS.classical, all);
  const bob = await makeParty("bob", SUITE_IDS.classical, all);
  const low = await connect(alice, bob);
  assert.equal(low.suite, SUITE_IDS.classical);
  await receiveMessage(bob.stores, "alice", low.first, opts);
  assert.equal(bob.stores.contacts.get("alice")?.pin, SUITE_IDS.classical);
  const high = await connect(reset(alice), bob, { explicit: SUITE_IDS.quantum });
  await receiveMessage(bob.stores, "alice", high.first, opts);
  assert.equal(bob.stores.contacts.get("alice")?.pin, SUITE_IDS.quantum);
  const back = await connect(reset(alice), bob, { explicit: SUITE_IDS.classical });
  await assert.rejects(receiveMessage(bob.stores, "alice", back.first, opts), { code: "suite_below_pin" });
  // The session Bob sends on is still the quantum one.
  const reply = await sendMessage(bob.stores, "alice", utf8("q"), opts);
  assert.equal(reply[2], SUITE_IDS.quantum);
  assert.throws(() => selectSuite(alice.record, bob.record, { pin: SUITE_IDS.quantum, explicit: 1 }), {
    code: "suite_below_pin",
  });
});
