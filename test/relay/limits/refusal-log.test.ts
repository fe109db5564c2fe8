// The refusal log's bound (docs/audit.md "Bounded growth"): whatever arrives, one window appends at
// most 2 * perWindow + 1 entries, and no refusal goes uncounted.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type Refusal, RefusalLog } from "../../../src/relay/limits/refusal-log.ts";
import type { RelayAuditEvent } from "../../../src/relay/transparency.ts";

function harness(perWindow: number) {
  let now = 1_000_000;
  const appended: RelayAuditEvent[] = [];
  const log = new RefusalLog({
    perWindow,
    windowMs: 60_000,
    append: async (event) => void appended.push(event),
    now: () => now,
    onError: (error) => {
      throw error;
    },
  });
  return {
    log,
    appended,
    advance(ms: number) {
      now += ms;
    },
    get now() {
      return now;
    },
  };
}

/** Refusals an entry stands for: 1 for a first one, `count` for an aggregate. */
const represented = (event: RelayAuditEvent) => {
  const count = event.details?.count;
  return typeof count === "number" ? count : 1;
};

test("the first refusal of an address is logged at once, repeats as one aggregate at the window's end", () => {
  const h = harness(20);
  const refusal = (time: number): Refusal => ({
    type: "auth_failed",
    reason: "signature_invalid",
    time,
    address: "192.0.2.7",
    username: "bob",
  });
  for (let i = 0; i < 1000; i++) h.log.record(refusal(h.now));
  assert.equal(h.appended.length, 1);
  assert.deepEqual(h.appended[0]!.details, { reason: "signature_invalid" });
  assert.equal(h.appended[0]!.address, "192.0.2.7");
  h.advance(60_000);
  h.log.record(refusal(h.now));
  // The closed window's aggregate, then the new window's first refusal.
  assert.equal(h.appended.length, 3);
  assert.deepEqual(h.appended[1]!.details, {
    reason: "aggregated",
    first_reason: "signature_invalid",
    count: 999,
  });
  assert.equal(h.appended[1]!.address, "192.0.2.7");
  assert.equal(h.appended[0]!.username, "bob", "the first refusal names its account");
  assert.equal(
    h.appended[1]!.username,
    undefined,
    "the aggregate names no one (an erasure may have come between)",
  );
  assert.equal(h.appended[2]!.details?.reason, "signature_invalid");
});

test("refusals beyond perWindow addresses are counted into one overflow entry", () => {
  const h = harness(3);
  for (let i = 0; i < 50; i++) {
    h.log.record({ type: "rate_limited", reason: "claim", time: h.now, address: `198.51.100.${i}` });
  }
  assert.equal(h.appended.length, 3);
  h.log.flush();
  assert.equal(h.appended.length, 4);
  assert.deepEqual(h.appended[3]!.details, { reason: "aggregated_overflow", count: 47 });
  assert.equal(h.appended[3]!.address, undefined, "the overflow entry names no address");
});

test("stop() flushes the open window", async () => {
  const h = harness(5);
  for (let i = 0; i < 4; i++) h.log.record({ type: "auth_failed", reason: "x", time: h.now, address: "a" });
  await h.log.stop();
  assert.equal(h.appended.length, 2);
  assert.equal(h.appended[1]!.details?.count, 3);
});

test("property: per window at most 2 * perWindow + 1 entries, and every refusal is represented", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(
        fc.record({
          type: fc.constantFrom("auth_failed" as const, "rate_limited" as const),
          address: fc.integer({ min: 0, max: 12 }),
          gapMs: fc.integer({ min: 0, max: 30_000 }),
        }),
        { maxLength: 300 },
      ),
      (perWindow, refusals) => {
        const h = harness(perWindow);
        // Windows as the log opens them: at the first refusal at or after the previous one's end.
        let windows = 0;
        let windowEnd = Number.NEGATIVE_INFINITY;
        for (const refusal of refusals) {
          h.advance(refusal.gapMs);
          if (h.now >= windowEnd) {
            windows++;
            windowEnd = h.now + 60_000;
          }
          h.log.record({
            type: refusal.type,
            reason: "r",
            time: h.now,
            address: `10.0.0.${refusal.address}`,
          });
          assert.ok(h.appended.length <= windows * (2 * perWindow + 1), `${h.appended.length} entries`);
        }
        h.log.flush();
        assert.ok(h.appended.length <= windows * (2 * perWindow + 1), `${h.appended.length} entries`);
        assert.equal(
          h.appended.map(represented).reduce((a, b) => a + b, 0),
          refusals.length,
        );
      },
    ),
  );
});
