import assert from "node:assert/strict";
import { test } from "node:test";
import { utf8 } from "../../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../../src/crypto/node-provider.ts";
import { NanoError } from "../../../src/errors/index.ts";
import { DEFAULT_LIMITS } from "../../../src/protocol/limits.ts";
import { decideWithDirectory, receiveMessage, sendMessage } from "../_driver.ts";
import { ALL_SUITES, NOW } from "../_fixtures.ts";
import { connect, makeParty, roundTrip, snapshot } from "../_parties.ts";

/**
 * Finding 2 of the protocol audit (docs/protocol.md §7.7, §11.2): forged "identity changed" first
 * contacts stuck and filled the mailbox. With Bob already knowing Alice, Mallory's forged "alice" first
 * contacts became identity_changed holds (kept at the relay for the whole TTL, the full handshake re-run
 * on every receive, the notice naming the wrong user), and with the in-memory stores the forgery even
 * blocked the real pair. A message is held as "identity changed" only when its record names the relay
 * sender AND key transparency proves the new record; anything else is refused (acknowledged) and the
 * contact stays as it was. (The per-sender cap on held messages is the client's: test/e2e.)
 */
const opts = { provider, now: NOW, limits: DEFAULT_LIMITS };

async function established(suiteId: (typeof ALL_SUITES)[number]) {
  const alice = await makeParty("alice", suiteId, [suiteId]);
  const bob = await makeParty("bob", suiteId, [suiteId]);
  const { first } = await connect(alice, bob);
  await receiveMessage(bob.stores, "alice", first, opts);
  assert.equal(await roundTrip(bob, alice, "reply"), "reply");
  return { alice, bob };
}

for (const suiteId of ALL_SUITES) {
  const name = provider.suite(suiteId).name;

  test(`${name}: forged "alice" first contacts are refused, never held; the real pair is untouched`, async () => {
    const { alice, bob } = await established(suiteId);
    const posingAsAlice = await makeParty("alice", suiteId, [suiteId], { publish: false });
    await makeParty("mallory", suiteId, [suiteId]);
    const { first } = await connect(posingAsAlice, bob);
    const before = snapshot(bob);
    for (const [sender, code] of [
      ["mallory", "first_contact_sender_mismatch"],
      ["alice", "identity_not_proven"],
    ] as const) {
      const outcome = await decideWithDirectory(bob.stores, sender, first, opts);
      assert.equal(outcome.kind, "refused", `from ${sender}: refused, not ${outcome.kind}`);
      assert.equal(outcome.kind === "refused" && outcome.error.code, code);
      if (outcome.kind === "refused") await bob.stores.apply(outcome.writes);
    }
    assert.equal(snapshot(bob), before, "no block stored, nothing else changed");
    assert.equal(bob.stores.contacts.get("alice")?.changed, undefined);
    // The real conversation goes on in both directions.
    assert.equal(await roundTrip(alice, bob, "still me"), "still me");
    assert.equal(await roundTrip(bob, alice, "I know"), "I know");
  });

  test(`${name}: a real identity change (proven by the directory) is held and names alice`, async () => {
    const { bob } = await established(suiteId);
    const alice2 = await makeParty("alice", suiteId, [suiteId]); // reinstalled; the log now proves this record
    const { first } = await connect(alice2, bob);
    const outcome = await decideWithDirectory(bob.stores, "alice", first, opts);
    assert.equal(outcome.kind, "held");
    assert.equal(outcome.kind === "held" && outcome.peer, "alice");
    assert.deepEqual(outcome.kind === "held" && outcome.changed?.hash, alice2.record.hash);
    // The same message sent from another account is no identity change: refused.
    const other = await sendMessage(alice2.stores, "bob", utf8("again"), opts);
    const fromMallory = await decideWithDirectory(bob.stores, "mallory", other, opts);
    assert.equal(fromMallory.kind === "refused" && fromMallory.error.code, "first_contact_sender_mismatch");
  });

  test(`${name}: once blocked, an unproven record from the relay sender is refused, not held`, async () => {
    const { bob } = await established(suiteId);
    const alice2 = await makeParty("alice", suiteId, [suiteId]);
    await assert.rejects(receiveMessage(bob.stores, "alice", (await connect(alice2, bob)).first, opts), {
      code: "identity_changed",
    });
    assert.ok(bob.stores.contacts.get("alice")?.changed, "the proven change is stored");
    const posingAsAlice = await makeParty("alice", suiteId, [suiteId], { publish: false });
    const forged = (await connect(posingAsAlice, bob)).first;
    await assert.rejects(receiveMessage(bob.stores, "alice", forged, opts), (error: unknown) =>
      NanoError.is(error, "identity_not_proven"),
    );
  });
}
