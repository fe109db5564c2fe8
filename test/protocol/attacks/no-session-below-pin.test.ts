import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS, utf8 } from "../../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../../src/crypto/node-provider.ts";
import { NanoError } from "../../../src/errors/index.ts";
import { decodeEnvelope } from "../../../src/protocol/envelope.ts";
import { DEFAULT_LIMITS } from "../../../src/protocol/limits.ts";
import { decodeContactSessions } from "../../../src/protocol/session-record.ts";
import { chooseSuite, receiveMessage, sendMessage, startSession } from "../_driver.ts";
import { NOW } from "../_fixtures.ts";
import { connect, makeParty, type Party, publishBundle, roundTrip, snapshot } from "../_parties.ts";

/**
 * Finding 4 of the protocol audit (docs/protocol.md §5, §11.2): a suite downgrade through an archived
 * session. A pair that talked classical and then upgraded to hybrid still had the classical session
 * archived; the relay replays one classical message it held back, the archived session decrypts it and
 * is promoted, and the pair is back to sending classical while both pins say hybrid. The rules: never
 * decrypt on, promote or send on a session below the contact's pin, and delete lower sessions (their
 * keys wiped) when the pin rises.
 */
const opts = { provider, now: NOW, limits: DEFAULT_LIMITS };
const all = [SUITE_IDS.classical, SUITE_IDS.hybrid, SUITE_IDS.quantum];

function sessionSuites(party: Party, peer: string): number[] {
  const sessions = decodeContactSessions(provider, party.stores.sessionMap.get(peer)!);
  return [sessions.active, ...sessions.archived].filter((s) => s !== null).map((s) => s.suiteId);
}

/** A classical conversation, one classical message from each side held back by the relay, then hybrid. */
async function upgradedPair() {
  const alice = await makeParty("alice", SUITE_IDS.classical, all);
  const bob = await makeParty("bob", SUITE_IDS.classical, all);
  const { suite, first } = await connect(alice, bob);
  assert.equal(suite, SUITE_IDS.classical);
  await receiveMessage(bob.stores, "alice", first, opts);
  assert.equal(await roundTrip(bob, alice, "classical reply"), "classical reply");
  assert.equal(await roundTrip(alice, bob, "classical again"), "classical again");
  const heldFromBob = await sendMessage(bob.stores, "alice", utf8("held back by the relay"), opts);
  const heldFromAlice = await sendMessage(alice.stores, "bob", utf8("held back too"), opts);
  // Alice upgrades: an explicit hybrid session; Bob takes its first contact. Both pins rise.
  const { selection } = await chooseSuite(alice.stores, bob.record, SUITE_IDS.hybrid);
  const { bundle } = await publishBundle(bob, SUITE_IDS.hybrid);
  await startSession(alice.stores, bundle, selection, opts);
  const upgrade = await sendMessage(alice.stores, "bob", utf8("now hybrid"), opts);
  await receiveMessage(bob.stores, "alice", upgrade, opts);
  assert.equal(await roundTrip(bob, alice, "hybrid reply"), "hybrid reply");
  assert.equal(alice.stores.contacts.get("bob")?.pin, SUITE_IDS.hybrid);
  assert.equal(bob.stores.contacts.get("alice")?.pin, SUITE_IDS.hybrid);
  return { alice, bob, heldFromBob, heldFromAlice };
}

async function refusedBelowPin(party: Party, from: string, envelope: Uint8Array) {
  const before = snapshot(party);
  await assert.rejects(
    receiveMessage(party.stores, from, envelope, opts),
    (error: unknown) => NanoError.is(error, "suite_below_pin"),
    "a message on a session below the pin must be refused",
  );
  assert.equal(snapshot(party), before, "and change nothing");
}

test("a replayed classical message after the upgrade to hybrid is refused on both sides; sending stays hybrid", async () => {
  const { alice, bob, heldFromBob, heldFromAlice } = await upgradedPair();
  assert.equal(decodeEnvelope(provider, heldFromBob).suite.id, SUITE_IDS.classical);
  await refusedBelowPin(alice, "bob", heldFromBob);
  await refusedBelowPin(bob, "alice", heldFromAlice);
  const next = await sendMessage(alice.stores, "bob", utf8("still hybrid?"), opts);
  assert.equal(decodeEnvelope(provider, next).suite.id, SUITE_IDS.hybrid);
  const back = await sendMessage(bob.stores, "alice", utf8("and you?"), opts);
  assert.equal(decodeEnvelope(provider, back).suite.id, SUITE_IDS.hybrid);
});

test("when the pin rises, the lower-suite sessions are deleted on both sides", async () => {
  const { alice, bob } = await upgradedPair();
  assert.deepEqual(sessionSuites(alice, "bob"), [SUITE_IDS.hybrid]);
  assert.deepEqual(sessionSuites(bob, "alice"), [SUITE_IDS.hybrid]);
});

test("sendMessage refuses an active session below the pin (suite_below_pin, nothing changes)", async () => {
  const alice = await makeParty("alice", SUITE_IDS.classical, all);
  const bob = await makeParty("bob", SUITE_IDS.classical, all);
  await connect(alice, bob);
  // A store whose pin rose without its sessions being pruned (an older client, a restored backup).
  const contact = alice.stores.contacts.get("bob")!;
  alice.stores.contacts.set("bob", { ...contact, pin: SUITE_IDS.hybrid });
  const before = snapshot(alice);
  await assert.rejects(sendMessage(alice.stores, "bob", utf8("x"), opts), { code: "suite_below_pin" });
  assert.equal(snapshot(alice), before);
});
