import assert from "node:assert/strict";
import { test } from "node:test";
import { User, withRelay } from "./_harness.ts";

// Real relay process, real CLI processes: alice and bob talk in each mode, in both directions.
for (const mode of ["hybrid", "quantum", "classical"] as const) {
  test(`${mode}: init, claim-username, send, receive, reply, both directions; safety numbers match`, () =>
    withRelay(async (relay, dir) => {
      const alice = new User(dir, "alice");
      const bob = new User(dir, "bob");
      await Promise.all([alice.setUp(relay, mode), bob.setUp(relay, mode)]);

      const first = await alice.send("bob", `hello bob in ${mode}`);
      assert.equal(first.suite, mode);
      assert.equal(first.queued, false);
      const atBob = await bob.receive();
      assert.deepEqual(
        atBob.map((m) => [m.sender, m.suite, m.text]),
        [["alice", mode, `hello bob in ${mode}`]],
      );

      assert.equal((await bob.send("alice", "hi alice")).suite, mode);
      await bob.send("alice", "second from bob");
      assert.deepEqual(
        (await alice.receive()).map((m) => [m.sender, m.suite, m.text]),
        [
          ["bob", mode, "hi alice"],
          ["bob", mode, "second from bob"],
        ],
      );
      await alice.send("bob", "and back again");
      assert.deepEqual(
        (await bob.receive()).map((m) => m.text),
        ["and back again"],
      );
      // Nothing is shown twice.
      assert.deepEqual(await bob.receive(), []);

      const [fromAlice, fromBob] = await Promise.all([alice.safetyNumber("bob"), bob.safetyNumber("alice")]);
      assert.match(fromAlice, /^(\d{5} ){11}\d{5}$/);
      assert.equal(fromAlice, fromBob);
      const [confirmed] = (await alice.json(["verify", "bob", "--confirm"])) as { verified: boolean }[];
      assert.equal(confirmed?.verified, true);
    }));
}
