import assert from "node:assert/strict";
import { test } from "node:test";
import { NanoClient } from "../../src/client/nano-client.ts";
import { processEnvelope } from "../../src/client/operations/receive.ts";
import { PASSPHRASE, User, withRelay } from "./_harness.ts";

/**
 * DESIGN.md: commit state and plaintext before acknowledging. A receiver that dies after its commit
 * but before the acknowledgement gets the same relay message again: it must acknowledge it without
 * decrypting it a second time (which would fail) and without showing it twice. And since it died
 * before the application took the message, the next receive hands it over from the local store
 * (issue 13, loss 1: it used to be shown zero times).
 */
test("a message committed but not taken (crash before the show and the ack) is shown once by the next receive, then acknowledged", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await Promise.all([alice.setUp(relay, "quantum"), bob.setUp(relay, "quantum")]);
    await alice.send("bob", "exactly once");
    await alice.send("bob", "and this one too");

    const client = await NanoClient.open({ home: bob.home, passphrase: PASSPHRASE });
    try {
      const link = await client.context.link();
      const [first] = await link.api.fetchMessages(0);
      assert.ok(first !== undefined);
      const options = { sink: await client.context.attachmentSink(dir) };
      const committed = await processEnvelope(client.context, link, first, options);
      assert.equal(committed.kind, "message");
      // "Crash": no acknowledgement was sent; the relay still holds the message and redelivers it.
      const [again] = await link.api.fetchMessages(0);
      assert.equal(again?.id, first.id);
      assert.equal((await processEnvelope(client.context, link, again!, options)).kind, "skip");
      const stored = await client.home.store.listReceived();
      assert.deepEqual(
        stored.map((m) => new TextDecoder().decode(m.body)),
        ["exactly once"],
      );
    } finally {
      await client.close();
    }
    // The next receive shows the committed one from the store (once), acknowledges its redelivery
    // without decrypting it again, and shows the second.
    assert.deepEqual(
      (await bob.receive()).map((m) => m.text),
      ["exactly once", "and this one too"],
    );
    assert.deepEqual(await bob.receive(), []);
  }));
