import assert from "node:assert/strict";
import { test } from "node:test";
import { randomBytes, SUITE_IDS } from "../../src/crypto/index.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import type { RatchetState } from "../../src/protocol/ratchet-state.ts";
import { deliver, establishPair, type Party, send } from "./_parties.ts";

/**
 * Hybrid KEM cadence with the default limits (docs/protocol.md §8.3): an offer is attached at the
 * sender's first step once 50 messages or 24 h have passed since the last absorbed KEM secret, and
 * the secret is absorbed at the peer's next step.
 */
const DAY = 24 * 3600 * 1000;
assert.equal(DEFAULT_LIMITS.hybridKemMessages, 50);

interface Pair {
  alice: Party;
  bob: Party;
  a: RatchetState;
  b: RatchetState;
}

/** Bob sends on his current chain until Alice has counted `count` messages since the last KEM secret. */
async function primeAlice(pair: Pair, count: number): Promise<{ sa: RatchetState; sb: RatchetState }> {
  let { a: sa, b: sb } = pair;
  assert.ok(sa.mustStep, "Alice's next send is a step");
  for (let guard = 0; sa.kemMessages < count && guard < 100; guard++) {
    const m = await send(sb, pair.bob, "filler");
    sb = m.state;
    sa = (await deliver(sa, m.envelope)).state;
  }
  assert.equal(sa.kemMessages, count);
  assert.ok(sa.mustStep && sa.ourOffer === null);
  return { sa, sb };
}

test("hybrid cadence N/N+1: 49 messages since the last KEM secret attach no offer, 50 attach one", async () => {
  const pair = await establishPair(SUITE_IDS.hybrid);
  // 49: Alice steps without an offer, and the rest of that chain carries none either.
  const at49 = await primeAlice(pair, 49);
  const noOffer = await send(at49.sa, pair.alice, "49");
  assert.equal(noOffer.state.sendStep.ek, null);
  const same = await send(noOffer.state, pair.alice, "still the same chain");
  assert.equal(same.state.kemMessages, 51);
  assert.equal(same.state.sendStep.ek, null, "no offer without a step");
  // ...the offer comes with her next step, once Bob has replied.
  let sb = (await deliver((await deliver(at49.sb, noOffer.envelope)).state, same.envelope)).state;
  const reply = await send(sb, pair.bob, "reply");
  sb = reply.state;
  const next = await send((await deliver(same.state, reply.envelope)).state, pair.alice, "next step");
  assert.ok(next.state.sendStep.ek, "offer at the next step");

  // 50: the step itself carries the offer, on every message of its chain...
  const at50 = await primeAlice(pair, 50);
  const offer = await send(at50.sa, pair.alice, "50");
  assert.ok(offer.state.sendStep.ek);
  const again = await send(offer.state, pair.alice, "repeat");
  assert.deepEqual(again.state.sendStep.ek, offer.state.sendStep.ek);
  // ...and Bob's next step answers it: Alice absorbs one more KEM secret and her counter restarts.
  const atBob = (await deliver((await deliver(at50.sb, offer.envelope)).state, again.envelope)).state;
  const answer = await send(atBob, pair.bob, "answer");
  assert.ok(answer.state.sendStep.ct);
  const absorbed = (await deliver(again.state, answer.envelope)).state;
  assert.equal(absorbed.epoch, at50.sa.epoch + 1);
  assert.equal(absorbed.kemMessages, 1);
  assert.equal(absorbed.ourOffer, null);
});

test("hybrid cadence N/N+1 in time: 24 h minus 1 ms attach no offer, 24 h attach one", async () => {
  const pair = await establishPair(SUITE_IDS.hybrid);
  const start = pair.a.kemTime;
  assert.equal(
    (await send(pair.a, pair.alice, "early", DEFAULT_LIMITS, start + DAY - 1)).state.sendStep.ek,
    null,
  );
  assert.ok((await send(pair.a, pair.alice, "due", DEFAULT_LIMITS, start + DAY)).state.sendStep.ek);
});

test("hybrid post-compromise security with the default cadence", async () => {
  const pair = await establishPair(SUITE_IDS.hybrid);
  const { sa, sb } = await primeAlice(pair, 50);
  const stepA = await send(sa, pair.alice, "offer");
  assert.ok(stepA.state.ourOffer && stepA.state.sendStep.ek);
  const atBob = await deliver(sb, stepA.envelope);
  const stepB = await send(atBob.state, pair.bob, "answer");
  assert.ok(stepB.state.sendStep.ct);
  // The attacker holds Alice's whole state (root key, chains, every X25519 secret, the offer's public
  // key) but not the decapsulation key made after the compromise: Bob's answering step is closed to it.
  const stolen: RatchetState = structuredClone(stepA.state);
  stolen.ourOffer = { ek: stolen.ourOffer!.ek, seed: randomBytes(64) };
  await assert.rejects(async () => await deliver(stolen, stepB.envelope), { code: "decryption_failed" });
  const atAlice = await deliver(stepA.state, stepB.envelope);
  assert.equal(atAlice.text, "answer");
  assert.equal(atAlice.state.epoch, sa.epoch + 1);
  // Everything after that step stays closed to the attacker as well.
  const later = await send(stepB.state, pair.bob, "later");
  await assert.rejects(async () => await deliver(stolen, later.envelope), { code: "decryption_failed" });
  assert.equal((await deliver(atAlice.state, later.envelope)).text, "later");
});
