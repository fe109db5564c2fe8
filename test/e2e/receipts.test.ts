import assert from "node:assert/strict";
import { test } from "node:test";
import type { DeliveryReceipt } from "../../src/client/index.ts";
import { NanoClient } from "../../src/client/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { decodeContactSessions } from "../../src/protocol/index.ts";
import { PASSPHRASE, setUpUsers, type User, withRelay } from "./_harness.ts";

/**
 * Delivery receipts (docs/client.md "Delivery receipts"): the receiving client confirms what it
 * committed, and the receipt ends the sender's first-contact phase (protocol.md §7.6), so later
 * messages are plain ratchet messages instead of repeated handshakes.
 */
const text = (recipient: string, body: string) => ({ recipient, text: body, file: null, cryptoMode: null });

/** Alice and Bob, claimed in `mode` through the CLI, then opened as SDK clients for `run`. */
async function withPair(mode: string, run: (a: NanoClient, b: NanoClient) => Promise<void>): Promise<void> {
  await withRelay(async (relay, dir) => {
    const [alice, bob] = (await setUpUsers(relay, dir, mode, "alice", "bob")) as [User, User];
    const a = await NanoClient.open({ home: alice.home, passphrase: PASSPHRASE });
    const b = await NanoClient.open({ home: bob.home, passphrase: PASSPHRASE });
    try {
      await run(a, b);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
}

/** True while alice's session with `peer` still repeats the handshake on every message. */
async function inFirstContactPhase(client: NanoClient, peer: string): Promise<boolean> {
  const state = await client.home.store.read((tables) => tables.getSessions(peer)[0]?.state);
  assert.ok(state !== undefined, "a session exists");
  const active = decodeContactSessions(provider, state).active;
  assert.ok(active !== null);
  return active.pending !== null && !active.mustStep;
}

for (const mode of ["hybrid", "quantum", "classical"] as const) {
  test(`${mode}: a receipt names exactly the delivered messages and ends the first-contact phase`, () =>
    withPair(mode, async (a, b) => {
      const sent = [];
      for (const n of [1, 2, 3]) sent.push(await a.send(text("bob", `hello ${n}`)));
      assert.equal(sent[0]?.newSession, true);
      assert.equal(await inFirstContactPhase(a, "bob"), true);
      const firstContactBytes = sent[2]!.envelopeBytes;

      const delivered: string[] = [];
      await b.receive({
        watch: false,
        saveDir: null,
        onMessage: (message) => {
          delivered.push(message.contentId);
        },
      });
      assert.deepEqual(
        delivered,
        sent.map((s) => s.contentId),
        "each message carries the id its sender was told",
      );

      const receipts: DeliveryReceipt[] = [];
      const viaListener: DeliveryReceipt[] = [];
      const unsubscribe = a.onReceipt((receipt) => viaListener.push(receipt));
      const got = await a.receive({
        watch: false,
        saveDir: null,
        onMessage: () => assert.fail("a receipt is not a message"),
        onReceipt: (receipt) => {
          receipts.push(receipt);
        },
      });
      unsubscribe();
      assert.equal(got.received, 0);
      assert.equal(receipts.length, 1, "one receipt for the three messages received together");
      assert.deepEqual(receipts, viaListener);
      assert.equal(receipts[0]?.from, "bob");
      assert.equal(receipts[0]?.kind, "delivered");
      assert.deepEqual(receipts[0]?.contentIds, delivered);
      assert.equal(await inFirstContactPhase(a, "bob"), false, "the reply confirmed the session");

      const next = await a.send(text("bob", "after the receipt"));
      assert.ok(
        next.envelopeBytes < firstContactBytes,
        `a ratchet message (${next.envelopeBytes} B) is smaller than a repeated handshake (${firstContactBytes} B)`,
      );
      const later: string[] = [];
      await b.receive({ watch: false, saveDir: null, onMessage: (m) => void later.push(m.text) });
      assert.deepEqual(later, ["after the receipt"]);

      // A receipt is never answered with a receipt: bob has nothing waiting after alice's receive,
      // except the receipt for "after the receipt" that alice now gets, and that one ends the chain.
      const more: DeliveryReceipt[] = [];
      await a.receive({
        watch: false,
        saveDir: null,
        onMessage: () => {},
        onReceipt: (r) => void more.push(r),
      });
      assert.deepEqual(
        more.map((r) => r.contentIds),
        [[next.contentId]],
      );
      let echoes = 0;
      await b.receive({ watch: false, saveDir: null, onMessage: () => {}, onReceipt: () => void echoes++ });
      assert.equal(echoes, 0);
    }));
}

test("receipts: false sends none, and the sender stays in its first-contact phase", () =>
  withPair("hybrid", async (a, b) => {
    await a.send(text("bob", "quiet"));
    const texts: string[] = [];
    await b.receive({
      watch: false,
      saveDir: null,
      receipts: false,
      onMessage: (m) => void texts.push(m.text),
    });
    assert.deepEqual(texts, ["quiet"]);
    let receipts = 0;
    await a.receive({ watch: false, saveDir: null, onMessage: () => {}, onReceipt: () => void receipts++ });
    assert.equal(receipts, 0);
    assert.equal(await inFirstContactPhase(a, "bob"), true);
  }));

test("the CLI reports receipts in --json and `receive --no-receipts` sends none", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob, carol] = (await setUpUsers(relay, dir, "hybrid", "alice", "bob", "carol")) as [
      User,
      User,
      User,
    ];
    const toBob = (await alice.json(["send", "bob", "hi bob"]))[0] as { contentId: string };
    await alice.json(["send", "carol", "hi carol"]);
    await bob.json(["receive"]);
    await carol.json(["receive", "--no-receipts"]);
    const lines = (await alice.json(["receive"])) as { receipt?: DeliveryReceipt }[];
    const receipts = lines.flatMap((line) => (line.receipt === undefined ? [] : [line.receipt]));
    assert.deepEqual(
      receipts.map((r) => [r.from, r.contentIds]),
      [["bob", [toBob.contentId]]],
    );
  }));

test("while watching, receipts go out as messages arrive, not only when the watch ends", () =>
  withPair("hybrid", async (a, b) => {
    const watch = new AbortController();
    const arrived: string[] = [];
    const watching = b.receive({
      watch: true,
      saveDir: null,
      signal: watch.signal,
      onMessage: (m) => void arrived.push(m.text),
    });
    try {
      const sent = await a.send(text("bob", "are you there?"));
      const confirmed: string[] = [];
      // Bounded: 200 polls of alice's mailbox, 50 ms apart, while bob keeps watching.
      for (let i = 0; i < 200 && confirmed.length === 0; i++) {
        await a.receive({
          watch: false,
          saveDir: null,
          onMessage: () => {},
          onReceipt: (r) => void confirmed.push(...r.contentIds),
        });
        if (confirmed.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(arrived, ["are you there?"]);
      assert.deepEqual(confirmed, [sent.contentId]);
    } finally {
      watch.abort();
      await watching;
    }
  }));

test("concurrent first sends to a new contact start ONE session and use one prekey", () =>
  withPair("hybrid", async (a, b) => {
    const sent = await Promise.all(Array.from({ length: 12 }, (_, i) => a.send(text("bob", `m${i}`))));
    assert.equal(sent.filter((s) => s.newSession).length, 1, "one send started the session");
    assert.ok(sent.every((s) => !s.queued));
    const texts: string[] = [];
    let newSessions = 0;
    await b.receive({
      watch: false,
      saveDir: null,
      onMessage: (m) => {
        texts.push(m.text);
        if (m.newSession) newSessions++;
      },
    });
    assert.deepEqual([...texts].sort(), Array.from({ length: 12 }, (_, i) => `m${i}`).sort());
    assert.equal(newSessions, 1, "bob opened one session");
  }));
