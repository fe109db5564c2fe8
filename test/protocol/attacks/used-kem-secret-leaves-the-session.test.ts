import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS, toHex } from "../../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../../src/crypto/node-provider.ts";
import { DEFAULT_LIMITS } from "../../../src/protocol/limits.ts";
import { encodeRatchetState } from "../../../src/protocol/session-record.ts";
import { receiveMessage } from "../_driver.ts";
import { NOW } from "../_fixtures.ts";
import { activeState, connect, deliver, makeParty, roundTrip, send } from "../_parties.ts";

/**
 * Finding 7 of the protocol audit (docs/protocol.md §8.3, §11.1): once a KEM offer is answered and its
 * secret absorbed, its decapsulation key has no use left (only its public part is compared, to refuse
 * a reflected offer), yet it stayed in the stored session. Whoever later reads the stored state (a
 * stolen disk, a backup) could decapsulate the recorded answer and recompute that step's secret,
 * undoing the post-compromise security the KEM step paid for. It must be wiped after use, with only a
 * hash of its public key kept.
 */
const opts = { provider, now: NOW, limits: DEFAULT_LIMITS };

for (const suiteId of [SUITE_IDS.hybrid, SUITE_IDS.quantum]) {
  const name = provider.suite(suiteId).name;

  test(`${name}: the initiator's ek_0 decapsulation key is gone from the stored session once answered`, async () => {
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const { first } = await connect(alice, bob);
    const seed = activeState(alice, "bob").ourOffer!.seed.slice();
    await receiveMessage(bob.stores, "alice", first, opts);
    assert.equal(await roundTrip(bob, alice, "reply answers ek_0"), "reply answers ek_0");
    const stored = toHex(alice.stores.sessionMap.get("bob")!);
    assert.equal(stored.includes(toHex(seed)), false, "the used decapsulation key must not be stored");
    const state = activeState(alice, "bob");
    assert.equal(state.ourOffer, null);
    assert.equal(state.previousOfferHash?.length, 64, "a hash of the answered offer is kept");
  });

  test(`${name}: no state ever holds more than the one open decapsulation key, over many steps`, async () => {
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const { first } = await connect(alice, bob);
    await receiveMessage(bob.stores, "alice", first, opts);
    await roundTrip(bob, alice, "reply");
    let a = activeState(alice, "bob");
    let b = activeState(bob, "alice");
    const used: string[] = [];
    const limits = { ...DEFAULT_LIMITS, hybridKemMessages: 1 };
    for (let i = 0; i < 6; i++) {
      const m = await send(a, alice, `a${i}`, limits);
      a = m.state;
      if (a.ourOffer) used.push(toHex(a.ourOffer.seed));
      b = (await deliver(b, m.envelope, limits)).state;
      const r = await send(b, bob, `b${i}`, limits);
      b = r.state;
      if (b.ourOffer) used.push(toHex(b.ourOffer.seed));
      a = (await deliver(a, r.envelope, limits)).state;
    }
    assert.ok(used.length >= 6, "the exchange made KEM offers on both sides");
    const records = toHex(alice.stores.sessionMap.get("bob")!) + toHex(bob.stores.sessionMap.get("alice")!);
    const live = toHex(encodeRatchetState(a)) + toHex(encodeRatchetState(b));
    const open = [a.ourOffer, b.ourOffer].filter((o) => o !== null).map((o) => toHex(o.seed));
    for (const seed of used) {
      if (open.includes(seed)) continue;
      assert.equal(live.includes(seed), false, "an answered offer's secret survives in a state");
      assert.equal(records.includes(seed), false);
    }
  });
}
