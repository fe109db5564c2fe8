import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { errorOf, setUpUsers, withRelay } from "./_harness.ts";

/**
 * Issue 13, loss 4: messages that cannot be decrypted (here: bob's local.db put back from before the
 * session existed, as a lost or mismatched database would be) used to be acknowledged and dropped as
 * `decryption_failed`. Now they are kept in a local quarantine with their envelopes, counted in
 * `status`, and opened by `quarantine retry` once the right local.db is back — or discarded on purpose.
 * Real relay process, real CLI.
 */

const FILES = ["local.db", "local.db.anchor"] as const;

function backUp(home: string, to: string): void {
  for (const file of FILES) copyFileSync(join(home, file), join(to, file));
}

function restore(home: string, from: string): void {
  for (const suffix of ["-wal", "-shm"]) rmSync(join(home, `local.db${suffix}`), { force: true });
  for (const file of FILES) copyFileSync(join(from, file), join(home, file));
}

interface Quarantined {
  readonly messageId: string;
  readonly from: string;
  readonly code: string;
}

test("undecryptable messages are quarantined, counted in status, opened by retry once the right local.db is back, or discarded; a lost local.db is refused", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    const beforeSession = join(dir, "before-session");
    const withSession = join(dir, "with-session");
    mkdirSync(beforeSession, { mode: 0o700 });
    mkdirSync(withSession, { mode: 0o700 });
    backUp(bob!.home, beforeSession);
    await alice!.send("bob", "one");
    assert.deepEqual(
      (await bob!.receive()).map((m) => m.text),
      ["one"],
    );
    backUp(bob!.home, withSession);
    // Bob's delivery receipt ends alice's first-contact phase: what follows are ratchet messages,
    // which only the session in bob's newer local.db opens.
    await alice!.receive();
    await alice!.send("bob", "two");
    await alice!.send("bob", "three");

    // The wrong local.db: no session with alice. The messages cannot be opened — and are kept.
    restore(bob!.home, beforeSession);
    const human = await bob!.run(["receive"]);
    assert.equal(human.code, 0, human.stderr);
    const lines = (await bob!.json(["quarantine"])) as { quarantined: Quarantined[] }[];
    const quarantined = lines[0]!.quarantined;
    assert.equal(quarantined.length, 2);
    assert.ok(quarantined.every((q) => q.from === "alice"));
    const [status] = (await bob!.json(["status"])) as { quarantined: number }[];
    assert.equal(status!.quarantined, 2);
    // They were acknowledged (kept locally instead): the relay has nothing left for bob.
    assert.deepEqual(await bob!.receive(), []);

    // The right local.db is back: retry opens both, once, and empties the quarantine.
    restore(bob!.home, withSession);
    const retried = (await bob!.json(["quarantine", "retry"])) as { text?: string; retried?: unknown }[];
    assert.deepEqual(
      retried.flatMap((line) => (line.text === undefined ? [] : [line.text])),
      ["two", "three"],
      JSON.stringify(retried),
    );
    assert.deepEqual(((await bob!.json(["quarantine"])) as { quarantined: unknown[] }[])[0]!.quarantined, []);
    assert.deepEqual(await bob!.receive(), [], "shown by the retry, not again");

    // Discard: one that can never be opened (the old local.db again), dropped on purpose.
    restore(bob!.home, beforeSession);
    await alice!.send("bob", "four");
    await bob!.json(["receive"]);
    const [again] = ((await bob!.json(["quarantine"])) as { quarantined: Quarantined[] }[])[0]!.quarantined;
    assert.ok(again !== undefined);
    const bad = await bob!.run(["quarantine", "discard"]);
    assert.equal(bad.code, 64);
    assert.equal(errorOf(bad).code, "invalid_argument");
    const [discarded] = (await bob!.json(["quarantine", "discard", again.messageId])) as {
      discarded: number;
    }[];
    assert.equal(discarded!.discarded, 1);
    const [after] = (await bob!.json(["status"])) as { quarantined: number }[];
    assert.equal(after!.quarantined, 0);

    // local.db lost altogether (with its anchor): the home claimed "bob", the new empty database holds
    // no identity. Every relay step and a new claim are refused with the way back, nothing is changed.
    for (const suffix of ["", "-wal", "-shm", ".anchor"])
      rmSync(join(bob!.home, `local.db${suffix}`), { force: true });
    await alice!.send("bob", "five");
    for (const args of [["receive"], ["claim-username", "bob"], ["send", "alice", "hello?"]]) {
      const refused = await bob!.run(args);
      assert.notEqual(refused.code, 0, args.join(" "));
      assert.equal(errorOf(refused).code, "local_store_mismatch", args.join(" "));
    }
    restore(bob!.home, withSession);
    assert.deepEqual(
      (await bob!.receive()).map((m) => m.text),
      ["five"],
      "the waiting message survived the refusals",
    );
  }));
