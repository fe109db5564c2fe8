import assert from "node:assert/strict";
import { test } from "node:test";
import { errorOf, setUpUsers, withRelay } from "./_harness.ts";

/**
 * Issue 13, loss 5: a send that could not reach the relay leaves a queued copy. `outbox` shows it
 * (with its text), `outbox cancel ID` drops one, and sending the same text again delivers the earlier
 * copy instead of a second one (`--again` sends another). Real relay process, real CLI.
 */

interface Pending {
  readonly clientMessageId: string;
  readonly recipient: string;
  readonly text: string | null;
  readonly lastError: string | null;
}

interface Sent {
  readonly clientMessageId: string;
  readonly queued: boolean;
  readonly earlierCopy: boolean;
}

test("outbox lists queued messages with their text, cancel drops one, and a retried text is not sent twice", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    await alice!.send("bob", "hi");
    const pendingOf = async () => ((await alice!.json(["outbox"])) as { pending: Pending[] }[])[0]!.pending;
    assert.deepEqual(await pendingOf(), []);

    await relay.kill();
    const [first] = (await alice!.json(["send", "bob", "are you there?"])) as Sent[];
    assert.equal(first!.queued, true);
    assert.equal(first!.earlierCopy, false);
    const [retried] = (await alice!.json(["send", "bob", "are you there?"])) as Sent[];
    assert.equal(retried!.earlierCopy, true, "the retry found the queued copy");
    assert.equal(retried!.clientMessageId, first!.clientMessageId);
    const [other] = (await alice!.json(["send", "bob", "never mind"])) as Sent[];
    const [forced] = (await alice!.json(["send", "bob", "never mind", "--again"])) as Sent[];
    assert.notEqual(forced!.clientMessageId, other!.clientMessageId, "--again queues a second copy");
    assert.deepEqual(
      (await pendingOf()).map((p) => [p.recipient, p.text, p.lastError]),
      [
        ["bob", "are you there?", "relay_unreachable"],
        // Not tried: they wait behind the first (order per recipient).
        ["bob", "never mind", null],
        ["bob", "never mind", null],
      ],
    );
    const plain = await alice!.run(["outbox"]);
    assert.equal(plain.code, 0);

    const [cancelled] = (await alice!.json(["outbox", "cancel", forced!.clientMessageId])) as {
      cancelled: Pending;
    }[];
    assert.equal(cancelled!.cancelled.text, "never mind");
    const missing = await alice!.run(["outbox", "cancel", forced!.clientMessageId]);
    assert.equal(missing.code, 64);
    assert.equal(errorOf(missing).code, "invalid_argument");
    assert.equal((await alice!.run(["outbox", "drop"])).code, 64);
    assert.equal((await pendingOf()).length, 2);

    await relay.start();
    // The retry of the first text after the relay is back delivers the queued copy (and the rest of
    // the outbox, in order) and still sends no second copy.
    const [delivered] = (await alice!.json(["send", "bob", "are you there?"])) as Sent[];
    assert.equal(delivered!.earlierCopy, true);
    assert.equal(delivered!.queued, false);
    assert.deepEqual(await pendingOf(), []);
    assert.deepEqual(
      (await bob!.receive()).map((m) => m.text),
      ["hi", "are you there?", "never mind"],
    );
    // The cancelled one is gone from alice's history too; the others are there once.
    const [history] = (await alice!.json(["history", "bob"])) as { messages: { text: string }[] }[];
    assert.deepEqual(
      history!.messages.map((m) => m.text),
      ["hi", "are you there?", "never mind"],
    );
  }));
