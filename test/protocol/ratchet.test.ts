import assert from "node:assert/strict";
import { test } from "node:test";
import { randomBytes, SUITE_IDS } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { tightenLimits } from "../../src/protocol/limits.ts";
import { MAX_PADDED_CONTENT } from "../../src/protocol/padding.ts";
import type { RatchetState } from "../../src/protocol/ratchet-state.ts";
import { decodeRatchetStateExact, encodeRatchetState } from "../../src/protocol/session-record.ts";
import { ALL_SUITES, assertCode } from "./_fixtures.ts";
import { deliver, establishPair, type Party, send, stateBytes } from "./_parties.ts";

async function sendMany(state: RatchetState, from: Party, count: number, prefix: string) {
  const envelopes: Uint8Array[] = [];
  let current = state;
  for (let i = 0; i < count; i++) {
    const sent = await send(current, from, `${prefix}${i}`);
    current = sent.state;
    envelopes.push(sent.envelope);
  }
  return { state: current, envelopes };
}

for (const suiteId of ALL_SUITES) {
  test(`suite ${suiteId}: interleaved, out of order, across steps, with restarts`, async () => {
    const { alice, bob, a, b } = await establishPair(suiteId);
    let sa = a;
    let sb = b;
    const first = await sendMany(sa, alice, 3, "a");
    sa = first.state;
    // Bob reads #2 first, then #0; #1 arrives after Bob's reply and Alice's next step.
    sb = (await deliver(sb, first.envelopes[2]!)).state;
    const r0 = await deliver(sb, first.envelopes[0]!);
    assert.equal(r0.text, "a0");
    sb = r0.state;
    const reply = await send(sb, bob, "b-reply");
    sb = reply.state;
    sa = (await deliver(sa, reply.envelope)).state;
    const next = await send(sa, alice, "a-next");
    sa = decodeRatchetStateExact(provider, encodeRatchetState(next.state)); // restart Alice
    const late = await deliver(sb, next.envelope);
    assert.equal(late.text, "a-next");
    sb = decodeRatchetStateExact(provider, encodeRatchetState(late.state)); // restart Bob
    const old = await deliver(sb, first.envelopes[1]!);
    assert.equal(old.text, "a1");
    sb = old.state;
    await assertCode(async () => await deliver(sb, first.envelopes[1]!), "duplicate_message");
    await assertCode(async () => await deliver(sb, next.envelope), "duplicate_message");
    assert.equal((await deliver(sa, (await send(sb, bob, "again")).envelope)).text, "again");
  });

  test(`suite ${suiteId}: bodies from 1 byte to the envelope maximum`, async () => {
    const { alice, a, b } = await establishPair(suiteId);
    let sa = a;
    let sb = b;
    for (const size of [1, 251, 252, 253, 1000, 4092, 4093, 16380, MAX_PADDED_CONTENT]) {
      const body = randomBytes(size);
      const sent = await send(sa, alice, body);
      sa = sent.state;
      assert.ok(sent.envelope.length <= 65536);
      const got = await deliver(sb, sent.envelope);
      sb = got.state;
      assert.deepEqual(got.content, body);
    }
    await assertCode(
      async () => await send(sa, alice, randomBytes(MAX_PADDED_CONTENT + 1)),
      "content_too_large",
    );
  });
}

test("skip limit: exactly 1,000 skipped keys pass, 1,001 fail before any key is derived", async () => {
  const limits = tightenLimits({});
  const { alice, a, b } = await establishPair(SUITE_IDS.classical);
  const run = await sendMany(a, alice, 1002, "m");
  const at = await deliver(b, run.envelopes[1000]!, limits);
  assert.equal(at.text, "m1000");
  const before = stateBytes(b);
  await assertCode(async () => await deliver(b, run.envelopes[1001]!, limits), "too_many_skipped");
  assert.equal(stateBytes(b), before);
  // The 1,000 skipped keys are stored and usable once each.
  const sb = (await deliver(at.state, run.envelopes[999]!)).state;
  await assertCode(async () => await deliver(sb, run.envelopes[999]!), "duplicate_message");
});

test("stored skipped keys: at most the total, oldest evicted; receiver chains capped", async () => {
  const limits = tightenLimits({ maxSkipPerChain: 10, maxSkippedTotal: 12, maxReceiverChains: 2 });
  const { alice, bob, a, b } = await establishPair(SUITE_IDS.hybrid);
  let sa = a;
  let sb = b;
  const lost: Uint8Array[] = [];
  for (let round = 0; round < 4; round++) {
    const batch = await sendMany(sa, alice, 6, `r${round}-`);
    sa = batch.state;
    lost.push(batch.envelopes[0]!);
    sb = (await deliver(sb, batch.envelopes[5]!, limits)).state;
    assert.ok(sb.skipped.length <= 12);
    const reply = await send(sb, bob, "ack", limits);
    sb = reply.state;
    sa = (await deliver(sa, reply.envelope, limits)).state;
  }
  assert.equal(sb.previousRecvHeaderKeys.length, 2);
  // Stored keys belong to the current chain or one of the two remembered past chains.
  assert.ok(new Set(sb.skipped.map((s) => Buffer.from(s.headerKey).toString("hex"))).size <= 3);
  // The first round's chain was evicted: its message can no longer be opened.
  await assertCode(async () => await deliver(sb, lost[0]!, limits), "decryption_failed");
  assert.equal((await deliver(sb, lost[3]!, limits)).text, "r3-0");
});

test("sending chain limit: chain_exhausted at the cap", async () => {
  const limits = tightenLimits({ maxChainLength: 3 });
  const { alice, a } = await establishPair(SUITE_IDS.classical);
  const run = await sendMany(a, alice, 3, "x");
  await assertCode(async () => await send(run.state, alice, "too many", limits), "chain_exhausted");
});

for (const suiteId of ALL_SUITES) {
  test(`suite ${suiteId}: every tampered byte fails and leaves the state byte-identical`, async () => {
    const { alice, bob, a, b } = await establishPair(suiteId);
    // A step message (Alice's first after Bob's reply) and a plain one.
    const step = await send(a, alice, "step");
    const plain = await send(step.state, alice, "plain");
    const before = stateBytes(b);
    for (const envelope of [step.envelope, plain.envelope]) {
      const positions = new Set<number>([0, 1, 2, 3, envelope.length - 1]);
      for (let i = 0; i < 120; i++) positions.add(Math.floor(Math.random() * envelope.length));
      for (const at of positions) {
        const copy = envelope.slice();
        copy[at]! ^= 1 << (at % 8);
        await assert.rejects(async () => await deliver(b, copy));
        assert.equal(stateBytes(b), before);
      }
    }
    assert.equal((await deliver(b, step.envelope)).text, "step");
    void bob;
  });
}

test("wrong key: another session's state cannot open a message and stays unchanged", async () => {
  const one = await establishPair(SUITE_IDS.hybrid);
  const two = await establishPair(SUITE_IDS.hybrid);
  const sent = await send(one.a, one.alice, "for session one");
  const before = stateBytes(two.b);
  await assertCode(async () => await deliver(two.b, sent.envelope), "decryption_failed");
  assert.equal(stateBytes(two.b), before);
});

for (const suiteId of [SUITE_IDS.hybrid, SUITE_IDS.quantum]) {
  test(`suite ${suiteId}: KEM steps absorb secrets (epochs grow) and offers are never reused`, async () => {
    const limits = tightenLimits({ hybridKemMessages: 1 });
    const { alice, bob, a, b } = await establishPair(suiteId);
    let sa = a;
    let sb = b;
    const offers = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const m = await send(sa, alice, `a${i}`, limits);
      sa = m.state;
      if (sa.sendStep.ek) offers.add(Buffer.from(sa.sendStep.ek).toString("hex"));
      sb = (await deliver(sb, m.envelope, limits)).state;
      const r = await send(sb, bob, `b${i}`, limits);
      sb = r.state;
      if (sb.sendStep.ek) offers.add(Buffer.from(sb.sendStep.ek).toString("hex"));
      sa = (await deliver(sa, r.envelope, limits)).state;
    }
    assert.ok(sa.epoch >= 6, `epoch ${sa.epoch}`);
    assert.equal(sa.epoch, sb.epoch);
    assert.equal(offers.size, 8);
  });
}
