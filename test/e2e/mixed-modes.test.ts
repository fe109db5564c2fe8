import assert from "node:assert/strict";
import { test } from "node:test";
import { errorOf, User, withRelay } from "./_harness.ts";

/**
 * Mixed modes against a real relay (DESIGN.md "Modes, floors and selection"): hybrid accepts hybrid;
 * quantum accepts quantum and hybrid; classical accepts all three. Each client publishes a bundle for
 * every suite it accepts and fetches the bundle of the suite the selection picked (`?suite=`), so a
 * FIRST conversation works from either side of every allowed pair, and whatever is not allowed fails
 * with a typed error instead of changing mode silently.
 */
test("mixed modes: first contact works both ways for every allowed pair, in the selected suite", () =>
  withRelay(async (relay, dir) => {
    const hanna = new User(dir, "hanna");
    const quinn = new User(dir, "quinn");
    const quill = new User(dir, "quill");
    const carol = new User(dir, "carol");
    const chris = new User(dir, "chris");
    await Promise.all([
      hanna.setUp(relay, "hybrid"),
      quinn.setUp(relay, "quantum"),
      quill.setUp(relay, "quantum"),
      carol.setUp(relay, "classical"),
      chris.setUp(relay, "classical"),
    ]);
    const firstContact = async (from: User, to: User, expected: string, extra: string[] = []) => {
      const sent = await from.send(to.name, `${from.name} to ${to.name}`, extra);
      assert.equal(sent.suite, expected, `${from.name} -> ${to.name}`);
      assert.equal(sent.newSession, true);
      const got = await to.receive();
      assert.deepEqual(
        got.map((m) => [m.sender, m.suite, m.text]),
        [[from.name, expected, `${from.name} to ${to.name}`]],
      );
      const reply = await to.send(from.name, "reply");
      assert.equal(reply.suite, expected, `${to.name} replies on the same session`);
      assert.deepEqual(
        (await from.receive()).map((m) => [m.suite, m.text]),
        [[expected, "reply"]],
      );
    };

    // hybrid <-> classical: hybrid, started from either side (before per-suite bundles the hybrid
    // side got suite_unavailable: the relay held the classical user's prekeys in classical only).
    await firstContact(hanna, carol, "hybrid");
    await firstContact(chris, hanna, "hybrid");
    // quantum <-> hybrid: the hybrid user does not accept quantum, so hybrid both ways.
    await firstContact(quinn, hanna, "hybrid");
    await firstContact(hanna, quill, "hybrid");
    // quantum <-> classical: the quantum user's preference is accepted by the classical user; the
    // classical user's is not, so its first message goes in the highest suite both accept (hybrid).
    await firstContact(quinn, carol, "quantum");
    await firstContact(chris, quill, "hybrid");
    // Explicit --crypto-mode: exactly that suite when both accept it...
    await firstContact(carol, quill, "quantum", ["--crypto-mode", "quantum"]);

    // ...or a clear error, nothing queued, nothing pinned lower.
    for (const [from, to, mode] of [
      [hanna, "carol", "classical"],
      [carol, "hanna", "classical"],
      [hanna, "quinn", "quantum"],
      [quinn, "chris", "classical"],
    ] as const) {
      const refused = await from.run(["send", to, "downgrade?", "--crypto-mode", mode]);
      assert.equal(refused.code, 65, `${from.name} -> ${to} in ${mode}`);
      assert.equal(errorOf(refused).code, "suite_not_accepted");
      assert.match(errorOf(refused).message, new RegExp(`${mode} mode is not accepted`));
    }
    const [status] = (await hanna.json(["status"])) as { outbox: number }[];
    assert.equal(status?.outbox, 0);
    const [contacts] = (await carol.json(["contacts"])) as {
      contacts: { username: string; pinnedSuite: string }[];
    }[];
    assert.deepEqual(contacts?.contacts.map((c) => [c.username, c.pinnedSuite]).sort(), [
      ["hanna", "hybrid"],
      ["quill", "quantum"],
      ["quinn", "quantum"],
    ]);
  }));
