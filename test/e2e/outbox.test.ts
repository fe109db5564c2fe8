import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { PASSPHRASE, REPO_ROOT, User, withRelay } from "./_harness.ts";

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
    const watcher = spawn(
      process.execPath,
      [join(REPO_ROOT, "bin/nano-client.js"), "--home", bob.home, "--json", "receive", "--watch"],
      { env: { ...process.env, NANO_PASSPHRASE: PASSPHRASE }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    watcher.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const closed = new Promise<number | null>((resolve) => watcher.on("close", resolve));
    try {
      await alice.send("bob", "live 1");
      await alice.send("bob", "live 2");
      for (let i = 0; i < 300 && !output.includes("live 2"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      watcher.kill("SIGTERM");
    }
    assert.equal(await closed, 0, "SIGTERM ends the watch cleanly");
    const texts = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => (JSON.parse(line) as { text: string }).text);
    assert.deepEqual(texts, ["live 1", "live 2"]);
    assert.deepEqual(await bob.receive(), [], "acknowledged while watching");
  }));
