import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LocalProtocolStores } from "../../src/client/local-store/protocol-stores.ts";
import { EXPIRY_TOLERANCE_MS } from "../../src/client/messaging/disappearing.ts";
import { NanoClient } from "../../src/client/nano-client.ts";
import type { IncomingMessage, RejectedMessage } from "../../src/client/operations/receive.ts";
import { newClientMessageId } from "../../src/client/outbox/outbox.ts";
import { flushOutbox } from "../../src/client/outbox/outbox-flush.ts";
import { randomBytes } from "../../src/crypto/index.ts";
import { CONTENT_EXPIRES_FLAG, encodeContent, MAX_EXPIRE_SECONDS } from "../../src/protocol/content.ts";
import { sendMessage } from "../../src/protocol/index.ts";
import { fileHolds } from "../support/file-holds.ts";
import { cli, PASSPHRASE, REPO_ROOT, type Run, setUpUsers, withRelay } from "./_harness.ts";

/**
 * Disappearing messages with a real relay (docs/client.md "Disappearing messages"): the timer rides
 * inside the encrypted content, both sides delete on time, a message that expired on the way is never
 * shown, a hostile timer is refused, and a receiver with a wrong clock keeps nothing longer than asked.
 */

const DAY = 86_400_000;

async function receiveAll(
  client: NanoClient,
): Promise<{ shown: IncomingMessage[]; rejected: RejectedMessage[] }> {
  const shown: IncomingMessage[] = [];
  const rejected: RejectedMessage[] = [];
  await client.receive({
    watch: false,
    saveDir: null,
    onMessage: (message) => void shown.push(message),
    onRejected: (refused) => void rejected.push(refused),
  });
  return { shown, rejected };
}

function sealedReceivedRows(path: string): Uint8Array[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (
      db.prepare("SELECT record FROM received WHERE expires_at IS NOT NULL").all() as { record: Uint8Array }[]
    ).map((row) => Uint8Array.from(row.record));
  } finally {
    db.close();
  }
}

test("both sides delete on time: conversation timer, per-message timer, off; expired on the way is never shown", () =>
  withRelay(async (relay, dir) => {
    const [aliceUser, bobUser] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    const alice = await NanoClient.open({ home: aliceUser!.home, passphrase: PASSPHRASE });
    let bob = await NanoClient.open({ home: bobUser!.home, passphrase: PASSPHRASE });
    try {
      assert.equal(await alice.setConversationExpiry("bob", 7 * DAY), 604_800);
      const send = (text: string, extra: { expireAfterMs?: number | null } = {}) =>
        alice.send({ recipient: "bob", text, file: null, cryptoMode: null, ...extra });
      assert.equal((await send("weekly")).expireAfterSeconds, 604_800, "the conversation's timer");
      const shortSentAt = Date.now();
      assert.equal((await send("short-lived", { expireAfterMs: 6000 })).expireAfterSeconds, 6);
      // The short form: send(peer, text, options).
      assert.equal((await alice.send("bob", "permanent", { expireAfterMs: null })).expireAfterSeconds, null);
      // A file (`send --file --expire`): its saved attachment goes with its row.
      const fileSent = await alice.send({
        recipient: "bob",
        text: null,
        file: { name: "brief.txt", bytes: new TextEncoder().encode("FILE-MARKER for a few seconds") },
        cryptoMode: null,
        expireAfterMs: 6000,
      });
      assert.equal(fileSent.expireAfterSeconds, 6);

      const received = await receiveAll(bob);
      const file = received.shown.find((m) => m.contentType === "attachment");
      assert.equal(file?.expireAfterSeconds, 6);
      const saved = file!.attachment!.path;
      assert.equal(await readFile(saved, "utf8"), "FILE-MARKER for a few seconds");
      const first = { shown: received.shown.filter((m) => m !== file) };
      assert.deepEqual(
        first.shown.map((m) => [m.text, m.expireAfterSeconds]),
        [
          ["weekly", 604_800],
          ["short-lived", 6],
          ["permanent", null],
        ],
      );
      const short = first.shown[1]!;
      assert.ok(
        short.expiresAt! >= shortSentAt + 6000 - EXPIRY_TOLERANCE_MS &&
          short.expiresAt! <= Date.now() + 6000 + EXPIRY_TOLERANCE_MS,
        "the receiver's timer started when the relay accepted the message",
      );
      // The receiver's own setting does not shorten or lengthen what it receives.
      const bobConversations = await bob.conversations();
      assert.equal(bobConversations[0]?.expireAfterSeconds, null);
      assert.equal(
        (await alice.conversations())[0]?.expireAfterSeconds,
        604_800,
        "conversations show the timer",
      );
      // History orders by local time, then commit order (a message with a timer commits after its
      // clock check, so it may come after one received in the same millisecond): compared as a set.
      assert.deepEqual(
        (await bob.history())
          .filter((e) => e.contentType === "text")
          .map((e) => [e.text, e.expireAfterSeconds])
          .sort(),
        [
          ["permanent", null],
          ["short-lived", 6],
          ["weekly", 604_800],
        ],
      );
      // An export marks what will disappear (its copy outlives the timer).
      const exported = join(dir, "bob-export.json");
      await bob.exportData({ output: exported });
      const exportedMessages = (
        JSON.parse(await readFile(exported, "utf8")) as { messages: { text?: string; expires_at?: string }[] }
      ).messages;
      assert.equal(typeof exportedMessages.find((m) => m.text === "weekly")?.expires_at, "string");
      assert.equal(exportedMessages.find((m) => m.text === "permanent")?.expires_at, undefined);
      const bobDb = join(bobUser!.home, "local.db");
      const doomed = sealedReceivedRows(bobDb);
      assert.equal(doomed.length, 3, "weekly, short-lived and the file have timers");

      await sleep(Math.max(0, short.expiresAt! - Date.now(), file!.expiresAt! - Date.now()) + 50);
      assert.deepEqual(
        (await bob.history()).map((e) => e.text).sort(),
        ["permanent", "weekly"],
        "gone from the receiver's history once the timer ran out",
      );
      assert.deepEqual(
        (await alice.history()).map((e) => e.text),
        ["weekly", "permanent"],
        "and from the sender's",
      );
      // Opening the store sweeps: the sealed row is gone from local.db and local.db-wal.
      await bob.close();
      bob = await NanoClient.open({ home: bobUser!.home, passphrase: PASSPHRASE });
      const shortRow = doomed.filter(
        (row) => !sealedReceivedRows(bobDb).some((kept) => Buffer.from(kept).equals(Buffer.from(row))),
      );
      assert.equal(shortRow.length, 2, "exactly the expired rows (text and file) were deleted");
      await assert.rejects(readFile(saved), { code: "ENOENT" }, "the saved file is deleted with its row");
      for (const row of shortRow)
        for (const path of [bobDb, `${bobDb}-wal`])
          assert.equal(await fileHolds(path, row), false, `${path} holds an expired row`);

      // Expired before it was shown: a receiver that comes too late never sees it.
      await send("too late", { expireAfterMs: 1000 });
      await sleep(1500);
      const late = await receiveAll(bob);
      assert.deepEqual(late.shown, [], "never shown");
      assert.deepEqual(late.rejected, [], "not refused either: delivered and gone");
      assert.ok(!(await bob.history()).some((e) => e.text === "too late"));
      await send("after the late one", { expireAfterMs: null });
      assert.deepEqual(
        (await receiveAll(bob)).shown.map((m) => m.text),
        ["after the late one"],
        "the session stepped past it",
      );
    } finally {
      await alice.close();
      await bob.close();
    }
  }));

test("a hostile peer's absurd timer is refused (expiry_out_of_range) and quarantined, never shown or clamped", () =>
  withRelay(async (relay, dir) => {
    const [aliceUser, bobUser] = await setUpUsers(relay, dir, "classical", "alice", "bob");
    const alice = await NanoClient.open({ home: aliceUser!.home, passphrase: PASSPHRASE });
    const bob = await NanoClient.open({ home: bobUser!.home, passphrase: PASSPHRASE });
    try {
      await alice.send({ recipient: "bob", text: "hello", file: null, cryptoMode: null });
      assert.equal((await receiveAll(bob)).shown.length, 1);
      const link = await alice.context.link();
      for (const seconds of [0, MAX_EXPIRE_SECONDS + 1, 0xffffffff]) {
        // A modified client: a valid timer encoded, then overwritten in the plaintext before encryption.
        const content = encodeContent({
          type: 1,
          messageId: randomBytes(16),
          sentAt: Date.now(),
          text: `hostile ${seconds}`,
          expireAfterSeconds: 60,
        });
        assert.equal(content[1]! & CONTENT_EXPIRES_FLAG, CONTENT_EXPIRES_FLAG);
        new DataView(content.buffer, content.byteOffset).setUint32(26, seconds);
        const now = Date.now();
        await alice.context.store.transaction(async (tables) => {
          const stores = new LocalProtocolStores(tables, link.own, now, {
            records: alice.context.records,
            provider: alice.context.provider,
          });
          const sent = await sendMessage(stores.provider, stores, { peer: "bob", content }, { now });
          assert.equal(sent.kind, "sent");
          if (sent.kind !== "sent") return;
          await stores.apply(sent.writes);
          tables.insertOutbox({
            clientMessageId: newClientMessageId(randomBytes),
            recipient: "bob",
            envelope: sent.envelope,
            createdAt: now,
          });
        });
      }
      await flushOutbox(alice.context, link);
      const { shown, rejected } = await receiveAll(bob);
      assert.deepEqual(shown, []);
      assert.deepEqual(
        rejected.map((r) => [r.code, r.quarantined]),
        [
          ["expiry_out_of_range", true],
          ["expiry_out_of_range", true],
          ["expiry_out_of_range", true],
        ],
      );
      await alice.send({
        recipient: "bob",
        text: "still talking",
        file: null,
        cryptoMode: null,
        expireAfterMs: null,
      });
      assert.deepEqual(
        (await receiveAll(bob)).shown.map((m) => m.text),
        ["still talking"],
      );
    } finally {
      await alice.close();
      await bob.close();
    }
  }));

/** The real CLI with its clock `skewMs` off (test/e2e/fixtures/skewed-clock.ts, preloaded). */
function skewedCli(skewMs: number, args: readonly string[]): Promise<Run> {
  return cli(args, {
    env: {
      NODE_OPTIONS: `--import=${join(REPO_ROOT, "test/e2e/fixtures/skewed-clock.ts")}`,
      NANO_TEST_CLOCK_SKEW_MS: String(skewMs),
    },
  });
}

test("a receiver whose clock is a day behind keeps a message no longer than the sender asked (CLI)", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    await alice!.send("bob", "first contact");
    assert.equal((await bob!.receive()).length, 1);
    // Bob's delivery receipt ends alice's first-contact phase: the next message is an ordinary one
    // (a prekey message would wait for bob's clock, test/e2e/receive-clock-skew.test.ts).
    await alice!.json(["receive"]);
    const before = Date.now();
    const line = (await alice!.send("bob", "an hour", ["--expire", "1h"])) as { expireAfterSeconds?: number };
    const after = Date.now();
    assert.equal(line.expireAfterSeconds, 3600);
    // It waits at the relay: a receiver that dated the timer from its arrival would keep it this much longer.
    const waited = 5000;
    await sleep(waited);
    const run = await skewedCli(-DAY, ["--home", bob!.home, "--json", "receive"]);
    assert.equal(run.code, 0, run.stderr);
    const message = run.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { text?: string; expiresAt?: number; expireAfterSeconds?: number })
      .find((m) => m.text === "an hour");
    assert.ok(message !== undefined, run.stdout);
    assert.equal(message.expireAfterSeconds, 3600);
    // In bob's clock (a day behind), an hour after the relay accepted it (between before and after).
    const low = before - DAY + 3_600_000 - EXPIRY_TOLERANCE_MS;
    const high = after - DAY + 3_600_000 + EXPIRY_TOLERANCE_MS;
    assert.ok(
      message.expiresAt! >= low && message.expiresAt! <= high,
      `expiresAt ${message.expiresAt! - (before - DAY + 3_600_000)} ms off the sender's start`,
    );
    const plain = await skewedCli(-DAY, ["--home", bob!.home, "history", "alice"]);
    assert.match(plain.stdout, /\[disappears 1h, at [^\]]+\]: an hour\n/);
    const conversation = await cli(["--home", alice!.home, "conversations", "set", "bob", "--expire", "2w"]);
    assert.equal(conversation.code, 0, conversation.stderr);
    assert.match((await cli(["--home", alice!.home, "conversations"])).stdout, /^bob \[timer 2w\]\t/m);
    const bad = await cli(["--home", alice!.home, "send", "bob", "x", "--expire", "366d"]);
    assert.equal(bad.code, 64, bad.stderr);
  }));
