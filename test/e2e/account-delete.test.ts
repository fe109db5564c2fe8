import assert from "node:assert/strict";
import { test } from "node:test";
import { errorOf, MIN_KDF, User, withRelay } from "./_harness.ts";

/**
 * `nano-client account delete` (docs/client.md "Deleting your account") against a real relay and real
 * CLI processes: it refuses without the exact username; with it, the relay erases the account (signed
 * by the identity keys), peers can no longer reach it, and the name waits out the cooling-off.
 */
test("nano-client account delete erases the account at the relay", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await alice.setUp(relay, "hybrid");
    await bob.setUp(relay, "hybrid");
    await bob.send("alice", "before");

    const unconfirmed = await alice.run(["account", "delete", "--confirm", "alicia"]);
    assert.notEqual(unconfirmed.code, 0);
    assert.equal(errorOf(unconfirmed).code, "confirmation_mismatch");
    assert.equal((await alice.receive()).length, 1, "nothing was deleted");

    const [deleted] = (await alice.json(["account", "delete", "--confirm", "alice"])) as {
      username: string;
    }[];
    assert.equal(deleted!.username, "alice");

    const unreachable = await bob.run(["send", "alice", "after"]);
    assert.notEqual(unreachable.code, 0, "alice's account is gone");
    const again = await alice.run(["account", "delete", "--confirm", "alice"]);
    assert.notEqual(again.code, 0, "a deleted account cannot log in");

    const carol = new User(dir, "carol");
    await carol.json(["--relay", relay.url, "init", "--crypto-mode", "hybrid", ...MIN_KDF]);
    const claimed = await carol.run(["claim-username", "alice"]);
    assert.equal(errorOf(claimed).code, "username_cooling_off");
  }));
