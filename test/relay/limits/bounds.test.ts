// The small bounds of src/relay/limits: per-key counters with a cap, and the memory budget.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NanoError } from "../../../src/errors/index.ts";
import { RelayBusyError } from "../../../src/relay/limits/busy.ts";
import { KeyedCounter } from "../../../src/relay/limits/keyed-counter.ts";
import { MemoryWatch } from "../../../src/relay/limits/memory-watch.ts";

describe("KeyedCounter", () => {
  it("admits up to the cap per key and forgets a key whose count returns to zero", () => {
    const counter = new KeyedCounter(2);
    assert.equal(counter.acquire("a"), true);
    assert.equal(counter.acquire("a"), true);
    assert.equal(counter.acquire("a"), false);
    assert.equal(counter.count("a"), 2, "a refusal counts nothing");
    assert.equal(counter.acquire("b"), true);
    counter.release("a");
    assert.equal(counter.acquire("a"), true);
    counter.release("a");
    counter.release("a");
    counter.release("a");
    assert.equal(counter.count("a"), 0);
    assert.equal(counter.keys, 1, "only b is still open: the map cannot grow with past addresses");
  });
});

describe("MemoryWatch", () => {
  it("refuses new work with relay_busy and a Retry-After while over the budget", () => {
    let rss = 100;
    const watch = new MemoryWatch(1000, () => rss);
    watch.admit("upload");
    rss = 5000;
    // The reading is reused for a short while; a fresh watch sees the new value.
    const fresh = new MemoryWatch(1000, () => rss);
    assert.throws(
      () => fresh.admit("upload"),
      (error: unknown) =>
        error instanceof RelayBusyError && NanoError.is(error, "relay_busy") && error.retryAfterSeconds >= 1,
    );
  });
});
