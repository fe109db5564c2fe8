// The web app's Messenger over the SDK (src/client/messenger/client-messenger.ts), in Node, against a
// real relay process and a CLI peer: every screen's question answered by the real client — creating
// and claiming, conversations with unread counts, history with delivery ticks from real receipts, a
// file with progress, a contact's changed identity blocking sends until accepted, the safety number
// both sides compute, a message sent while the relay is SIGKILLed staying pending and going out when
// it is back (through the receive loop's reconnect), and deleting the account.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ClientMessenger } from "../../src/client/messenger/client-messenger.ts";
import { NanoError } from "../../src/errors/index.ts";
import type { MessengerEvent } from "../../src/web/messenger.ts";
import { nodeMessenger } from "../support/node-messenger.ts";
import { setUpUsers, type User, withRelay } from "./_harness.ts";

/** Waits (bounded) until `check` holds, re-checking after every event and every 50 ms. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test("the Messenger over the real client talks to a CLI user through a real relay, offline included", () =>
  withRelay(async (relay, dir) => {
    const { messenger, close } = nodeMessenger(relay.url, join(dir, "web-alice"));
    const events: MessengerEvent[] = [];
    messenger.subscribe((event) => events.push(event));
    try {
      assert.equal(await messenger.account(), null);
      await assert.rejects(
        messenger.conversations(),
        (e: unknown) => (e as { code?: string }).code === "username_not_claimed",
      );
      const created = await messenger.createIdentity({ mode: "hybrid", passphrase: null });
      assert.deepEqual([created.username, created.mode], [null, "hybrid"]);
      await assert.rejects(messenger.claimUsername("Not A Name"), (e: unknown) =>
        NanoError.is(e, "invalid_argument"),
      );
      const claimed = await messenger.claimUsername("alice");
      assert.equal(claimed.username, "alice");
      const [bob] = (await setUpUsers(relay, dir, "hybrid", "bob")) as [User];

      // bob writes first: a message event, an unread count, then read.
      await bob.send("alice", "hi alice");
      await until("bob's message", async () =>
        (await messenger.conversations()).some((c) => c.peer === "bob"),
      );
      assert.ok(events.some((event) => event.kind === "message" && event.peer === "bob"));
      const [conversation] = await messenger.conversations();
      assert.deepEqual(
        [conversation?.peer, conversation?.unread, conversation?.lastText],
        ["bob", 1, "hi alice"],
      );
      await messenger.markRead("bob");
      assert.equal((await messenger.conversations())[0]?.unread, 0);

      // alice answers: sent, then delivered when bob's client sends its receipt.
      assert.deepEqual(await messenger.sendText("bob", "hello bob"), { queued: false });
      const sent = (await messenger.history("bob")).at(-1);
      assert.deepEqual([sent?.direction, sent?.text, sent?.delivery], ["out", "hello bob", "sent"]);
      assert.deepEqual(
        (await bob.receive()).map((m) => m.text),
        ["hello bob"],
      );
      await until(
        "the delivery receipt",
        async () => (await messenger.history("bob")).at(-1)?.delivery === "delivered",
      );

      // A file, with progress, arrives whole at bob's.
      const progress: number[] = [];
      const bytes = new Uint8Array(200_000).map((_, i) => i & 0xff);
      assert.deepEqual(
        await messenger.sendFile("bob", { name: "data.bin", bytes }, (done) => progress.push(done)),
        { queued: false },
      );
      assert.ok(progress.length > 0 && progress.at(-1)! >= bytes.length, `progress: ${progress.join(",")}`);
      const fileLine = (await bob.json(["receive", "--save-dir", join(dir, "bob-files")])) as {
        attachment?: { path: string };
      }[];
      const saved = fileLine.find((line) => line.attachment !== undefined)?.attachment?.path;
      assert.ok(saved !== undefined, JSON.stringify(fileLine));
      assert.deepEqual(new Uint8Array(readFileSync(saved)), bytes);
      // ...and one from bob opens at alice's.
      await bob.json(["send", "alice", "--file", saved]);
      await until("bob's file", async () =>
        (await messenger.history("bob")).some((m) => m.direction === "in" && m.file !== null),
      );
      const incoming = (await messenger.history("bob")).find((m) => m.direction === "in" && m.file !== null)!;
      assert.deepEqual((await messenger.openFile("bob", incoming.id)).bytes, bytes);

      // The safety number is the one bob's CLI shows.
      const number = await messenger.safetyNumber("bob");
      assert.equal(number.digits, await bob.safetyNumber("alice"));
      assert.match(number.qrPayload, /^[0-9a-f]{136}$/);
      await assert.rejects(messenger.markVerified("bob", "0".repeat(60)), (e: unknown) =>
        NanoError.is(e, "safety_number_mismatch"),
      );
      assert.equal((await messenger.markVerified("bob", number.digits)).verified, true);

      // bob replaces his identity: alice's sends are blocked until she accepts.
      await bob.json(["init", "--replace", "--crypto-mode", "hybrid"]);
      await bob.send("alice", "new keys, same bob");
      await until(
        "the changed identity",
        async () => (await messenger.contact("bob"))?.identityChanged === true,
      );
      assert.ok(events.some((event) => event.kind === "identity-changed" && event.peer === "bob"));
      assert.equal((await messenger.conversations())[0]?.identityChanged, true);
      await assert.rejects(messenger.sendText("bob", "are you you?"), (e: unknown) =>
        NanoError.is(e, "contact_identity_changed"),
      );
      await messenger.acceptIdentity("bob");
      assert.equal((await messenger.contact("bob"))?.identityChanged, false);
      await until("the held message", async () =>
        (await messenger.history("bob")).some((m) => m.text === "new keys, same bob"),
      );
      assert.deepEqual(await messenger.sendText("bob", "accepted"), { queued: false });

      // The relay dies: the message waits in the outbox, and goes when the relay is back.
      await relay.kill();
      assert.deepEqual(await messenger.sendText("bob", "sent while the relay was down"), { queued: true });
      assert.deepEqual(
        (await messenger.pending()).map((p) => [p.recipient, p.text]),
        [["bob", "sent while the relay was down"]],
      );
      assert.equal((await messenger.history("bob")).at(-1)?.delivery, "pending");
      assert.ok(events.some((event) => event.kind === "connection" && !event.online));
      await relay.start();
      await until("the outbox to drain", async () => (await messenger.pending()).length === 0);
      // The screens learn it without asking: "online" again after the "offline" (the outbox watch).
      const offlineAt = events.findIndex((event) => event.kind === "connection" && !event.online);
      await until("the online event", async () =>
        events.slice(offlineAt).some((event) => event.kind === "connection" && event.online),
      );
      const texts = (await bob.receive()).map((m) => m.text);
      assert.ok(texts.includes("sent while the relay was down"), texts.join("|"));

      // Deleting needs the username, then the account is gone here too.
      await assert.rejects(messenger.deleteAccount("bob"));
      await messenger.deleteAccount("alice");
      assert.equal(await messenger.account(), null);
      const gone = await bob.run(["send", "alice", "anyone there?"]);
      assert.notEqual(gone.code, 0);
    } finally {
      await close();
    }
  }));

/**
 * A page reopened over what a closed tab left in the outbox: the watch flushes it when it connects and
 * says nothing, so the screens (the outbox list, the ticks) learn that it went only because the
 * messenger looks at the outbox from its start. Without that look, the outbox screen went on listing
 * delivered messages ("4 attempts · last: relay_unreachable").
 */
test("a reopened messenger tells the screens that what an earlier one left in the outbox went out", () =>
  withRelay(async (relay, dir) => {
    const { messenger, runtime, close } = nodeMessenger(relay.url, join(dir, "web-carol"));
    try {
      await messenger.createIdentity({ mode: "classical", passphrase: null });
      await messenger.claimUsername("carol");
      const [dave] = (await setUpUsers(relay, dir, "classical", "dave")) as [User];
      // A session first (a first message needs the relay for the peer's keys).
      assert.deepEqual(await messenger.sendText("dave", "before"), { queued: false });
      await relay.kill();
      assert.deepEqual(await messenger.sendText("dave", "left in the outbox"), { queued: true });
      // The tab closes; another opens over the same home once the relay is back.
      await messenger.stop();
      const reopened = new ClientMessenger(runtime);
      const events: MessengerEvent[] = [];
      reopened.subscribe((event) => events.push(event));
      await relay.start();
      reopened.start();
      try {
        await until("the outbox to drain", async () => (await reopened.pending()).length === 0);
        await until("an outbox event for the screens", async () => events.some((e) => e.kind === "outbox"));
        assert.ok((await dave.receive()).some((m) => m.text === "left in the outbox"));
      } finally {
        await reopened.stop();
      }
    } finally {
      await close();
    }
  }));
