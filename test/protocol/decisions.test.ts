import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { decodeBundleExact } from "../../src/protocol/bundle.ts";
import { decodeEnvelope } from "../../src/protocol/envelope.ts";
import { acceptIdentity } from "../../src/protocol/identity-trust.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import { wipeConsumed } from "../../src/protocol/outcomes.ts";
import { receiveMessage } from "../../src/protocol/receive-message.ts";
import { SELECTION } from "../../src/protocol/selection.ts";
import { sendMessage } from "../../src/protocol/send-message.ts";
import { chooseSuite, startSession } from "../../src/protocol/session-start.ts";
import { isEmpty } from "../../src/protocol/stores.ts";
import { decideWithDirectory, receiveMessage as receive, sendMessage as send } from "./_driver.ts";
import { NOW } from "./_fixtures.ts";
import { connect, makeParty, publishBundle, snapshot } from "./_parties.ts";

/**
 * The protocol's operations are decisions (docs/protocol.md §11.3): they read, never write, and
 * return an outcome with the writes to commit and the secrets to wipe. These tests hold them to it:
 * nothing a decision does changes a stored byte until the caller applies the writes, every expected
 * result is a value (never an exception), and a changed identity is ONE write, not a write then a throw.
 */
const opts = { provider, now: NOW, limits: DEFAULT_LIMITS };

test("no decision writes: every stored byte is unchanged until the caller applies the outcome", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const { bundle } = await publishBundle(bob, SUITE_IDS.hybrid);
  const aliceBefore = snapshot(alice);
  const chosen = await chooseSuite(alice.stores, bob.record);
  assert.equal(chosen.kind, "chosen");
  const started = await startSession(provider, alice.stores, {
    bundle: await decodeBundleExact(provider, bundle, NOW),
    selection: SELECTION.default,
    peer: "bob",
  });
  assert.equal(started.kind, "started");
  assert.equal(snapshot(alice), aliceBefore, "startSession decided, wrote nothing");
  if (started.kind !== "started") return;
  await alice.stores.apply(started.writes);
  const afterStart = snapshot(alice);
  const sent = await sendMessage(provider, alice.stores, { peer: "bob", content: utf8("hello") }, opts);
  assert.equal(sent.kind, "sent");
  assert.equal(snapshot(alice), afterStart, "sendMessage decided, wrote nothing");
  if (sent.kind !== "sent") return;
  // Sending twice from the same stored state (the caller did not commit) gives two envelopes.
  assert.ok(sent.consumed.length > 0, "the superseded state's secrets are listed to wipe");
  await alice.stores.apply(sent.writes);
  wipeConsumed(sent);
  const bobBefore = snapshot(bob);
  const envelope = decodeEnvelope(provider, sent.envelope);
  const asked = await receiveMessage(provider, bob.stores, { relaySender: "alice", envelope }, opts);
  assert.deepEqual(asked, { kind: "needs_record", username: "alice" });
  const delivered = await receiveMessage(
    provider,
    bob.stores,
    { relaySender: "alice", envelope, provenRecord: alice.record },
    opts,
  );
  assert.equal(delivered.kind, "delivered");
  assert.equal(snapshot(bob), bobBefore, "receiveMessage decided, wrote nothing");
  if (delivered.kind !== "delivered") return;
  assert.equal(new TextDecoder().decode(delivered.content), "hello");
  assert.equal(delivered.newSession, true);
  assert.equal(delivered.writes.replay.length, 1);
  assert.equal(delivered.writes.consumedPrekeys.length, 2, "the one-time X25519 and ML-KEM keys");
});

test("hostile input is a refused outcome, never an exception; only the refusal cache is written", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const { first } = await connect(alice, bob);
  const before = snapshot(bob);
  const parsed = decodeEnvelope(provider, first);
  // Flips inside the encapsulation and the sealed bytes: the envelope still decodes, the seal does not open.
  const from = 4;
  const lengthField = first.length - (parsed.type === 1 ? parsed.sealed.length : 0) - 4;
  for (let i = 0; i < 40; i++) {
    const copy = first.slice();
    let at = from + Math.floor(Math.random() * (copy.length - from));
    if (at >= lengthField && at < lengthField + 4) at = lengthField + 4;
    copy[at]! ^= 0x01;
    const outcome = await receiveMessage(
      provider,
      bob.stores,
      { relaySender: "alice", envelope: decodeEnvelope(provider, copy) },
      opts,
    );
    assert.equal(outcome.kind, "refused");
    if (outcome.kind !== "refused") continue;
    assert.deepEqual(
      Object.entries(outcome.writes)
        .filter(([, list]) => list.length > 0)
        .map(([name]) => name),
      outcome.writes.refused.length > 0 ? ["refused"] : [],
    );
    await bob.stores.apply(outcome.writes);
  }
  assert.equal(snapshot(bob), before);
  // A message on no session at all.
  const none = await receiveMessage(
    provider,
    bob.stores,
    {
      relaySender: "carol",
      envelope: decodeEnvelope(provider, await send(alice.stores, "bob", utf8("x"), opts)),
    },
    opts,
  );
  assert.equal(none.kind, "refused");
});

test("a changed identity is one outcome with one write (the block), and the next call is blocked without writes", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const { first } = await connect(alice, bob);
  await receive(bob.stores, "alice", first, opts);
  const bob2 = await makeParty("bob", SUITE_IDS.hybrid);
  const outcome = await chooseSuite(alice.stores, bob2.record);
  assert.equal(outcome.kind, "blocked");
  if (outcome.kind !== "blocked") return;
  assert.equal(outcome.peer, "bob");
  assert.deepEqual(
    outcome.writes.contacts.map((c) => [c.username, c.contact.changed?.hash]),
    [["bob", bob2.record.hash]],
  );
  assert.equal(isEmpty({ ...outcome.writes, contacts: [] }), true, "nothing but the contact");
  await alice.stores.apply(outcome.writes);
  const again = await sendMessage(provider, alice.stores, { peer: "bob", content: utf8("x") }, opts);
  assert.equal(again.kind, "blocked");
  assert.equal(again.kind === "blocked" && isEmpty(again.writes), true);
  // Held on the receive side: bob's messages on the old session stay at the relay, nothing written.
  const fromBob = await send(bob.stores, "alice", utf8("old session"), opts);
  const held = await decideWithDirectory(alice.stores, "bob", fromBob, opts);
  assert.equal(held.kind, "held");
  assert.equal(held.kind === "held" && isEmpty(held.writes), true);
  // Accepting is a decision too: its writes lift the block.
  const accepted = await acceptIdentity(provider, alice.stores, bob2.record);
  assert.equal(accepted.kind, "accepted");
  if (accepted.kind === "accepted") await alice.stores.apply(accepted.writes);
  assert.equal(alice.stores.contacts.get("bob")?.changed, undefined);
});

test("a pin below the session is a refused outcome of sendMessage, not a throw", async () => {
  const all = [SUITE_IDS.classical, SUITE_IDS.hybrid, SUITE_IDS.quantum];
  const alice = await makeParty("alice", SUITE_IDS.classical, all);
  const bob = await makeParty("bob", SUITE_IDS.classical, all);
  await connect(alice, bob);
  const contact = alice.stores.contacts.get("bob")!;
  alice.stores.contacts.set("bob", { ...contact, pin: SUITE_IDS.hybrid });
  const outcome = await sendMessage(provider, alice.stores, { peer: "bob", content: utf8("x") }, opts);
  assert.equal(outcome.kind === "refused" && outcome.error.code, "suite_below_pin");
});
