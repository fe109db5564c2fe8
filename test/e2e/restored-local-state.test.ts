import assert from "node:assert/strict";
import { copyFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { errorOf, setUpUsers, type User, withRelay } from "./_harness.ts";

/**
 * Finding 6 of the protocol audit, as a user meets it (docs/client.md "Rollback of local state"): a
 * home whose local.db was put back from an older copy would send again from a chain position bob's
 * client already used. nano-client refuses to run on it, says why, and changes nothing; with the newest
 * copy back, the conversation goes on and bob sees every message once.
 */
async function swapDatabase(user: User, from: string): Promise<void> {
  const db = join(user.home, "local.db");
  await rm(`${db}-wal`, { force: true });
  await rm(`${db}-shm`, { force: true });
  await copyFile(from, db);
}

test("a local.db restored from an older copy is refused (exit 65, local_state_rolled_back); the newest one works", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = (await setUpUsers(relay, dir, "hybrid", "alice", "bob")) as [User, User];
    await alice.send("bob", "one");
    const backup = join(dir, "alice-local.db.backup");
    await copyFile(join(alice.home, "local.db"), backup);
    await alice.send("bob", "two");
    const newest = join(dir, "alice-local.db.newest");
    await copyFile(join(alice.home, "local.db"), newest);

    await swapDatabase(alice, backup);
    const refused = await alice.run(["send", "bob", "three, from the old copy"]);
    assert.equal(refused.code, 65, refused.stdout + refused.stderr);
    const error = errorOf(refused);
    assert.equal(error.code, "local_state_rolled_back");
    assert.match(error.message, /restored from an older copy/);
    assert.match(error.hint, /local\.db\.anchor/);

    await swapDatabase(alice, newest);
    await alice.send("bob", "three");
    assert.deepEqual(
      (await bob.receive()).map((m) => m.text),
      ["one", "two", "three"],
    );
  }));
