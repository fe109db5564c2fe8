import assert from "node:assert/strict";
import { test } from "node:test";
import { NanoClient } from "../../src/client/nano-client.ts";
import { processEnvelope } from "../../src/client/operations/receive.ts";
import { PASSPHRASE, User, withRelay } from "./_harness.ts";

/**
 * DESIGN.md: commit state and plaintext before acknowledging. A receiver that dies after its commit
 * but before the acknowledgement gets the same relay message again: it must acknowledge it without
 * decrypting it a second time (which would fail) and without showing it twice.
 */
test("a message committed but not acknowledged (crash before the ack) is shown once, then acknowledged", () =>
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
      const options = { saveDir: dir };
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
    // The next receive acknowledges the first silently and shows only the second.
    assert.deepEqual(
      (await bob.receive()).map((m) => m.text),
      ["and this one too"],
    );
    assert.deepEqual(await bob.receive(), []);
  }));
