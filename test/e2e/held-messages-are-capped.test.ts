import assert from "node:assert/strict";
import { test } from "node:test";
import { NanoClient } from "../../src/client/nano-client.ts";
import type { RejectedMessage } from "../../src/client/operations/receive.ts";
import { PASSPHRASE, setUpUsers, type User, withRelay } from "./_harness.ts";

/**
 * Finding 2 of the protocol audit, the client's half (docs/protocol.md §11.2, docs/sdk.md): messages
 * held at the relay while a sender's identity change waits for the user are capped per sender, so one
 * sender cannot keep the mailbox full of held mail. Bob replaces his identity (proven in the relay's
 * key-transparency log) and writes to alice three times: with a cap of 2, two wait at the relay and the
 * third is refused and acknowledged (`held_limit_reached`), every receive the same; trusting bob then
 * delivers the two that waited.
 */
async function receiveAt(user: User, maxHeldPerSender: number) {
  const client = await NanoClient.open({ home: user.home, passphrase: PASSPHRASE });
  const shown: string[] = [];
  const rejected: RejectedMessage[] = [];
  const changed: string[] = [];
  try {
    await client.receive({
      watch: false,
      saveDir: null,
      maxHeldPerSender,
      onMessage: (message) => void shown.push(message.text),
      onRejected: (refused) => void rejected.push(refused),
      onIdentityChanged: (username) => void changed.push(username),
    });
  } finally {
    await client.close();
  }
  return { shown, rejected, changed };
}

test("held messages of a changed identity are capped per sender; the rest are refused and acknowledged", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = (await setUpUsers(relay, dir, "hybrid", "alice", "bob")) as [User, User];
    await alice.send("bob", "before");
    await bob.receive();
    await bob.json(["init", "--replace", "--crypto-mode", "hybrid"]);
    for (const text of ["new 1", "new 2", "new 3"]) await bob.send("alice", text);

    const first = await receiveAt(alice, 2);
    assert.deepEqual(first.shown, []);
    assert.deepEqual(first.changed, ["bob", "bob"]);
    assert.deepEqual(
      first.rejected.map((r) => [r.from, r.code]),
      [["bob", "held_limit_reached"]],
    );
    // The refused one is gone from the relay; the two held ones are still there, held again.
    const second = await receiveAt(alice, 2);
    assert.deepEqual(second.rejected, []);
    assert.deepEqual(second.changed, ["bob", "bob"]);

    await alice.json(["trust", "bob"]);
    const third = await receiveAt(alice, 2);
    assert.deepEqual(third.shown, ["new 1", "new 2"]);
  }));

test("a watch counts each held message once, though paging and the socket's push both deliver it", () =>
  withRelay(async (relay, dir) => {
    // A watch pages the mailbox AND hears the socket's push of the same messages (and a reconnect
    // pushes them again): a held message comes twice or more. Counted per delivery, a cap of 2 refused
    // and dropped, for good, messages of a sender whose identity change is real.
    const [alice, bob] = (await setUpUsers(relay, dir, "hybrid", "alice", "bob")) as [User, User];
    await alice.send("bob", "before");
    await bob.receive();
    await bob.json(["init", "--replace", "--crypto-mode", "hybrid"]);
    for (const text of ["new 1", "new 2"]) await bob.send("alice", text);

    const client = await NanoClient.open({ home: alice.home, passphrase: PASSPHRASE });
    const stop = new AbortController();
    const rejected: RejectedMessage[] = [];
    let changed = 0;
    let deliveries = 0;
    let wake = () => {};
    const seen = () => {
      deliveries += 1;
      wake();
    };
    try {
      const watching = client.receive({
        watch: true,
        saveDir: null,
        maxHeldPerSender: 2,
        signal: stop.signal,
        onMessage: () => {},
        onRejected: (refused) => {
          rejected.push(refused);
          seen();
        },
        onIdentityChanged: () => {
          changed += 1;
          seen();
        },
      });
      // Both held messages, by the pages and by the push: four deliveries, whatever each became.
      while (deliveries < 4) {
        await Promise.race([
          new Promise<void>((resolve) => {
            wake = resolve;
          }),
          watching,
        ]);
      }
      stop.abort();
      await watching;
    } finally {
      await client.close();
    }
    assert.deepEqual(
      rejected.map((r) => r.code),
      [],
    );
    assert.equal(changed, 4);
    // Still both at the relay: trusting bob delivers them.
    await alice.json(["trust", "bob"]);
    const after = await receiveAt(alice, 2);
    assert.deepEqual(after.shown, ["new 1", "new 2"]);
  }));
