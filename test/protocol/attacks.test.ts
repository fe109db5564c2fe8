import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { randomBytes, SUITE_IDS, type SuiteId, utf8 } from "../../src/crypto/index.ts";
import { label, SIGNATURE_CONTEXTS } from "../../src/crypto/labels.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";
import { decodeBundleExact, encodeBundle } from "../../src/protocol/bundle.ts";
import { encodeEnvelope, envelopePrefix } from "../../src/protocol/envelope.ts";
import { encodeFirstContact } from "../../src/protocol/first-contact.ts";
import { initiate, initiatorSignedMessage } from "../../src/protocol/handshake.ts";
import { IDENTITY_RECORD_SLOT_BYTES } from "../../src/protocol/identity-record.ts";
import { DEFAULT_LIMITS, tightenLimits } from "../../src/protocol/limits.ts";
import { pad } from "../../src/protocol/padding.ts";
import { generatePrekey, PREKEY_ROLES } from "../../src/protocol/prekey.ts";
import { ratchetEncrypt } from "../../src/protocol/ratchet.ts";
import type { RatchetState } from "../../src/protocol/ratchet-state.ts";
import { seal } from "../../src/protocol/seal.ts";
import { defaultSuite, SELECTION } from "../../src/protocol/selection.ts";
import { sealContext } from "../../src/protocol/session-cipher.ts";
import { receiveMessage, sendMessage, startSession } from "./_driver.ts";
import { ALL_SUITES, assertCode, mutations, NOW } from "./_fixtures.ts";
import {
  activeState,
  connect,
  deliver,
  establishPair,
  makeParty,
  type Party,
  publishBundle,
  roundTrip,
  send,
  snapshot,
} from "./_parties.ts";

const opts = { provider, now: NOW, limits: DEFAULT_LIMITS };

/** Builds a first-contact envelope from an initiator state with a body of the attacker's choosing. */
async function craftFirstContact(
  state: RatchetState,
  body: Uint8Array,
  handshake = state.pending!.handshake,
): Promise<Uint8Array> {
  const suite = provider.suite(state.suiteId);
  const { message } = await ratchetEncrypt(state, body, true, opts);
  const plaintext = encodeFirstContact(handshake, message);
  const sealed = await seal(
    provider,
    suite,
    state.pending!.sealKey,
    sealContext(suite, state.remoteIdentityHash),
    plaintext,
    envelopePrefix(suite, 1),
  );
  return encodeEnvelope({ type: 1, suite, enc: sealed.enc, sealed: sealed.ciphertext });
}

async function signBody(
  alice: Party,
  suiteId: SuiteId,
  transcript: Uint8Array,
  signed: Uint8Array,
  carried = signed,
) {
  const suite = provider.suite(suiteId);
  const keys = alice.keys.suites.find((s) => s.suite.id === suiteId)!;
  const signature = await suite.signature.sign(
    keys.signature.seed,
    initiatorSignedMessage(provider, transcript, signed),
    label(SIGNATURE_CONTEXTS.handshakeInit),
  );
  const out = new Uint8Array(signature.length + carried.length);
  out.set(signature);
  out.set(carried, signature.length);
  return out;
}

async function initiatorState(alice: Party, bob: Party, suiteId: SuiteId): Promise<RatchetState> {
  const { bundle } = await publishBundle(bob, suiteId);
  return await initiate(provider, alice.keys, alice.record, await decodeBundleExact(provider, bundle, NOW), {
    selection: SELECTION.default,
    now: NOW,
  });
}

for (const suiteId of ALL_SUITES) {
  test(`suite ${suiteId}: anyone can seal to Bob, so hostile first-contact plaintexts get typed errors only`, async () => {
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const state = await initiatorState(alice, bob, suiteId);
    const suite = provider.suite(suiteId);
    const padded = pad(utf8("fuzz"));
    const body = suite.postQuantum
      ? await signBody(alice, suiteId, state.pending!.transcriptHash, padded)
      : padded;
    const { message } = await ratchetEncrypt(state, body, true, opts);
    const plaintext = encodeFirstContact(state.pending!.handshake, message);
    const before = snapshot(bob);
    await fc.assert(
      fc.asyncProperty(mutations(plaintext), async (mutated) => {
        const sealed = await seal(
          provider,
          suite,
          state.pending!.sealKey,
          sealContext(suite, bob.record.hash),
          mutated,
          envelopePrefix(suite, 1),
        );
        const envelope = encodeEnvelope({ type: 1, suite, enc: sealed.enc, sealed: sealed.ciphertext });
        await assert.rejects(receiveMessage(bob.stores, "alice", envelope, opts), (e: unknown) =>
          NanoError.is(e),
        );
        assert.equal(snapshot(bob), before);
      }),
      { numRuns: 250 },
    );
  });
}

test("3x3 preferred-mode matrix: default selection agrees on both sides and round-trips", async () => {
  for (const prefA of ALL_SUITES) {
    for (const prefB of ALL_SUITES) {
      const alice = await makeParty("alice", prefA);
      const bob = await makeParty("bob", prefB);
      const expected = defaultSuite(alice.record, bob.record).id;
      const { suite, first } = await connect(alice, bob);
      assert.equal(suite, expected);
      if (prefA !== SUITE_IDS.classical) assert.notEqual(suite, SUITE_IDS.classical, "never below the floor");
      assert.equal((await receiveMessage(bob.stores, "alice", first, opts)).peer, "alice");
      assert.equal(await roundTrip(bob, alice, "ok"), "ok");
      for (const explicit of ALL_SUITES) {
        const both = [alice, bob].every((p) => p.record.keys.some((k) => k.suite.id === explicit));
        const run = async () =>
          connect(await makeParty("alice", prefA), await makeParty("bob", prefB), { explicit });
        if (both) assert.equal((await run()).suite, explicit);
        else await assert.rejects(run, { code: "suite_not_accepted" });
      }
    }
  }
});

test("responder recomputes the selection: a default-flagged choice that is not the default is refused", async () => {
  const alice = await makeParty("alice", SUITE_IDS.classical);
  const bob = await makeParty("bob", SUITE_IDS.quantum);
  assert.equal(defaultSuite(alice.record, bob.record).id, SUITE_IDS.hybrid);
  const { bundle } = await publishBundle(bob, SUITE_IDS.quantum);
  await assert.rejects(
    async () =>
      await initiate(provider, alice.keys, alice.record, await decodeBundleExact(provider, bundle, NOW), {
        selection: SELECTION.default,
        now: NOW,
      }),
    { code: "suite_mismatch" },
  );
  // With the explicit flag the same suite is accepted by both sides.
  await startSession(alice.stores, bundle, SELECTION.explicit, opts);
  const env = await sendMessage(alice.stores, "bob", utf8("explicit quantum"), opts);
  assert.equal(
    new TextDecoder().decode((await receiveMessage(bob.stores, "alice", env, opts)).content),
    "explicit quantum",
  );
});

for (const suiteId of ALL_SUITES) {
  test(`suite ${suiteId}: replayed first contact is replayed_prekey_message with no state change`, async () => {
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const { first } = await connect(alice, bob);
    const second = await sendMessage(alice.stores, "bob", utf8("second"), opts);
    assert.equal((await receiveMessage(bob.stores, "alice", first, opts)).newSession, true);
    const after = snapshot(bob);
    await assert.rejects(receiveMessage(bob.stores, "alice", first, opts), {
      code: "replayed_prekey_message",
    });
    assert.equal(snapshot(bob), after);
    // A later first-contact message of the same handshake is a new message of that session.
    const got = await receiveMessage(bob.stores, "alice", second, opts);
    assert.equal(new TextDecoder().decode(got.content), "second");
    assert.equal(got.newSession, false);
    const after2 = snapshot(bob);
    await assert.rejects(receiveMessage(bob.stores, "alice", second, opts), {
      code: "replayed_prekey_message",
    });
    assert.equal(snapshot(bob), after2);
    // One-time secrets are gone, the public part stays.
    const consumed = [...bob.stores.prekeyMap.values()].filter((h) => h.seed === null);
    assert.equal(consumed.length, suiteId === SUITE_IDS.quantum ? 1 : suiteId === SUITE_IDS.hybrid ? 2 : 1);
  });

  test(`suite ${suiteId}: tampered first contact fails and changes no stored byte`, async () => {
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const { first } = await connect(alice, bob);
    const before = snapshot(bob);
    for (let i = 0; i < 60; i++) {
      const copy = first.slice();
      const at = i < 8 ? i : Math.floor(Math.random() * copy.length);
      copy[at]! ^= 0x10;
      await assert.rejects(
        receiveMessage(bob.stores, "alice", copy, opts),
        (e: unknown) => e instanceof Error && "code" in e,
      );
      assert.equal(snapshot(bob), before);
    }
    assert.equal((await receiveMessage(bob.stores, "alice", first, opts)).peer, "alice");
  });

  test(`suite ${suiteId}: key-compromise impersonation of Alice to Bob fails`, async () => {
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const mallory = await makeParty("alice", suiteId, [suiteId], { publish: false }); // her own keys, Alice's name
    const { bundle } = await publishBundle(bob, suiteId);
    const state = await initiate(
      provider,
      mallory.keys,
      alice.record,
      await decodeBundleExact(provider, bundle, NOW),
      {
        selection: SELECTION.default,
        now: NOW,
      },
    );
    const suite = provider.suite(suiteId);
    const padded = pad(utf8("I am alice"));
    const body = suite.postQuantum
      ? await signBody(mallory, suiteId, state.pending!.transcriptHash, padded)
      : padded;
    const forged = await craftFirstContact(state, body);
    const before = snapshot(bob);
    await assert.rejects(receiveMessage(bob.stores, "alice", forged, opts), {
      code: suiteId === SUITE_IDS.quantum ? "invalid_signature" : "decryption_failed",
    });
    assert.equal(snapshot(bob), before);
  });
}

for (const suiteId of [SUITE_IDS.hybrid, SUITE_IDS.quantum]) {
  test(`suite ${suiteId}: replayed signature from another handshake, and a re-encrypted payload, fail`, async () => {
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const one = await initiatorState(alice, bob, suiteId);
    const two = await initiatorState(alice, bob, suiteId);
    const padded = pad(utf8("payload 0"));
    const before = snapshot(bob);
    // Signature over handshake one, carried in handshake two.
    const replayed = await craftFirstContact(
      two,
      await signBody(alice, suiteId, one.pending!.transcriptHash, padded),
    );
    await assert.rejects(receiveMessage(bob.stores, "alice", replayed, opts), { code: "invalid_signature" });
    bob.stores.refusedSet.clear(); // the next forgery reuses handshake two: judged on its own
    // Valid signature over payload 0, but another payload re-encrypted under it.
    const swapped = await craftFirstContact(
      two,
      await signBody(alice, suiteId, two.pending!.transcriptHash, padded, pad(utf8("payload X"))),
    );
    await assert.rejects(receiveMessage(bob.stores, "alice", swapped, opts), { code: "invalid_signature" });
    assert.equal(snapshot(bob), before);
    // A refused handshake stays refused (§7.7): its later messages are refused for one lookup. Only
    // its initiator or a holder of Bob's identity secret can make one; Alice's other handshakes work.
    const honest = await craftFirstContact(
      two,
      await signBody(alice, suiteId, two.pending!.transcriptHash, padded),
    );
    await assert.rejects(receiveMessage(bob.stores, "alice", honest, opts), {
      code: "first_contact_refused",
    });
    const three = await initiatorState(alice, bob, suiteId);
    const control = await craftFirstContact(
      three,
      await signBody(alice, suiteId, three.pending!.transcriptHash, padded),
    );
    assert.equal((await receiveMessage(bob.stores, "alice", control, opts)).peer, "alice");
  });

  test(`suite ${suiteId}: re-encapsulating to another PQ prekey than the one named is detected`, async () => {
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const other = await generatePrekey(provider, bob.keys, bob.record, suiteId, PREKEY_ROLES.pqOneTime, {
      created: NOW - 1000,
    });
    await bob.stores.putPrekey(other);
    const state = await initiatorState(alice, bob, suiteId);
    const handshake = state.pending!.handshake.slice();
    // pq_id follows selection, the record slot (u32 length || record || zeros), H(IR_R) and (hybrid)
    // the signed DH id.
    const at = 1 + 4 + IDENTITY_RECORD_SLOT_BYTES + 64 + (suiteId === SUITE_IDS.hybrid ? 4 : 0);
    new DataView(handshake.buffer).setUint32(at, other.prekey.id);
    const padded = pad(utf8("x"));
    const envelope = await craftFirstContact(
      state,
      await signBody(alice, suiteId, state.pending!.transcriptHash, padded),
      handshake,
    );
    const before = snapshot(bob);
    await assert.rejects(receiveMessage(bob.stores, "alice", envelope, opts), { code: "decryption_failed" });
    assert.equal(snapshot(bob), before);
  });

  test(`suite ${suiteId}: post-compromise security: without the fresh KEM key, state and every X25519 secret do not decrypt`, async () => {
    const limits = tightenLimits({ hybridKemMessages: 1 });
    const { alice, bob, a, b } = await establishPair(suiteId);
    const stepA = await send(a, alice, "offer", limits); // Alice steps with a fresh offer
    assert.ok(stepA.state.sendStep.ek);
    const atBob = await deliver(b, stepA.envelope, limits);
    const stepB = await send(atBob.state, bob, "answer", limits); // Bob answers it and offers anew
    assert.ok(stepB.state.sendStep.ct && stepB.state.sendStep.ek);
    // An attacker holding Alice's whole current state (root key, chains, all X25519 secrets) but
    // not the decapsulation key made after the theft cannot follow Bob's step.
    const stolenA: RatchetState = structuredClone(stepA.state);
    stolenA.ourOffer = { ek: stolenA.ourOffer!.ek, seed: randomBytes(64) };
    await assert.rejects(async () => await deliver(stolenA, stepB.envelope, limits), {
      code: "decryption_failed",
    });
    const atAlice = await deliver(stepA.state, stepB.envelope, limits);
    assert.equal(atAlice.text, "answer");
    // And the other direction.
    const stepA2 = await send(atAlice.state, alice, "answer back", limits);
    const stolenB: RatchetState = structuredClone(stepB.state);
    stolenB.ourOffer = { ek: stolenB.ourOffer!.ek, seed: randomBytes(64) };
    await assert.rejects(async () => await deliver(stolenB, stepA2.envelope, limits), {
      code: "decryption_failed",
    });
    assert.equal((await deliver(stepB.state, stepA2.envelope, limits)).text, "answer back");
  });

  test(`suite ${suiteId}: stripping the KEM answer from a step is kem_answer_missing`, async () => {
    const limits = tightenLimits({ hybridKemMessages: 1 });
    const { alice, a, b } = await establishPair(suiteId);
    // Bob's reply answered ek_0; make Alice's next step carry a new offer, then Bob's must answer it.
    const stepA = await send(a, alice, "offer", limits);
    const atBob = (await deliver(b, stepA.envelope, limits)).state;
    const stripped: RatchetState = structuredClone(atBob);
    stripped.peerOffer = null; // a sender that "forgot" to answer
    const bad = await send(stripped, { ...alice, keys: alice.keys }, "no answer", limits);
    await assert.rejects(async () => await deliver(stepA.state, bad.envelope, limits), {
      code: "kem_answer_missing",
    });
  });
}

for (const suiteId of [SUITE_IDS.hybrid, SUITE_IDS.quantum]) {
  test(`suite ${suiteId}: a reflected KEM offer (our own ek sent back) is kem_offer_reflected`, async () => {
    const limits = tightenLimits({ hybridKemMessages: 1 });
    const { alice, bob, a, b } = await establishPair(suiteId);
    const stepA = await send(a, alice, "offer", limits);
    const ours = stepA.state.ourOffer!.ek;
    const stepB = await send((await deliver(b, stepA.envelope, limits)).state, bob, "answer", limits);
    // A sender whose chain carries Alice's own offer back to her.
    const reflecting: RatchetState = structuredClone(stepB.state);
    reflecting.sendStep = { ...reflecting.sendStep, ek: ours };
    const reflected = await send(reflecting, bob, "reflected", limits);
    await assert.rejects(async () => await deliver(stepA.state, reflected.envelope, limits), {
      code: "kem_offer_reflected",
    });
    assert.equal((await deliver(stepA.state, stepB.envelope, limits)).text, "answer");
  });
}

test("classical: a low-order first ratchet key is refused before anything is stored", async () => {
  const alice = await makeParty("alice", SUITE_IDS.classical, [SUITE_IDS.classical]);
  const bob = await makeParty("bob", SUITE_IDS.classical, [SUITE_IDS.classical]);
  const state = await initiatorState(alice, bob, SUITE_IDS.classical);
  const handshake = state.pending!.handshake.slice();
  // RAT_I is the last 32 bytes of a classical handshake (after EK_I).
  handshake.fill(0, handshake.length - 32);
  const before = snapshot(bob);
  await assert.rejects(
    receiveMessage(bob.stores, "alice", await craftFirstContact(state, pad(utf8("x")), handshake), opts),
    {
      code: "low_order_point",
    },
  );
  assert.equal(snapshot(bob), before);
});

test("hybrid: a hybrid-only initiator refuses a classical bundle (no stripping to classical)", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.classical);
  const { bundle } = await publishBundle(bob, SUITE_IDS.classical);
  await assert.rejects(startSession(alice.stores, bundle, SELECTION.explicit, opts), {
    code: "suite_not_accepted",
  });
  // Rewriting a hybrid envelope's suite to classical fails to parse or decrypt.
  const carol = await makeParty("carol", SUITE_IDS.classical);
  const { first } = await connect(alice, carol);
  const rewritten = first.slice();
  rewritten[2] = SUITE_IDS.classical;
  await assert.rejects(receiveMessage(carol.stores, "alice", rewritten, opts));
});

test("relay swapping prekeys across slots, suites or identities is detected at the bundle", async () => {
  const bob = await makeParty("bob", SUITE_IDS.classical);
  const mallory = await makeParty("bob", SUITE_IDS.classical);
  const mk = async (owner: Party, suite: SuiteId, role: (typeof PREKEY_ROLES)[keyof typeof PREKEY_ROLES]) =>
    (await generatePrekey(provider, owner.keys, owner.record, suite, role, { created: NOW - 1000 })).prekey;
  const dh = await mk(bob, SUITE_IDS.hybrid, PREKEY_ROLES.signedDh);
  const pq = await mk(bob, SUITE_IDS.hybrid, PREKEY_ROLES.pqOneTime);
  const ok = encodeBundle(SUITE_IDS.hybrid, bob.record, dh, pq, null);
  await decodeBundleExact(provider, ok, NOW);
  // X25519 key in the ML-KEM slot and vice versa.
  await assertCode(
    async () =>
      await decodeBundleExact(provider, encodeBundle(SUITE_IDS.hybrid, bob.record, pq, dh, null), NOW),
    "prekey_mismatch",
  );
  // A one-time X25519 key in the signed slot.
  const otk = await mk(bob, SUITE_IDS.hybrid, PREKEY_ROLES.oneTimeDh);
  await assertCode(
    async () =>
      await decodeBundleExact(provider, encodeBundle(SUITE_IDS.hybrid, bob.record, otk, pq, null), NOW),
    "prekey_mismatch",
  );
  // Mallory's ML-KEM key (signed by her, same name) in Bob's bundle.
  const evil = await mk(mallory, SUITE_IDS.hybrid, PREKEY_ROLES.pqOneTime);
  await assertCode(
    async () =>
      await decodeBundleExact(provider, encodeBundle(SUITE_IDS.hybrid, bob.record, dh, evil, null), NOW),
    "invalid_signature",
  );
  // A quantum-suite prekey in a hybrid bundle.
  const q = await mk(bob, SUITE_IDS.quantum, PREKEY_ROLES.pqOneTime);
  await assertCode(
    async () =>
      await decodeBundleExact(provider, encodeBundle(SUITE_IDS.hybrid, bob.record, dh, q, null), NOW),
    "prekey_mismatch",
  );
  // Expired prekeys.
  await assertCode(
    async () => await decodeBundleExact(provider, ok, NOW + 365 * 24 * 3600 * 1000),
    "prekey_expired",
  );
});

test("misbinding: a message re-addressed to another recipient or claimed by another sender fails", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const carol = await makeParty("carol", SUITE_IDS.hybrid);
  const toBob = await connect(alice, bob);
  await receiveMessage(bob.stores, "alice", toBob.first, opts);
  const toCarol = await connect(alice, carol);
  await receiveMessage(carol.stores, "alice", toCarol.first, opts);
  await assert.rejects(receiveMessage(carol.stores, "alice", toBob.first, opts), {
    code: "decryption_failed",
  });
  await roundTrip(bob, alice, "hi");
  const msg = await sendMessage(alice.stores, "bob", utf8("for bob"), opts);
  const before = snapshot(carol);
  await assert.rejects(receiveMessage(carol.stores, "alice", msg, opts), { code: "decryption_failed" });
  assert.equal(snapshot(carol), before);
  // Carol's message to Bob claimed as Alice's by the relay: Bob tries Alice's sessions and fails.
  const carolToBob = await connect(carol, bob);
  await receiveMessage(bob.stores, "carol", carolToBob.first, opts);
  await roundTrip(bob, carol, "hey");
  const fromCarol = await sendMessage(carol.stores, "bob", utf8("carol"), opts);
  await assert.rejects(receiveMessage(bob.stores, "alice", fromCarol, opts), { code: "decryption_failed" });
  assert.equal(
    new TextDecoder().decode((await receiveMessage(bob.stores, "carol", fromCarol, opts)).content),
    "carol",
  );
});

test("forward secrecy: a later full state cannot decrypt earlier messages", async () => {
  for (const suiteId of ALL_SUITES) {
    const { alice, bob, a, b } = await establishPair(suiteId);
    const m1 = await send(a, alice, "early");
    const r1 = await deliver(b, m1.envelope);
    const reply = await send(r1.state, bob, "reply");
    const m2 = await send((await deliver(m1.state, reply.envelope)).state, alice, "later");
    const later = (await deliver(reply.state, m2.envelope)).state;
    await assert.rejects(
      async () => await deliver(later, m1.envelope),
      (e: unknown) => e instanceof Error && "code" in e,
    );
    assert.equal(later.skipped.length, 0);
    assert.equal(activeState(alice, "bob").pending, null, "pending handshake cleared after the reply");
  }
});

test("simultaneous initiation converges on one session once either side replies", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const fromAlice = await connect(alice, bob);
  const fromBob = await connect(bob, alice);
  await receiveMessage(bob.stores, "alice", fromAlice.first, opts);
  await receiveMessage(alice.stores, "bob", fromBob.first, opts);
  // Each now sends on the session that most recently received; one round trip settles it.
  assert.equal(await roundTrip(alice, bob, "a1"), "a1");
  assert.equal(await roundTrip(bob, alice, "b1"), "b1");
  assert.equal(await roundTrip(alice, bob, "a2"), "a2");
  const sa = activeState(alice, "bob");
  const sb = activeState(bob, "alice");
  assert.deepEqual(sa.sessionId, sb.sessionId);
});

test("a changed identity blocks the contact until accepted", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const { first } = await connect(alice, bob);
  await receiveMessage(bob.stores, "alice", first, opts);
  const alice2 = await makeParty("alice", SUITE_IDS.hybrid);
  const { first: again } = await connect(alice2, bob);
  await assert.rejects(receiveMessage(bob.stores, "alice", again, opts), { code: "identity_changed" });
});
