import assert from "node:assert/strict";
import { test } from "node:test";
import { blake2b, type SuiteId, utf8 } from "../../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../../src/crypto/node-provider.ts";
import { decodeBundleExact } from "../../../src/protocol/bundle.ts";
import { decodeEnvelope, encodeEnvelope, envelopePrefix } from "../../../src/protocol/envelope.ts";
import { encodeFirstContact } from "../../../src/protocol/first-contact.ts";
import { initiate } from "../../../src/protocol/handshake.ts";
import type { IdentityRecord } from "../../../src/protocol/identity-record.ts";
import { DEFAULT_LIMITS } from "../../../src/protocol/limits.ts";
import type { ReceiveOutcome } from "../../../src/protocol/outcomes.ts";
import { pad } from "../../../src/protocol/padding.ts";
import { ratchetEncrypt } from "../../../src/protocol/ratchet.ts";
import { receiveMessage as decide } from "../../../src/protocol/receive-message.ts";
import { seal } from "../../../src/protocol/seal.ts";
import { SELECTION } from "../../../src/protocol/selection.ts";
import { sealContext } from "../../../src/protocol/session-cipher.ts";
import type { MemoryStores, ProtocolView } from "../../../src/protocol/stores.ts";
import { decideWithDirectory } from "../_driver.ts";
import { ALL_SUITES, NOW } from "../_fixtures.ts";
import { makeParty, type Party, publishBundle } from "../_parties.ts";

/**
 * Finding 5 of the protocol audit (docs/protocol.md §7.7): forged first contacts were cheap to make and
 * expensive to refuse. Identity-record signatures were verified while parsing, before the prekey lookup,
 * the replay check and decryption, so one envelope built once and resent cost the recipient 9-18 ms
 * each. Now the cheapest checks come first and signatures last: a resent refused envelope costs one
 * cache lookup (the seal is not even opened), a forged record is compared byte for byte with the
 * proven one and never verified, and a re-sealed copy of a refused handshake stops at the transcript.
 * (What each costs is measured by `npm run bench -- protocol`.)
 */
const opts = { provider, now: NOW, limits: DEFAULT_LIMITS };

/** A view that records which reads a decision made. */
function counting(stores: MemoryStores): { view: ProtocolView; calls: string[] } {
  const calls: string[] = [];
  const view = new Proxy(stores, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { view, calls };
}

/** An initiator's first-contact plaintext for Bob, sealed as often as the caller likes. */
async function forgery(signer: Party, record: IdentityRecord, bob: Party, suiteId: SuiteId) {
  const suite = provider.suite(suiteId);
  const { bundle } = await publishBundle(bob, suiteId);
  const state = await initiate(
    provider,
    signer.keys,
    record,
    await decodeBundleExact(provider, bundle, NOW),
    {
      selection: SELECTION.default,
      now: NOW,
    },
  );
  const padded = pad(utf8("forged"));
  const body = suite.postQuantum
    ? new Uint8Array([...new Uint8Array(suite.signature.lengths.signature), ...padded])
    : padded;
  const { message } = await ratchetEncrypt(state, body, true, opts);
  const plaintext = encodeFirstContact(state.pending!.handshake, message);
  return async () => {
    const sealed = await seal(
      provider,
      suite,
      state.pending!.sealKey,
      sealContext(suite, state.remoteIdentityHash),
      plaintext,
      envelopePrefix(suite, 1),
    );
    return encodeEnvelope({ type: 1, suite, enc: sealed.enc, sealed: sealed.ciphertext });
  };
}

async function decideCounting(bob: Party, sender: string, envelope: Uint8Array) {
  const { view, calls } = counting(bob.stores);
  const outcome: ReceiveOutcome = await decide(
    provider,
    view,
    { relaySender: sender, envelope: decodeEnvelope(provider, envelope) },
    opts,
  );
  if (outcome.kind === "refused") await bob.stores.apply(outcome.writes);
  return { outcome, calls };
}

const code = (outcome: ReceiveOutcome) => (outcome.kind === "refused" ? outcome.error.code : outcome.kind);

for (const suiteId of ALL_SUITES) {
  const name = provider.suite(suiteId).name;

  test(`${name}: a resent refused forgery costs one lookup; the seal is not opened`, async () => {
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const posingAsAlice = await makeParty("alice", suiteId, [suiteId], { publish: false });
    const envelope = await (await forgery(posingAsAlice, posingAsAlice.record, bob, suiteId))();
    const first = await decideCounting(bob, "mallory", envelope);
    assert.equal(code(first.outcome), "first_contact_sender_mismatch");
    for (let i = 0; i < 3; i++) {
      const again = await decideCounting(bob, "mallory", envelope);
      assert.equal(code(again.outcome), "first_contact_refused");
      assert.deepEqual(again.calls, ["wasRefused"], "one cache lookup, nothing else (no seal opened)");
    }
  });

  test(`${name}: a forged record is never signature-checked: a broken self-signature is just "not proven"`, async () => {
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const posingAsAlice = await makeParty("alice", suiteId, [suiteId], { publish: false });
    // Alice's real record exists in the directory; the forged one carries a broken signature.
    await makeParty("alice", suiteId, [suiteId]);
    const encoded = posingAsAlice.record.encoded.slice();
    encoded[encoded.length - 1]! ^= 1;
    const broken: IdentityRecord = { ...posingAsAlice.record, encoded, hash: blake2b(encoded) };
    const envelope = await (await forgery(posingAsAlice, broken, bob, suiteId))();
    const outcome = await decideWithDirectory(bob.stores, "alice", envelope, opts);
    assert.equal(code(outcome), "identity_not_proven", "compared with the proven record, never verified");
  });

  test(`${name}: cheap checks first: an unknown-prekey forgery never asks for the proven record`, async () => {
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const posingAsAlice = await makeParty("alice", suiteId, [suiteId], { publish: false });
    const make = await forgery(posingAsAlice, posingAsAlice.record, bob, suiteId);
    // Bob loses every prekey the forgery names: prekey_not_found before any trust decision.
    const held = new Map(bob.stores.prekeyMap);
    bob.stores.prekeyMap.clear();
    const unknown = await decideCounting(bob, "alice", await make());
    assert.equal(code(unknown.outcome), "prekey_not_found");
    assert.equal(unknown.calls.includes("getContact"), false, "no trust decision, no key-transparency fetch");
    for (const [k, v] of held) bob.stores.prekeyMap.set(k, v);
    // Without the proven record the decision stops before any secret is used, and asks.
    const asked = await decideCounting(bob, "alice", await make());
    assert.equal(asked.outcome.kind, "needs_record");
    assert.equal(asked.calls.includes("hasReplay"), false, "nothing past the trust decision ran");
  });

  test(`${name}: a re-sealed copy of a refused handshake stops at the transcript (no DH, KEM or signature)`, async () => {
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const mallory = await makeParty("alice", suiteId, [suiteId], { publish: false });
    // Alice's real (proven) record with Mallory's keys: it passes every cheap check and fails the crypto.
    const reseal = await forgery(mallory, alice.record, bob, suiteId);
    const first = await decideWithDirectory(bob.stores, "alice", await reseal(), opts);
    assert.ok(["decryption_failed", "invalid_signature"].includes(code(first)), code(first));
    if (first.kind === "refused") await bob.stores.apply(first.writes);
    const copy = await decideWithDirectory(bob.stores, "alice", await reseal(), opts);
    assert.equal(code(copy), "first_contact_refused");
  });
}
