import assert from "node:assert/strict";
import { test } from "node:test";
import { randomBytes, SUITE_IDS, type SuiteId, utf8 } from "../../src/crypto/index.ts";
import { label, SIGNATURE_CONTEXTS } from "../../src/crypto/labels.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";
import { decodeBundleExact } from "../../src/protocol/bundle.ts";
import { decodeEnvelope, encodeEnvelope, envelopePrefix } from "../../src/protocol/envelope.ts";
import { encodeFirstContact, trustFirstContact } from "../../src/protocol/first-contact.ts";
import {
  analyzeFirstContact,
  type HeldPrekey,
  initiate,
  initiatorSignedMessage,
  respond,
} from "../../src/protocol/handshake.ts";
import { type IdentityKeys, identityKeysFor } from "../../src/protocol/identity-record.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { pad } from "../../src/protocol/padding.ts";
import { PREKEY_ROLES } from "../../src/protocol/prekey.ts";
import { ratchetEncrypt } from "../../src/protocol/ratchet.ts";
import type { RatchetState } from "../../src/protocol/ratchet-state.ts";
import { seal } from "../../src/protocol/seal.ts";
import { SELECTION } from "../../src/protocol/selection.ts";
import { openFirstContact, sealContext } from "../../src/protocol/session-cipher.ts";
import { receiveMessage } from "./_driver.ts";
import { ALL_SUITES, NOW } from "./_fixtures.ts";
import { makeParty, type Party, publishBundle, snapshot } from "./_parties.ts";

/**
 * Key-compromise impersonation (docs/protocol.md §15.1). The attacker holds every identity secret of
 * Bob (all suites' signature, DH and KEM keys, taken from his stores) but none of Alice's, and tries
 * to make Bob accept a first contact as Alice's. It knows everything an initiator knows (its own
 * ephemeral key and every encapsulated secret), can open Bob's seals and sign with Bob's keys.
 */
const opts = { provider, now: NOW, limits: DEFAULT_LIMITS };

async function sealFirstContact(state: RatchetState, body: Uint8Array): Promise<Uint8Array> {
  const suite = provider.suite(state.suiteId);
  const { message } = await ratchetEncrypt(state, body, true, opts);
  const sealed = await seal(
    provider,
    suite,
    state.pending!.sealKey,
    sealContext(suite, state.remoteIdentityHash),
    encodeFirstContact(state.pending!.handshake, message),
    envelopePrefix(suite, 1),
  );
  return encodeEnvelope({ type: 1, suite, enc: sealed.enc, sealed: sealed.ciphertext });
}

/** A body with a signature made by `signer` (hybrid, quantum): the attacker has no key of Alice's. */
async function body(suiteId: SuiteId, transcript: Uint8Array, signer: IdentityKeys): Promise<Uint8Array> {
  const suite = provider.suite(suiteId);
  const padded = pad(utf8("I am alice"));
  if (!suite.postQuantum) return padded;
  const signature = await suite.signature.sign(
    identityKeysFor(signer, suite).signature.seed,
    initiatorSignedMessage(provider, transcript, padded),
    label(SIGNATURE_CONTEXTS.handshakeInit),
  );
  const out = new Uint8Array(signature.length + padded.length);
  out.set(signature);
  out.set(padded, signature.length);
  return out;
}

/**
 * The attacker's handshake: fields made by initiate() with its own keys under Alice's record (so it
 * knows EK and every KEM secret), and, where it can, the keys Bob will derive, computed with Bob's
 * stolen secrets through Bob's own responder code (`held` = the prekey secrets it holds or guesses).
 */
async function forge(
  mallory: Party,
  alice: Party,
  bob: Party,
  suiteId: SuiteId,
  held: ((prekey: HeldPrekey) => HeldPrekey) | null,
): Promise<RatchetState> {
  const { bundle } = await publishBundle(bob, suiteId, { oneTimeDh: false });
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
  if (held === null) return state;
  const envelope = decodeEnvelope(
    provider,
    await sealFirstContact(state, await body(suiteId, state.pending!.transcriptHash, mallory.keys)),
  );
  if (envelope.type !== 1) throw new Error("not a first contact");
  // Bob's stolen identity KEM key opens the seal; the record inside is Alice's real one.
  const contact = trustFirstContact(
    await openFirstContact(provider, bob.keys, bob.record, envelope),
    alice.record,
  );
  const stolen = new Map<number, HeldPrekey>();
  for (const record of bob.stores.prekeyMap.values()) {
    stolen.set(record.prekey.id, held({ prekey: record.prekey, seed: record.seed!.slice() }));
  }
  const context = analyzeFirstContact(
    provider,
    provider.suite(suiteId),
    bob.record,
    contact,
    (_s, id) => stolen.get(id),
    NOW,
  );
  const bobs = await respond(provider, bob.keys, bob.record, contact, context, NOW);
  return {
    ...state,
    sessionId: bobs.sessionId,
    rootKey: bobs.rootKey,
    sendChainKey: bobs.recvChainKey,
    sendHeaderKey: bobs.recvHeaderKey,
    nextSendHeaderKey: bobs.nextRecvHeaderKey,
    nextRecvHeaderKey: bobs.nextSendHeaderKey,
  };
}

/** Bob accepts every suite, so the attacker steals identity keys of all three from his store. */
async function parties(suiteId: SuiteId) {
  const bob = await makeParty("bob", SUITE_IDS.classical);
  const stolen = (await bob.stores.ownIdentity()).keys;
  assert.equal(stolen.suites.length, 3);
  return {
    alice: await makeParty("alice", suiteId, [suiteId]),
    bob: { ...bob, keys: stolen },
    mallory: await makeParty("alice", suiteId, [suiteId], { publish: false }), // her own keys, Alice's name
  };
}

for (const suiteId of ALL_SUITES) {
  test(`KCI, suite ${suiteId}: all of Bob's identity secrets do not let an attacker pose as Alice to Bob`, async () => {
    const { alice, bob, mallory } = await parties(suiteId);
    const suite = provider.suite(suiteId);
    const attempts: RatchetState[] = [
      // Everything an initiator computes, with the attacker's own identity key in DH1 (classical,
      // hybrid); in quantum every secret is the attacker's own encapsulation, so the keys are right.
      await forge(mallory, alice, bob, suiteId, null),
    ];
    if (suite.agreement) {
      // Bob's own code with his stolen identity keys, the signed prekey replaced by Bob's identity DH
      // key (a KCI that works where DH1 uses the responder's identity key), PQ prekey secret unknown.
      const ikDh = identityKeysFor(bob.keys, suite).agreement!.seed;
      attempts.push(
        await forge(mallory, alice, bob, suiteId, (h) => ({
          prekey: h.prekey,
          seed: h.prekey.role === PREKEY_ROLES.signedDh ? ikDh.slice() : randomBytes(h.seed!.length),
        })),
      );
    }
    const expected = suiteId === SUITE_IDS.quantum ? "invalid_signature" : "decryption_failed";
    for (const state of attempts) {
      for (const signer of [mallory.keys, bob.keys]) {
        // Each forgery judged on its own: a second one of the same handshake would be refused by the
        // refusal cache (first_contact_refused) before any of the checks this test is about.
        bob.stores.refusedSet.clear();
        const forged = await sealFirstContact(
          state,
          await body(suiteId, state.pending!.transcriptHash, signer),
        );
        const before = snapshot(bob);
        await assert.rejects(
          receiveMessage(bob.stores, "alice", forged, opts),
          (e: unknown) => NanoError.is(e) && e.code === expected,
        );
        assert.equal(snapshot(bob), before);
      }
    }
  });

  test(`KCI boundary, suite ${suiteId}: with Bob's prekey secrets too, only classical falls`, async () => {
    const { alice, bob, mallory } = await parties(suiteId);
    // Bob's identity keys and every prekey secret in his store: the attacker derives Bob's exact keys.
    const state = await forge(mallory, alice, bob, suiteId, (h) => h);
    for (const signer of [mallory.keys, bob.keys]) {
      bob.stores.refusedSet.clear();
      const forged = await sealFirstContact(
        state,
        await body(suiteId, state.pending!.transcriptHash, signer),
      );
      if (suiteId === SUITE_IDS.classical) {
        // The documented limitation (§15.1): DH1 = DH(SPK_B, IK_A) is computable from Bob's side, and
        // classical authenticates the initiator by DH1 alone (deniable, as X3DH).
        const received = await receiveMessage(bob.stores, "alice", forged, opts);
        assert.equal(received.peer, "alice");
        assert.equal(new TextDecoder().decode(received.content), "I am alice");
        return;
      }
      // Hybrid and quantum: the keys are right (the message decrypts), the initiator signature is not.
      const before = snapshot(bob);
      await assert.rejects(receiveMessage(bob.stores, "alice", forged, opts), { code: "invalid_signature" });
      assert.equal(snapshot(bob), before);
    }
  });
}
