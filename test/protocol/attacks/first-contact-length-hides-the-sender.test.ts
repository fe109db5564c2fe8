import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS, type SuiteId } from "../../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../../src/crypto/node-provider.ts";
import { IDENTITY_RECORD_SLOT_BYTES } from "../../../src/protocol/identity-record.ts";
import { NOW } from "../_fixtures.ts";
import { connect, makeParty } from "../_parties.ts";

/**
 * Finding 8 of the protocol audit, first note (docs/protocol.md §7.6): the first contact's length
 * revealed the sender's username length and suite set (13,909 / 13,931 / 20,358 / 20,523 bytes for the
 * same message), to the relay and to anyone watching it. The initiator's record now travels in a slot
 * of the largest possible record's size, and the optional one-time prekey id is always present, so
 * for one suite and one content size every first contact has the same length.
 */
const ALL = [SUITE_IDS.classical, SUITE_IDS.hybrid, SUITE_IDS.quantum];

/** Senders whose records differ as much as records can: name length and accepted suites. */
function senders(suiteId: SuiteId) {
  const longest = "a".repeat(64);
  const suites: SuiteId[][] = [
    [suiteId],
    ALL.filter((id) => provider.suite(id).rank >= provider.suite(suiteId).rank),
    ALL,
  ];
  return [
    { name: "al", suites: suites[0]! },
    { name: "alice", suites: suites[1]! },
    { name: longest, suites: suites[2]! },
  ];
}

for (const suiteId of ALL) {
  const name = provider.suite(suiteId).name;
  test(`${name}: first contacts of one content size have one length, whoever sends them`, async () => {
    const lengths = new Set<number>();
    for (const sender of senders(suiteId)) {
      for (const oneTimeDh of [true, false]) {
        const alice = await makeParty(sender.name, suiteId, sender.suites);
        const bob = await makeParty("bob", suiteId, ALL);
        const { first } = await connect(alice, bob, { explicit: suiteId, oneTimeDh, now: NOW });
        lengths.add(first.length);
      }
    }
    assert.deepEqual([...lengths].length, 1, `lengths seen: ${[...lengths].join(", ")}`);
  });
}

test("the record slot is exactly the largest possible record", async () => {
  const longest = await makeParty("a".repeat(64), SUITE_IDS.classical, ALL);
  assert.equal(longest.record.encoded.length, IDENTITY_RECORD_SLOT_BYTES);
});
