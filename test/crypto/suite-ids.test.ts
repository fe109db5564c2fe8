// The runtime-free suite lookups the client uses instead of src/crypto's node:crypto suites
// (send's --crypto-mode, receive's suite names): the same answers for every suite, and hostile names
// and ids (prototype keys, out of range, not integers) refused with unknown_suite, never resolved.
import assert from "node:assert/strict";
import { test } from "node:test";
import { getSuite, getSuiteByName, SUITES } from "../../src/crypto/index.ts";
import { suiteIdByName, suiteNameOf } from "../../src/crypto/suite-ids.ts";
import { NanoError } from "../../src/errors/index.ts";

const unknownSuite = (error: unknown) => NanoError.is(error, "unknown_suite");

test("suiteIdByName and suiteNameOf agree with src/crypto's suites", () => {
  for (const suite of SUITES) {
    assert.equal(suiteIdByName(suite.name), suite.id);
    assert.equal(suiteNameOf(suite.id), suite.name);
    assert.equal(getSuiteByName(suite.name), getSuite(suite.id));
  }
});

test("hostile crypto-mode names are unknown_suite, with the message the CLI showed before", () => {
  for (const name of [
    "",
    "Hybrid",
    "hybrid ",
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "1",
  ]) {
    assert.throws(() => suiteIdByName(name), unknownSuite, JSON.stringify(name));
  }
  assert.throws(
    () => suiteIdByName("rot13"),
    /unknown crypto mode "rot13" \(use classical, hybrid or quantum\)/,
  );
});

test("hostile stored or received suite ids are unknown_suite", () => {
  for (const id of [0, 4, -1, 1.5, 65_535, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => suiteNameOf(id), unknownSuite, String(id));
  }
});
