import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { decodeBundleExact } from "../../src/protocol/bundle.ts";
import { encodeEnvelope, envelopePrefix } from "../../src/protocol/envelope.ts";
import { encodeFirstContact } from "../../src/protocol/first-contact.ts";
import { initiate } from "../../src/protocol/handshake.ts";
import { createIdentityRecord } from "../../src/protocol/identity-record.ts";
import { DEFAULT_LIMITS, tightenLimits } from "../../src/protocol/limits.ts";
import { ratchetEncrypt } from "../../src/protocol/ratchet.ts";
import type { RatchetState } from "../../src/protocol/ratchet-state.ts";
import { seal } from "../../src/protocol/seal.ts";
import { SELECTION } from "../../src/protocol/selection.ts";
import { sealContext } from "../../src/protocol/session-cipher.ts";
import { MemoryStores } from "../../src/protocol/stores.ts";
import { receiveMessage, sendMessage, startSession } from "./_driver.ts";
import { NOW } from "./_fixtures.ts";
import {
  connect,
  deliver,
  establishPair,
  makeParty,
  type Party,
  publishBundle,
  send,
  snapshot,
  stateBytes,
} from "./_parties.ts";

/** One test per typed error path the reviewer found untested; each checks that nothing changed. */
const opts = { provider, now: NOW, limits: DEFAULT_LIMITS };
const DAY = 24 * 3600 * 1000;

test("unexpected_kem_answer: a step carrying a KEM answer when no offer of ours is open", async () => {
  const { alice, bob, a, b } = await establishPair(SUITE_IDS.hybrid);
  const stepA = await send(a, alice, "no offer"); // default cadence: no offer this early
  assert.equal(stepA.state.ourOffer, null);
  const atBob = (await deliver(b, stepA.envelope)).state;
  // A sender that answers an offer Alice never made.
  const lying: RatchetState = structuredClone(atBob);
  lying.peerOffer = (await provider.suite(SUITE_IDS.hybrid).ratchetKem!.keygen()).publicKey;
  const bad = await send(lying, bob, "answer to nothing");
  assert.ok(bad.state.sendStep.ct);
  const before = stateBytes(stepA.state);
  await assert.rejects(async () => await deliver(stepA.state, bad.envelope), {
    code: "unexpected_kem_answer",
  });
  assert.equal(stateBytes(stepA.state), before);
  assert.equal((await deliver(stepA.state, (await send(atBob, bob, "honest")).envelope)).text, "honest");
});

test("kem_offer_reflected: the peer repeating its own earlier offer at a later step", async () => {
  const limits = tightenLimits({ hybridKemMessages: 1 });
  const { alice, bob, a, b } = await establishPair(SUITE_IDS.hybrid);
  const stepA = await send(a, alice, "offer A", limits);
  const stepB = await send((await deliver(b, stepA.envelope, limits)).state, bob, "answer, offer B", limits);
  const offerB = stepB.state.sendStep.ek!;
  const atAlice = (await deliver(stepA.state, stepB.envelope, limits)).state;
  const stepA2 = await send(atAlice, alice, "answer B, offer A2", limits);
  const atBob = (await deliver(stepB.state, stepA2.envelope, limits)).state;
  const stepB2 = await send(atBob, bob, "answer A2, offer B2", limits);
  assert.ok(stepB2.state.sendStep.ct && stepB2.state.sendStep.ek);
  // Bob's new chain carries his old offer B again instead of a fresh one.
  const repeating: RatchetState = structuredClone(stepB2.state);
  repeating.sendStep = { ...repeating.sendStep, ek: offerB };
  const repeated = await send(repeating, bob, "old offer", limits);
  const before = stateBytes(stepA2.state);
  // The repeated-offer branch, not the "one of our own" one: offer B was never Alice's.
  await assert.rejects(async () => await deliver(stepA2.state, repeated.envelope, limits), {
    code: "kem_offer_reflected",
    message: /repeated an earlier offer/,
  });
  assert.equal(stateBytes(stepA2.state), before);
  assert.equal((await deliver(stepA2.state, stepB2.envelope, limits)).text, "answer A2, offer B2");
});

test("prekey_not_found: a one-time key already consumed (a bundle handed out twice)", async () => {
  const alice = await makeParty("alice", SUITE_IDS.classical, [SUITE_IDS.classical]);
  const carol = await makeParty("carol", SUITE_IDS.classical, [SUITE_IDS.classical]);
  const bob = await makeParty("bob", SUITE_IDS.classical, [SUITE_IDS.classical]);
  const { bundle } = await publishBundle(bob, SUITE_IDS.classical);
  const first = async (who: Party) => {
    await startSession(who.stores, bundle, SELECTION.default, opts);
    return sendMessage(who.stores, "bob", utf8(`from ${who.name}`), opts);
  };
  const fromAlice = await first(alice);
  const fromCarol = await first(carol);
  await receiveMessage(bob.stores, "alice", fromAlice, opts);
  const consumed = [...bob.stores.prekeyMap.values()].filter((held) => held.seed === null);
  assert.equal(consumed.length, 1, "the one-time key is a tombstone");
  const before = snapshot(bob);
  await assert.rejects(receiveMessage(bob.stores, "carol", fromCarol, opts), { code: "prekey_not_found" });
  assert.equal(snapshot(bob), before);
});

test("stale_identity_record: a first contact naming an older record of ours", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const { bundle } = await publishBundle(bob, SUITE_IDS.hybrid);
  const state = await initiate(
    provider,
    alice.keys,
    alice.record,
    await decodeBundleExact(provider, bundle, NOW),
    {
      selection: SELECTION.default,
      now: NOW,
    },
  );
  // Bob has since published a new record (same keys): the seal is addressed to it, the handshake
  // still names the old one.
  const newRecord = await createIdentityRecord(provider, bob.keys, SUITE_IDS.hybrid, { created: NOW - 500 });
  assert.notDeepEqual(newRecord.hash, bob.record.hash);
  const bob2: Party = { ...bob, record: newRecord, stores: new MemoryStores(bob.keys, newRecord) };
  for (const [k, v] of bob.stores.prekeyMap) bob2.stores.prekeyMap.set(k, v);
  const suite = provider.suite(SUITE_IDS.hybrid);
  const { message } = await ratchetEncrypt(
    state,
    new Uint8Array(suite.signature.lengths.signature + 256),
    true,
    opts,
  );
  const sealed = await seal(
    provider,
    suite,
    state.pending!.sealKey,
    sealContext(suite, newRecord.hash),
    encodeFirstContact(state.pending!.handshake, message),
    envelopePrefix(suite, 1),
  );
  const envelope = encodeEnvelope({ type: 1, suite, enc: sealed.enc, sealed: sealed.ciphertext });
  const before = snapshot(bob2);
  await assert.rejects(receiveMessage(bob2.stores, "alice", envelope, opts), {
    code: "stale_identity_record",
  });
  assert.equal(snapshot(bob2), before);
});

test("prekey_expired on the responder: a first contact arriving after its prekey expired", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const { first } = await connect(alice, bob);
  const before = snapshot(bob);
  await assert.rejects(receiveMessage(bob.stores, "alice", first, { ...opts, now: NOW + 365 * DAY }), {
    code: "prekey_expired",
  });
  assert.equal(snapshot(bob), before);
  // Before expiry the same message is accepted.
  assert.equal((await receiveMessage(bob.stores, "alice", first, opts)).newSession, true);
});
