import assert from "node:assert/strict";
import { test } from "node:test";
import { processTogether } from "../../src/client/messaging/receive-batch.ts";
import type { RelayMessage } from "../../src/client/transport/relay-api.ts";

const message = (id: number, from: string): RelayMessage => ({
  id,
  from,
  envelope: new Uint8Array(0),
  sentAt: 0,
});

test("a batch starts every message at once and yields outcomes in order", async () => {
  const started: number[] = [];
  const releases: (() => void)[] = [];
  const outcomes = processTogether(
    [message(1, "bob"), message(2, "bob"), message(3, "carol")],
    (m) => {
      started.push(m.id);
      return new Promise<string>((resolve) => releases.push(() => resolve(`ok ${m.id}`)));
    },
    () => false,
  );
  assert.deepEqual(started, [1, 2, 3], "all started before any finished");
  for (const release of [...releases].reverse()) release();
  assert.deepEqual(await Promise.all(outcomes), ["ok 1", "ok 2", "ok 3"]);
});

test("a later message of the same sender that failed while an earlier one was still in its second pass is tried again", async () => {
  let firstDone!: () => void;
  const attempts = new Map<number, number>();
  const outcomes = processTogether(
    [message(1, "bob"), message(2, "bob"), message(3, "carol")],
    async (m) => {
      const attempt = (attempts.get(m.id) ?? 0) + 1;
      attempts.set(m.id, attempt);
      if (m.id === 1) {
        // An attachment: commits only after its download, i.e. after message 2 was tried.
        await new Promise<void>((resolve) => {
          firstDone = resolve;
        });
        return "message";
      }
      // Message 2 needs the session message 1 opens; carol's message fails on its own.
      return m.id === 2 && attempt > 1 ? "message" : "rejected";
    },
    (outcome) => outcome === "rejected",
  );
  await new Promise((resolve) => setImmediate(resolve));
  firstDone();
  assert.deepEqual(await Promise.all(outcomes), ["message", "message", "rejected"]);
  assert.deepEqual(Object.fromEntries(attempts), { 1: 1, 2: 2, 3: 1 }, "carol's failure is not retried");
});

/**
 * A later message that fails (a store error) while an earlier one is still pending (an attachment
 * downloading) must not be an unhandled rejection: under Node's default that ends the process.
 */
test("a later message that throws while an earlier one is pending is not an unhandled rejection", async () => {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown) => unhandled.push(reason);
  // node:test installs its own handler; ours sees the event all the same.
  process.on("unhandledRejection", listener);
  try {
    const message = (id: number): RelayMessage => ({
      id,
      from: "alice",
      envelope: new Uint8Array(1),
      sentAt: 0,
    });
    const outcomes = processTogether(
      [message(1), message(2)],
      (m) =>
        m.id === 1
          ? new Promise<string>((resolve) => setTimeout(() => resolve("slow attachment"), 50))
          : Promise.reject(new Error("SQLITE_FULL: database or disk is full")),
      () => false,
    );
    assert.equal(await outcomes[0], "slow attachment");
    await assert.rejects(outcomes[1]!, /SQLITE_FULL/);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", listener);
  }
});
