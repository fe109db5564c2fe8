import assert from "node:assert/strict";
import { test } from "node:test";
import { errorOf, User, withRelay } from "./_harness.ts";

/**
 * A hybrid client and a classical one (DESIGN.md "Modes, floors and selection"). The hybrid user
 * accepts only hybrid (its floor); the classical user accepts classical and everything above. So
 * they can talk, in hybrid; nothing ever drops to classical; an explicit classical request fails
 * with a clear error instead of changing mode silently.
 */
test("mixed modes: hybrid and classical talk in hybrid; classical is refused both ways, never silently", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const carol = new User(dir, "carol");
    await Promise.all([alice.setUp(relay, "hybrid"), carol.setUp(relay, "classical")]);

    // carol prefers classical, alice does not accept it: the default selection is hybrid.
    const sent = await carol.send("alice", "from the classical client");
    assert.equal(sent.suite, "hybrid");
    assert.deepEqual(
      (await alice.receive()).map((m) => [m.sender, m.suite, m.text]),
      [["carol", "hybrid", "from the classical client"]],
    );
    assert.equal((await alice.send("carol", "reply")).suite, "hybrid");
    assert.deepEqual(
      (await carol.receive()).map((m) => [m.suite, m.text]),
      [["hybrid", "reply"]],
    );

    // An explicit downgrade is refused on both sides, with the reason, and nothing is queued.
    for (const [from, to] of [
      [alice, "carol"],
      [carol, "alice"],
    ] as const) {
      const refused = await from.run(["send", to, "downgrade?", "--crypto-mode", "classical"]);
      assert.equal(refused.code, 65);
      assert.equal(errorOf(refused).code, "suite_not_accepted");
      assert.match(errorOf(refused).message, /classical mode is not accepted/);
    }
    const [status] = (await alice.json(["status"])) as { outbox: number }[];
    assert.equal(status?.outbox, 0);

    // Pinned: the contact stays at hybrid.
    const [contacts] = (await carol.json(["contacts"])) as { contacts: { pinnedSuite: string }[] }[];
    assert.deepEqual(
      contacts?.contacts.map((c) => c.pinnedSuite),
      ["hybrid"],
    );

    // A hybrid user starting a conversation with a new classical-mode user: the relay holds that
    // user's prekeys in classical only, so the hybrid session cannot start from alice's side; the
    // error says so instead of falling back.
    const dave = new User(dir, "dave");
    await dave.setUp(relay, "classical");
    const blocked = await alice.run(["send", "dave", "hello dave"]);
    assert.equal(errorOf(blocked).code, "suite_unavailable");
    assert.match(errorOf(blocked).message, /classical mode, but this message needs hybrid/);
  }));
