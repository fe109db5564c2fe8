import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS, type SuiteId, utf8 } from "../../../src/crypto/index.ts";
import { label, SIGNATURE_CONTEXTS } from "../../../src/crypto/labels.ts";
import { nodeProvider as provider } from "../../../src/crypto/node-provider.ts";
import { NanoError } from "../../../src/errors/index.ts";
import { decodeEnvelope, encodeEnvelope, envelopePrefix } from "../../../src/protocol/envelope.ts";
import {
  encodeFirstContact,
  encodeHandshakeFields,
  trustFirstContact,
} from "../../../src/protocol/first-contact.ts";
import {
  analyzeFirstContact,
  type HeldPrekey,
  initiatorSignedMessage,
  respond,
} from "../../../src/protocol/handshake.ts";
import { type IdentityRecord, identityKeysFor } from "../../../src/protocol/identity-record.ts";
import { DEFAULT_LIMITS } from "../../../src/protocol/limits.ts";
import { pad } from "../../../src/protocol/padding.ts";
import { ratchetEncrypt } from "../../../src/protocol/ratchet.ts";
import { chainStep } from "../../../src/protocol/ratchet-kdf.ts";
import { type RatchetState, ROLES } from "../../../src/protocol/ratchet-state.ts";
import { seal } from "../../../src/protocol/seal.ts";
import { encryptContent, openFirstContact, sealContext } from "../../../src/protocol/session-cipher.ts";
import { receiveMessage, sendMessage } from "../_driver.ts";
import { ALL_SUITES, NOW } from "../_fixtures.ts";
import { connect, makeParty, type Party, roundTrip, snapshot } from "../_parties.ts";

/**
 * Finding 3 of the protocol audit (docs/protocol.md §7.5, §15.1): key-compromise impersonation must not
 * bypass the initiator's signature. The attacker holds Bob's identity secrets and the prekey secrets
 * Alice's handshake used (stolen before Bob consumed them) and sits at the relay. From Alice's genuine
 * first contact it derives the very keys Bob derived, so it can encrypt on Alice's chain 0; what it
 * cannot make is Alice's handshake signature. The responder therefore accepts on chain 0 only signed
 * type-1 envelopes, at any time: honest initiators send nothing else on chain 0.
 */
const opts = { provider, now: NOW, limits: DEFAULT_LIMITS };

/** What the attacker takes from Bob before he processes Alice's first contact (and her public record). */
interface Loot {
  readonly prekeys: Map<number, HeldPrekey>;
  readonly alice: IdentityRecord;
}

function steal(bob: Party, alice: Party): Loot {
  const prekeys = new Map<number, HeldPrekey>();
  for (const held of bob.stores.prekeyMap.values()) {
    prekeys.set(held.prekey.id, { prekey: held.prekey, seed: held.seed!.slice() });
  }
  return { prekeys, alice: alice.record };
}

/**
 * The attacker's sender on Alice's chain 0, at message number `n`: Bob's own responder derivation run
 * with the stolen secrets over Alice's genuine first contact, turned around.
 */
async function chainZeroSender(
  bob: Party,
  stolen: Loot,
  first: Uint8Array,
  n: number,
): Promise<RatchetState> {
  const envelope = decodeEnvelope(provider, first);
  if (envelope.type !== 1) throw new Error("not a first contact");
  const suite = envelope.suite;
  const contact = trustFirstContact(
    await openFirstContact(provider, bob.keys, bob.record, envelope),
    stolen.alice,
  );
  const context = analyzeFirstContact(
    provider,
    suite,
    bob.record,
    contact,
    (_s, id) => stolen.prekeys.get(id),
    NOW,
  );
  const bobs = await respond(provider, bob.keys, bob.record, contact, context, NOW);
  let chainKey = bobs.recvChainKey!;
  for (let i = 0; i < n; i++) chainKey = chainStep(provider, chainKey, suite.id).chainKey;
  // Quantum has no type-2 envelopes: the forger adds a KEM offer so its message is a legal type 3.
  const offer = suite.agreement ? null : (await suite.ratchetKem!.keygen()).publicKey;
  return {
    ...bobs,
    role: ROLES.initiator,
    localIdentityHash: bobs.remoteIdentityHash,
    remoteIdentityHash: bobs.localIdentityHash,
    sendChainKey: chainKey,
    sendHeaderKey: bobs.recvHeaderKey,
    sendN: n,
    sendStep: { dh: contact.ratchetKey, ct: null, ek: offer },
    mustStep: false,
    pending: null,
  };
}

async function forge(bob: Party, stolen: Loot, first: Uint8Array, n: number, text: string) {
  const state = await chainZeroSender(bob, stolen, first, n);
  return (await encryptContent(state, bob.keys, utf8(text), opts)).envelope;
}

/**
 * The other way onto chain 0: a type-1 envelope repeating Alice's handshake fields (anyone can seal to
 * Bob) around the forger's chain-0 message, signed with the best key the forger has: Bob's own.
 */
async function forgeFirstContact(bob: Party, stolen: Loot, first: Uint8Array, n: number) {
  const envelope = decodeEnvelope(provider, first);
  if (envelope.type !== 1) throw new Error("not a first contact");
  const suite = envelope.suite;
  const contact = trustFirstContact(
    await openFirstContact(provider, bob.keys, bob.record, envelope),
    stolen.alice,
  );
  const context = analyzeFirstContact(
    provider,
    suite,
    bob.record,
    contact,
    (_s, id) => stolen.prekeys.get(id),
    NOW,
  );
  const state = {
    ...(await chainZeroSender(bob, stolen, first, n)),
    sendStep: { dh: contact.ratchetKey, ct: null, ek: null },
  };
  const padded = pad(utf8("forged first contact"));
  let body = padded;
  if (suite.postQuantum) {
    const signature = await suite.signature.sign(
      identityKeysFor(bob.keys, suite).signature.seed,
      initiatorSignedMessage(provider, context.transcript, padded),
      label(SIGNATURE_CONTEXTS.handshakeInit),
    );
    body = new Uint8Array([...signature, ...padded]);
  }
  const { message } = await ratchetEncrypt(
    {
      ...state,
      pending: {
        handshake: new Uint8Array(0),
        transcriptHash: context.transcript,
        sealKey: new Uint8Array(0),
      },
    },
    body,
    true,
    opts,
  );
  const plaintext = encodeFirstContact(encodeHandshakeFields(suite, contact), message);
  const sealed = await seal(
    provider,
    suite,
    identityKeysFor(bob.keys, suite).kem.publicKey,
    sealContext(suite, bob.record.hash),
    plaintext,
    envelopePrefix(suite, 1),
  );
  return encodeEnvelope({ type: 1, suite, enc: sealed.enc, sealed: sealed.ciphertext });
}

async function refused(bob: Party, envelope: Uint8Array): Promise<void> {
  const before = snapshot(bob);
  await assert.rejects(
    receiveMessage(bob.stores, "alice", envelope, opts),
    (error: unknown) => NanoError.is(error, "first_chain_unsigned"),
    "an unsigned message on Alice's chain 0 must be refused",
  );
  assert.equal(snapshot(bob), before, "a refused message changes no stored byte");
}

async function pair(suiteId: SuiteId) {
  const alice = await makeParty("alice", suiteId, [suiteId]);
  const bob = await makeParty("bob", suiteId, [suiteId]);
  const { first } = await connect(alice, bob);
  return { alice, bob, first, stolen: await steal(bob, alice) };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

for (const suiteId of ALL_SUITES) {
  const name = provider.suite(suiteId).name;

  test(`${name}: after Alice's signed first contact, an unsigned message on her chain 0 is refused`, async () => {
    const { bob, first, stolen } = await pair(suiteId);
    assert.equal(text((await receiveMessage(bob.stores, "alice", first, opts)).content), "hello");
    await refused(bob, await forge(bob, stolen, first, 1, "send the money to mallory"));
  });

  test(`${name}: still refused after Bob replied, while Alice's chain 0 is his receiving chain`, async () => {
    const { alice, bob, first, stolen } = await pair(suiteId);
    await receiveMessage(bob.stores, "alice", first, opts);
    await sendMessage(bob.stores, "alice", utf8("reply, not yet delivered"), opts);
    await refused(bob, await forge(bob, stolen, first, 5, "forged after the reply"));
    // Alice's real conversation is untouched.
    assert.equal(await roundTrip(bob, alice, "hi"), "hi");
    assert.equal(await roundTrip(alice, bob, "hello again"), "hello again");
  });

  test(`${name}: a forged message cannot take a skipped chain-0 key; Alice's late first contact still opens`, async () => {
    const { alice, bob, first, stolen } = await pair(suiteId);
    const second = await sendMessage(alice.stores, "bob", utf8("second"), opts);
    const third = await sendMessage(alice.stores, "bob", utf8("third"), opts);
    await receiveMessage(bob.stores, "alice", first, opts);
    assert.equal(text((await receiveMessage(bob.stores, "alice", third, opts)).content), "third");
    // Key n = 1 of chain 0 is stored as skipped: the forger encrypts exactly there.
    await refused(bob, await forge(bob, stolen, first, 1, "forged into the gap"));
    assert.equal(text((await receiveMessage(bob.stores, "alice", second, opts)).content), "second");
  });

  test(`${name}: refused even once chain 0 is one of Bob's past receiving chains`, async () => {
    const { alice, bob, first, stolen } = await pair(suiteId);
    const second = await sendMessage(alice.stores, "bob", utf8("second"), opts);
    await receiveMessage(bob.stores, "alice", second, opts);
    assert.equal(await roundTrip(bob, alice, "reply"), "reply");
    assert.equal(await roundTrip(alice, bob, "alice steps"), "alice steps");
    // Chain 0 is retired (n = 0 is still a stored skipped key); a forgery there is refused...
    await refused(bob, await forge(bob, stolen, first, 0, "forged into the old chain"));
    // ...and Alice's genuine first message, late, still opens with that key.
    assert.equal(text((await receiveMessage(bob.stores, "alice", first, opts)).content), "hello");
  });
}

for (const suiteId of [SUITE_IDS.hybrid, SUITE_IDS.quantum]) {
  test(`${provider.suite(suiteId).name}: a type-1 forgery on chain 0 fails the initiator signature (invalid_signature)`, async () => {
    const { bob, first, stolen } = await pair(suiteId);
    await receiveMessage(bob.stores, "alice", first, opts);
    const before = snapshot(bob);
    await assert.rejects(
      receiveMessage(bob.stores, "alice", await forgeFirstContact(bob, stolen, first, 1), opts),
      {
        code: "invalid_signature",
      },
    );
    assert.equal(snapshot(bob), before);
  });
}

test("classical boundary (§15.1): with Bob's signed-prekey secret the forger can still make a type-1 message", async () => {
  // Classical authenticates the initiator by DH1 alone, which Bob's secrets compute: the documented
  // KCI boundary. The chain-0 rule closes the unsigned type-2/3 path in every suite; in classical the
  // type-1 path stays open to this attacker, as it would for a forged first contact.
  const { bob, first, stolen } = await pair(SUITE_IDS.classical);
  await receiveMessage(bob.stores, "alice", first, opts);
  const got = await receiveMessage(bob.stores, "alice", await forgeFirstContact(bob, stolen, first, 1), opts);
  assert.equal(text(got.content), "forged first contact");
});

test("the guard is per session: a new chain from Alice (after Bob's reply) is accepted as type 2/3", async () => {
  const { alice, bob, first } = await pair(SUITE_IDS.hybrid);
  await receiveMessage(bob.stores, "alice", first, opts);
  assert.equal(await roundTrip(bob, alice, "reply"), "reply");
  for (let i = 0; i < 3; i++) assert.equal(await roundTrip(alice, bob, `m${i}`), `m${i}`);
});
