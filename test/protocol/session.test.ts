import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { receiveMessage } from "./_driver.ts";
import { ALL_SUITES, NOW } from "./_fixtures.ts";
import { connect, makeParty, roundTrip } from "./_parties.ts";

for (const suiteId of ALL_SUITES) {
  test(`round trip in suite ${suiteId}: first contact, replies, both directions, steps`, async () => {
    const alice = await makeParty("alice", suiteId, [suiteId]);
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const { first } = await connect(alice, bob);
    const got = await receiveMessage(bob.stores, "alice", first, { now: NOW });
    assert.equal(got.peer, "alice");
    assert.equal(new TextDecoder().decode(got.content), "hello");
    for (let i = 0; i < 4; i++) {
      assert.equal(await roundTrip(bob, alice, `b${i}`), `b${i}`);
      assert.equal(await roundTrip(bob, alice, `b${i}'`), `b${i}'`);
      assert.equal(await roundTrip(alice, bob, `a${i}`), `a${i}`);
    }
  });
}

test("hybrid default: a classical-preferring sender meets a hybrid-only peer on hybrid", async () => {
  const alice = await makeParty("alice", SUITE_IDS.classical);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  const { suite, first } = await connect(alice, bob);
  assert.equal(suite, SUITE_IDS.hybrid);
  const got = await receiveMessage(bob.stores, "alice", first, { now: NOW });
  assert.deepEqual(got.content, utf8("hello"));
});
