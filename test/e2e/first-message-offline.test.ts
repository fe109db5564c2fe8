import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setUpUsers, withRelay } from "./_harness.ts";

/**
 * Issue 13, loss 2: a first message to a new contact (and `send --file`, whose upload needs the
 * relay) while the relay is down used to exit 69 with a hint that it "stays queued" while nothing was
 * queued. Now the intent is kept sealed and sent — session started then — once the relay is back,
 * in order with what is sent after it. Real relay process (SIGKILLed and restarted), real CLI.
 */

interface Sent {
  readonly clientMessageId: string;
  readonly queued: boolean;
  readonly queuedBecause: string | null;
  readonly suite: string | null;
}

interface Pending {
  readonly clientMessageId: string;
  readonly recipient: string;
  readonly text: string | null;
  readonly lastError: string | null;
}

test("a first message and a file sent while the relay is down are queued sealed and arrive, in order, once it is back", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    const file = join(dir, "notes.txt");
    writeFileSync(file, "the attached notes\n");

    await relay.kill();
    const [first] = (await alice!.json(["send", "bob", "first, before any session"])) as Sent[];
    assert.equal(first!.queued, true);
    assert.equal(first!.queuedBecause, "relay_unreachable");
    assert.equal(first!.suite, null, "no session yet: nothing is encrypted");
    const human = await alice!.run(["send", "bob", "--file", file]);
    assert.equal(human.code, 0, human.stderr);
    const [nobody] = (await alice!.json(["send", "zed", "to nobody"])) as Sent[];
    assert.equal(nobody!.queued, true);
    const pending = ((await alice!.json(["outbox"])) as { pending: Pending[] }[])[0]!.pending;
    assert.deepEqual(
      pending.map((p) => [p.recipient, p.text]),
      [
        ["bob", "first, before any session"],
        ["bob", "[file notes.txt, 19 B]"],
        ["zed", "to nobody"],
      ],
    );
    const [status] = (await alice!.json(["status"])) as { outbox: number }[];
    assert.equal(status!.outbox, 3);

    await relay.start();
    // The next send finds the intents first: the session starts, they go out, then this one.
    const [third] = (await alice!.json(["send", "bob", "third"])) as Sent[];
    assert.equal(third!.queued, false);
    const left = ((await alice!.json(["outbox"])) as { pending: Pending[] }[])[0]!.pending;
    assert.deepEqual(
      left.map((p) => [p.recipient, p.lastError]),
      [["zed", "account_not_found"]],
      "an intent that cannot be sent stays, with its reason",
    );
    const received = await bob!.receive();
    assert.deepEqual(
      received.map((m) => m.text.replace(/, saved to .*\]$/, "]")),
      ["first, before any session", "[file notes.txt, 19 B]", "third"],
    );
    await alice!.json(["outbox", "cancel", nobody!.clientMessageId]);
    assert.deepEqual(((await alice!.json(["outbox"])) as { pending: Pending[] }[])[0]!.pending, []);
  }));
