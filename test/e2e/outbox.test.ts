import assert from "node:assert/strict";
import { test } from "node:test";
import { User, watchUntil, withRelay } from "./_harness.ts";

test("relay down: three sends are queued, then delivered exactly once after the restart", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await Promise.all([alice.setUp(relay, "hybrid"), bob.setUp(relay, "hybrid")]);
    await alice.send("bob", "before");
    assert.deepEqual(
      (await bob.receive()).map((m) => m.text),
      ["before"],
    );

    await relay.stop();
    for (const n of [1, 2, 3]) {
      const sent = await alice.send("bob", `offline ${n}`);
      assert.equal(sent.queued, true, "the relay is down: the message waits in the outbox");
    }
    const [down] = (await alice.json(["status"])) as { outbox: number }[];
    assert.equal(down?.outbox, 3);

    await relay.start(); // same port, same database
    // The next command delivers them (here a receive, which first flushes the outbox).
    await alice.json(["receive"]);
    const [up] = (await alice.json(["status"])) as { outbox: number }[];
    assert.equal(up?.outbox, 0);
    assert.deepEqual(
      (await bob.receive()).map((m) => m.text),
      ["offline 1", "offline 2", "offline 3"],
    );
    assert.deepEqual(await bob.receive(), [], "each message arrives once");
  }));

test("receive --watch prints messages as they arrive over the WebSocket", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await Promise.all([alice.setUp(relay, "hybrid"), bob.setUp(relay, "hybrid")]);
    const { texts, code } = await watchUntil(bob, "live 2", async () => {
      await alice.send("bob", "live 1");
      await alice.send("bob", "live 2");
    });
    assert.equal(code, 0, "SIGTERM ends the watch cleanly");
    assert.deepEqual(texts, ["live 1", "live 2"]);
    assert.deepEqual(await bob.receive(), [], "acknowledged while watching");
  }));

test("receive --watch reconnects after a relay restart and delivers what it queued meanwhile", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await Promise.all([alice.setUp(relay, "hybrid"), bob.setUp(relay, "hybrid")]);
    await alice.send("bob", "hello");
    await bob.receive();
    await alice.send("bob", "before the restart");
    const { texts, code } = await watchUntil(bob, "after the restart", async () => {
      for (let i = 0; i < 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await relay.stop();
      // Bob's reply, written while the relay is down, waits in his outbox; the watch delivers it.
      const queued = await bob.send("alice", "queued while down");
      assert.equal(queued.queued, true);
      await relay.start();
      await alice.send("bob", "after the restart");
    });
    assert.equal(code, 0);
    assert.deepEqual(texts, ["before the restart", "after the restart"]);
    assert.deepEqual(
      (await alice.receive()).map((m) => m.text),
      ["queued while down"],
    );
  }));
