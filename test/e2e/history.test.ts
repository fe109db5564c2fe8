import assert from "node:assert/strict";
import { test } from "node:test";
import { NanoClient } from "../../src/client/nano-client.ts";
import type { IncomingMessage } from "../../src/client/operations/receive.ts";
import { cli, errorOf, PASSPHRASE, setUpUsers, withRelay } from "./_harness.ts";

/** Issue 13 loss 1 (what the application did not take comes again) and issue 14's history commands. */

interface HistoryLine {
  readonly direction: "in" | "out";
  readonly peer: string;
  readonly text: string;
  readonly unread: boolean;
}

test("history and conversations: both directions, --limit, --since, unread until shown; usage errors", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    await alice!.send("bob", "one");
    await alice!.send("bob", "two");
    assert.deepEqual(
      (await bob!.receive()).map((m) => m.text),
      ["one", "two"],
    );
    const [bobHistory] = (await bob!.json(["history"])) as { messages: HistoryLine[] }[];
    assert.deepEqual(
      bobHistory!.messages.map((m) => [m.direction, m.peer, m.text, m.unread]),
      [
        ["in", "alice", "one", false],
        ["in", "alice", "two", false],
      ],
      "printed by receive: read",
    );
    const [aliceHistory] = (await alice!.json(["history", "bob", "--limit", "1"])) as {
      messages: HistoryLine[];
    }[];
    assert.deepEqual(
      aliceHistory!.messages.map((m) => [m.direction, m.text]),
      [["out", "two"]],
    );
    await bob!.send("alice", "a reply");
    // Taken by an application that does not mark it read (the SDK's default).
    const sdk = await NanoClient.open({ home: alice!.home, passphrase: PASSPHRASE });
    try {
      const taken: IncomingMessage[] = [];
      await sdk.receive({ watch: false, saveDir: null, onMessage: (m) => void taken.push(m) });
      assert.deepEqual(
        taken.map((m) => m.text),
        ["a reply"],
      );
    } finally {
      await sdk.close();
    }
    const [listed] = (await alice!.json(["conversations"])) as {
      conversations: { peer: string; unread: number; last: HistoryLine }[];
    }[];
    assert.deepEqual(
      listed!.conversations.map((c) => [c.peer, c.unread, c.last.text]),
      [["bob", 1, "a reply"]],
    );
    const plain = await cli(["--home", alice!.home, "history", "bob"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^\[[^\]]+\] me -> bob \(hybrid\): one\n/);
    assert.match(plain.stdout, /\] bob -> me \(hybrid\): a reply\n$/);
    const [after] = (await alice!.json(["conversations"])) as { conversations: { unread: number }[] }[];
    assert.equal(after!.conversations[0]?.unread, 0, "history PEER marks the conversation read");
    const [recent] = (await alice!.json(["history", "--since", "1d"])) as { messages: unknown[] }[];
    assert.equal(recent!.messages.length, 3);
    const [future] = (await alice!.json(["history", "--since", "2999-01-01"])) as { messages: unknown[] }[];
    assert.equal(future!.messages.length, 0);
    const bad = await alice!.run(["history", "--since", "yesterday"]);
    assert.equal(bad.code, 64);
    assert.equal(errorOf(bad).code, "invalid_argument");
    assert.equal((await alice!.run(["history", "--limit", "0"])).code, 64);
  }));

test("a message whose onMessage threw, and ones a messages() loop left untaken, come with the next receive, once", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "quantum", "alice", "bob");
    for (const text of ["first", "fails", "third"]) await alice!.send("bob", text);
    const client = await NanoClient.open({ home: bob!.home, passphrase: PASSPHRASE });
    try {
      const taken: string[] = [];
      await assert.rejects(
        client.receive({
          watch: false,
          saveDir: null,
          onMessage: (message) => {
            if (message.text === "fails") throw new Error("the application failed");
            taken.push(message.text);
          },
        }),
        /the application failed/,
      );
      assert.deepEqual(taken, ["first", "third"]);
      await client.receive({ watch: false, saveDir: null, onMessage: (m) => void taken.push(m.text) });
      assert.deepEqual(taken, ["first", "third", "fails"]);

      for (const text of ["four", "five", "six"]) await alice!.send("bob", text);
      const looped: string[] = [];
      for await (const message of client.messages()) {
        looped.push(message.text);
        if (looped.length === 1) break;
      }
      assert.deepEqual(looped, ["four"]);
      const rest: string[] = [];
      await client.receive({ watch: false, saveDir: null, onMessage: (m) => void rest.push(m.text) });
      assert.deepEqual(rest, ["five", "six"], "left in the loop's queue: not taken, so handed over again");
      const none: string[] = [];
      await client.receive({ watch: false, saveDir: null, onMessage: (m) => void none.push(m.text) });
      assert.deepEqual(none, []);
    } finally {
      await client.close();
    }
  }));
