import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { utf8 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { DEFAULT_LIMITS, tightenLimits } from "../../src/protocol/limits.ts";
import { MemoryStores } from "../../src/protocol/stores.ts";
import { DIRECTORY, receiveMessage, sendMessage } from "./_driver.ts";
import { ALL_SUITES, makeIdentity, NOW } from "./_fixtures.ts";
import { activeState, connect, type Party, snapshot } from "./_parties.ts";

/**
 * The ratchet against a model of an unreliable relay (docs/protocol.md §8): sends in both directions,
 * deliveries in any order, drops, duplicates and restarts of either side. Every first delivery must
 * decrypt to exactly what was sent (unless its chain is older than the remembered receiving chains);
 * every repeat must be a typed duplicate error and change nothing.
 */
type Op =
  | { kind: "send"; from: 0 | 1 }
  | { kind: "deliver"; pick: number }
  | { kind: "duplicate"; pick: number }
  | { kind: "drop"; pick: number }
  | { kind: "restart"; who: 0 | 1 };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("send" as const),
      from: fc.constantFrom(0 as const, 1 as const),
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("restart" as const),
      who: fc.constantFrom(0 as const, 1 as const),
    }),
  },
);

interface InFlight {
  readonly from: 0 | 1;
  readonly envelope: Uint8Array;
  readonly text: string;
  readonly step: number;
}

function restart(party: Party): Party {
  const stores = new MemoryStores(party.keys, party.record);
  for (const [k, v] of party.stores.sessionMap) stores.sessionMap.set(k, v.slice());
  for (const [k, v] of party.stores.prekeyMap)
    stores.prekeyMap.set(k, { prekey: v.prekey, seed: v.seed?.slice() ?? null });
  for (const [k, v] of party.stores.replayMap) stores.replayMap.set(k, v);
  for (const [k, v] of party.stores.contacts) stores.contacts.set(k, v);
  return { ...party, stores };
}

const DUPLICATE_CODES = ["duplicate_message", "replayed_prekey_message"];

for (const suiteId of ALL_SUITES) {
  test(`model: suite ${suiteId} under send/deliver/drop/duplicate/reorder/restart`, async () => {
    const aliceId = await makeIdentity("alice", suiteId, [suiteId]);
    const bobId = await makeIdentity("bob", suiteId, [suiteId]);
    DIRECTORY.publish(aliceId.record);
    DIRECTORY.publish(bobId.record);
    // A short hybrid KEM interval so the model also exercises offers and answers.
    const limits = tightenLimits({ hybridKemMessages: 3 });
    const seen = { delivered: 0, duplicates: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 28 }), async (ops) => {
        const parties: [Party, Party] = [
          { ...aliceId, name: "alice", stores: new MemoryStores(aliceId.keys, aliceId.record) },
          { ...bobId, name: "bob", stores: new MemoryStores(bobId.keys, bobId.record) },
        ];
        const { first } = await connect(parties[0], parties[1]);
        const network: InFlight[] = [{ from: 0, envelope: first, text: "hello", step: 0 }];
        const delivered: InFlight[] = [];
        let counter = 0;
        for (const op of ops) {
          if (op.kind === "send") {
            const from = parties[op.from];
            const to = parties[1 - op.from]!;
            if (!from.stores.sessionMap.has(to.name)) continue;
            const text = `m${counter++}`;
            const envelope = await sendMessage(from.stores, to.name, utf8(text), { now: NOW, limits });
            network.push({ from: op.from, envelope, text, step: activeState(from, to.name).step });
          } else if (op.kind === "drop") {
            if (network.length > 0) network.splice(op.pick % network.length, 1);
          } else if (op.kind === "restart") {
            parties[op.who] = restart(parties[op.who]);
          } else {
            const pool = op.kind === "deliver" ? network : delivered;
            if (pool.length === 0) continue;
            const index = op.pick % pool.length;
            const message = pool[index]!;
            const to = parties[1 - message.from]!;
            const from = parties[message.from]!;
            // Every store (sessions, prekeys, replay cache, contacts), not only the sessions.
            const before = snapshot(to);
            try {
              const got = await receiveMessage(to.stores, from.name, message.envelope, { now: NOW, limits });
              assert.equal(op.kind, "deliver", "a duplicate must never decrypt again");
              assert.equal(new TextDecoder().decode(got.content), message.text);
              network.splice(index, 1);
              delivered.push(message);
              seen.delivered += 1;
            } catch (error) {
              if (!NanoError.is(error)) throw error;
              assert.equal(snapshot(to), before, "a failed delivery changes no stored byte");
              if (op.kind === "duplicate") {
                assert.ok([...DUPLICATE_CODES, "decryption_failed"].includes(error.code), error.code);
                seen.duplicates += 1;
                continue;
              }
              // Only a message from a chain older than the remembered ones may be undecryptable.
              const receiverStep = to.stores.sessionMap.has(from.name) ? activeState(to, from.name).step : 0;
              assert.equal(error.code, "decryption_failed", `unexpected ${error.code}`);
              assert.ok(
                receiverStep - message.step >= 2 * DEFAULT_LIMITS.maxReceiverChains,
                `lost m at ${message.step}/${receiverStep}`,
              );
              network.splice(index, 1);
            }
          }
        }
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 70) },
    );
    // The model must actually exercise the protocol, not skip every operation.
    assert.ok(seen.delivered > 100 && seen.duplicates > 10, JSON.stringify(seen));
  });
}
