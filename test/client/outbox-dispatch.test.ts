import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { LocalStore, OutboxEntry } from "../../src/client/local-store/local-store.ts";
import { LocalStore as Store } from "../../src/client/local-store/local-store.ts";
import { Outbox } from "../../src/client/outbox/outbox.ts";
import {
  OutboxDispatcher,
  type PipelinedTransport,
  type Transports,
} from "../../src/client/outbox/outbox-dispatch.ts";
import { OutboxState } from "../../src/client/outbox/outbox-state.ts";
import { randomBytes, utf8 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { withTempDir } from "./_helpers.ts";

const USER_RETRY = { baseMs: 0, maxMs: 0, factor: 1, jitter: 0 };

/**
 * A pipelined transport whose answers the test gives by hand: `posted` is the wire order, and an
 * entry's promise settles only when the test answers it, so "posted without waiting" is observable.
 */
class ScriptedChannel implements PipelinedTransport {
  usable = true;
  openable = true;
  readonly posted: string[] = [];
  readonly #answers = new Map<string, { resolve: () => void; reject: (error: NanoError) => void }>();

  async open(): Promise<void> {
    if (!this.openable) throw new NanoError("relay_unreachable", "no socket");
  }

  post(entry: OutboxEntry): Promise<unknown> {
    this.posted.push(entry.clientMessageId);
    return new Promise<void>((resolve, reject) => {
      this.#answers.set(entry.clientMessageId, { resolve, reject });
    });
  }

  answer(id: string, error?: NanoError): void {
    const pending = this.#answers.get(id);
    assert.ok(pending !== undefined, `${id} was not posted`);
    this.#answers.delete(id);
    if (error === undefined) pending.resolve();
    else pending.reject(error);
  }

  answerAll(): void {
    for (const id of [...this.#answers.keys()]) this.answer(id);
  }
}

async function withDispatcher(
  run: (context: {
    store: LocalStore;
    outbox: Outbox;
    dispatcher: OutboxDispatcher;
    channel: ScriptedChannel;
    via: Transports;
    http: string[];
    relaxedCalls: () => number;
  }) => Promise<void>,
): Promise<void> {
  await withTempDir(async (dir) => {
    const store = await Store.open(join(dir, "local.db"), randomBytes(32));
    let relaxed = 0;
    const original = store.relaxed.bind(store);
    store.relaxed = (work) => {
      relaxed++;
      return original(work);
    };
    const channel = new ScriptedChannel();
    const http: string[] = [];
    const via: Transports = {
      channel,
      http: async (entry) => {
        http.push(entry.clientMessageId);
        return { clientMessageId: entry.clientMessageId };
      },
    };
    // One client's outbox state, shared as NanoClient's context shares it.
    const state = new OutboxState();
    try {
      await run({
        store,
        outbox: new Outbox(store, { state }),
        dispatcher: new OutboxDispatcher(store, state),
        channel,
        via,
        http,
        relaxedCalls: () => relaxed,
      });
    } finally {
      await store.close();
    }
  });
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test("a round posts every due entry in outbox order without waiting for answers; answers given together are removed in one relaxed operation", () =>
  withDispatcher(async ({ outbox, dispatcher, channel, via, relaxedCalls }) => {
    for (const id of ["a", "b", "c", "d"])
      await outbox.enqueue({
        clientMessageId: id,
        recipient: id === "c" ? "carol" : "bob",
        envelope: utf8(id),
      });
    const round = await dispatcher.flush(via, USER_RETRY);
    assert.deepEqual(channel.posted, ["a", "b", "c", "d"], "all posted before any answer");
    const before = relaxedCalls();
    channel.answerAll();
    const attempts = await Promise.all(round.values());
    assert.ok(attempts.every((attempt) => attempt.acknowledged));
    assert.equal(relaxedCalls() - before, 1, "one store operation for the four removals");
    assert.equal(await outbox.size(), 0);
  }));

test("an error answer fails only its entry, with the relay's code; the next send to that recipient goes through a round that posts it again first", () =>
  withDispatcher(async ({ outbox, dispatcher, channel, via }) => {
    const b1 = await outbox.enqueue({ clientMessageId: "b1", recipient: "bob", envelope: utf8("b1") });
    const c1 = await outbox.enqueue({ clientMessageId: "c1", recipient: "carol", envelope: utf8("c1") });
    const first = await dispatcher.flush(via, USER_RETRY);
    assert.deepEqual(channel.posted, ["b1", "c1"]);
    channel.answer("b1", new NanoError("mailbox_full", "full"));
    channel.answer("c1");
    assert.deepEqual(await first.get(b1.clientMessageId), { acknowledged: false, code: "mailbox_full" });
    assert.deepEqual(await first.get(c1.clientMessageId), { acknowledged: true, code: null });
    const [left] = await outbox.pending();
    assert.equal(left?.clientMessageId, "b1");
    assert.equal(left?.lastError, "mailbox_full");
    assert.equal(left?.attempts, 1);

    // A send's fresh entry to bob: b1 still waits, so a round posts b1 first, then b2.
    const b2 = await outbox.enqueue({ clientMessageId: "b2", recipient: "bob", envelope: utf8("b2") });
    const delivered = dispatcher.deliver(b2, via, USER_RETRY);
    for (let i = 0; i < 100 && channel.posted.length < 4; i++) await turn();
    assert.deepEqual(channel.posted.slice(2), ["b1", "b2"]);
    channel.answerAll();
    assert.deepEqual(await delivered, { acknowledged: true, code: null });
    assert.equal(await outbox.size(), 0);
  }));

test("with nothing waiting, a fresh entry is posted at once (no round); concurrent rounds and delivers post each entry once", () =>
  withDispatcher(async ({ store, dispatcher, channel, via }) => {
    await dispatcher.flush(via, USER_RETRY);
    const commit = async (id: string) => {
      const entry: OutboxEntry = {
        clientMessageId: id,
        recipient: "bob",
        envelope: utf8(id),
        createdAt: Date.now(),
        attempts: 0,
        nextAttemptAt: Date.now(),
        lastError: null,
      };
      await store.transaction((tables) => tables.insertOutbox(entry));
      return entry;
    };
    const x = await commit("x");
    const delivered = dispatcher.deliver(x, via, USER_RETRY);
    assert.deepEqual(channel.posted, ["x"], "posted synchronously, without reading the outbox");
    const rounds = await Promise.all([dispatcher.flush(via, USER_RETRY), dispatcher.flush(via, USER_RETRY)]);
    assert.deepEqual(channel.posted, ["x"], "a round does not post an entry in flight");
    assert.equal(rounds[0], rounds[1], "a request made before the round started joined it");
    channel.answer("x");
    assert.deepEqual(await delivered, { acknowledged: true, code: null });
    assert.deepEqual(await rounds[0].get("x"), { acknowledged: true, code: null });
  }));

test("when the channel cannot open, a round falls back to HTTP, one entry after another", () =>
  withDispatcher(async ({ outbox, dispatcher, channel, via, http }) => {
    channel.openable = false;
    await outbox.enqueue({ clientMessageId: "h1", recipient: "bob", envelope: utf8("h1") });
    await outbox.enqueue({ clientMessageId: "h2", recipient: "bob", envelope: utf8("h2") });
    const round = await dispatcher.flush(via, USER_RETRY);
    assert.deepEqual(http, ["h1", "h2"]);
    assert.deepEqual(channel.posted, []);
    assert.deepEqual(await round.get("h2"), { acknowledged: true, code: null });
    assert.equal(await outbox.size(), 0);
  }));

test("an id enqueued again after its acknowledgement (a retried user action) is posted again", () =>
  withDispatcher(async ({ outbox, dispatcher, channel, via }) => {
    await outbox.enqueue({ clientMessageId: "r1", recipient: "bob", envelope: utf8("r1") });
    const first = await dispatcher.flush(via, USER_RETRY);
    channel.answer("r1");
    assert.deepEqual(await first.get("r1"), { acknowledged: true, code: null });
    await outbox.enqueue({ clientMessageId: "r1", recipient: "bob", envelope: utf8("r1") });
    const second = await dispatcher.flush(via, USER_RETRY);
    assert.deepEqual(channel.posted, ["r1", "r1"], "the relay stores it once; the outbox empties");
    channel.answer("r1");
    assert.deepEqual(await second.get("r1"), { acknowledged: true, code: null });
    assert.equal(await outbox.size(), 0);
  }));
