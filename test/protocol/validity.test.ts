import assert from "node:assert/strict";
import { test } from "node:test";
import { NanoError } from "../../src/errors/index.ts";
import { CLOCK_SKEW_TOLERANCE_MS, checkValidityPeriod } from "../../src/protocol/validity.ts";

/** Issue 13, loss 3: "not yet valid" is its own code, with a stated tolerance; expiry is strict. */

const CODES = { early: "prekey_not_yet_valid", late: "prekey_expired" } as const;
const NOW = 1_800_000_000_000;
const period = { created: NOW, expires: NOW + 3_600_000 };

function code(now: number): string | null {
  try {
    checkValidityPeriod(period, now, CODES, "prekey 7");
    return null;
  } catch (error) {
    assert.ok(NanoError.is(error));
    return error.code;
  }
}

test("a period starting up to the tolerance after this clock is accepted; beyond it, not yet valid", () => {
  assert.equal(CLOCK_SKEW_TOLERANCE_MS, 15 * 60_000, "the documented tolerance");
  assert.equal(code(NOW), null);
  assert.equal(code(NOW - CLOCK_SKEW_TOLERANCE_MS), null, "this clock behind by exactly the tolerance");
  assert.equal(code(NOW - CLOCK_SKEW_TOLERANCE_MS - 1), "prekey_not_yet_valid");
  assert.equal(code(NOW - 24 * 3_600_000), "prekey_not_yet_valid", "a day behind: not 'expired'");
});

test("expiry gets no tolerance: the end of the period is the end", () => {
  assert.equal(code(period.expires - 1), null);
  assert.equal(code(period.expires), "prekey_expired");
  assert.equal(code(period.expires + 24 * 3_600_000), "prekey_expired");
});
