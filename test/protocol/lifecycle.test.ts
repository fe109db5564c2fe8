import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS } from "../../src/crypto/index.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/limits.ts";
import type { RatchetState } from "../../src/protocol/ratchet-state.ts";
import { SELECTION } from "../../src/protocol/selection.ts";
import { installSession, sendingSession } from "../../src/protocol/session-lifecycle.ts";
import { EMPTY_SESSIONS } from "../../src/protocol/session-record.ts";
import { type MemoryStores, writes } from "../../src/protocol/stores.ts";
import { receiveMessage, rotatePrekeys, startSession } from "./_driver.ts";
import { assertCode, NOW } from "./_fixtures.ts";
import { connect, deliver, establishPair, makeParty, publishBundle, send } from "./_parties.ts";

const DAY = 24 * 3600 * 1000;

test("archive: at most 5 sessions, dropped after 30 days; the newest is the one we send on", async () => {
  const { a } = await establishPair(SUITE_IDS.classical);
  let sessions = EMPTY_SESSIONS;
  await assertCode(() => sendingSession(sessions), "no_session");
  const versions: RatchetState[] = [];
  for (let i = 0; i < 7; i++) {
    const state: RatchetState = { ...a, created: NOW + i, lastReceived: 0 };
    versions.push(state);
    sessions = installSession(sessions, state, NOW + i, DEFAULT_LIMITS);
  }
  assert.equal(sendingSession(sessions), versions[6]);
  assert.equal(sessions.archived.length, 5);
  assert.equal(sessions.archived[0], versions[5]);
  const later = installSession(sessions, { ...a, created: NOW + 31 * DAY }, NOW + 31 * DAY, DEFAULT_LIMITS);
  assert.equal(later.archived.length, 0);
});

test("hybrid KEM cadence: no offer before 50 messages or 24 h, an offer at the next step after either", async () => {
  const { alice, bob, a, b } = await establishPair(SUITE_IDS.hybrid);
  let sa = a;
  let sb = b;
  // Bob's reply answered ek_0: a KEM secret was just absorbed, so the next steps carry no offer...
  for (let i = 0; i < 3; i++) {
    const m = await send(sa, alice, "a");
    sa = m.state;
    assert.equal(sa.sendStep.ek, null);
    sb = (await deliver(sb, m.envelope)).state;
    const r = await send(sb, bob, "b");
    sb = r.state;
    sa = (await deliver(sa, r.envelope)).state;
  }
  // ...until 24 hours have passed.
  const m = await send(sa, alice, "a day later", DEFAULT_LIMITS, NOW + DAY);
  assert.ok(m.state.sendStep.ek, "an offer after 24 h");
  const r = await send(
    (await deliver(sb, m.envelope, DEFAULT_LIMITS, NOW + DAY)).state,
    bob,
    "answer",
    DEFAULT_LIMITS,
    NOW + DAY,
  );
  assert.ok(r.state.sendStep.ct, "the next step answers it");
  assert.equal((await deliver(m.state, r.envelope, DEFAULT_LIMITS, NOW + DAY)).state.epoch, sa.epoch + 1);
});

test("replay cache entries leave with their prekey", async () => {
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const stores: MemoryStores = bob.stores;
  await stores.apply(
    writes({
      replay: [
        { handshakeHash: new Uint8Array(64).fill(1), anchor: { suite: 2, id: 7 } },
        { handshakeHash: new Uint8Array(64).fill(2), anchor: { suite: 2, id: 8 } },
      ],
    }),
  );
  await stores.apply(writes({ removedPrekeys: [{ suite: 2, id: 7 }] }));
  assert.equal(await stores.hasReplay(new Uint8Array(64).fill(1)), false);
  assert.equal(await stores.hasReplay(new Uint8Array(64).fill(2)), true);
});

test("rotation deletes expired prekeys with their replay entries; the bundle's owner is checked", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const { first } = await connect(alice, bob);
  await receiveMessage(bob.stores, "alice", first, { now: NOW });
  assert.equal(bob.stores.replayMap.size, 1);
  const early = await rotatePrekeys(bob.stores, { now: NOW });
  assert.equal(early.expired.length, 0);
  const late = await rotatePrekeys(bob.stores, { now: NOW + 91 * DAY });
  assert.equal(late.expired.length, 3);
  assert.equal(bob.stores.prekeyMap.size, 0);
  assert.equal(bob.stores.replayMap.size, 0);
  assert.ok(late.renew.length >= 2);
  const carol = await makeParty("carol", SUITE_IDS.hybrid);
  const { bundle } = await publishBundle(bob, SUITE_IDS.hybrid);
  await assert.rejects(startSession(carol.stores, bundle, SELECTION.default, { now: NOW, peer: "dave" }), {
    code: "certificate_mismatch",
  });
});
