// The relay API's base64 in both runtimes: the same bytes as Node's Buffer for every length, and a
// strict decoder — non-canonical or hostile text from a relay is a typed error, never guessed bytes.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { fromBase64, toBase64 } from "../../src/client/transport/base64.ts";
import { NanoError } from "../../src/errors/index.ts";

test("round trips and matches Buffer's standard padded base64 for any bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const text = toBase64(bytes);
      assert.equal(text, Buffer.from(bytes).toString("base64"));
      assert.deepEqual(fromBase64(text), bytes);
    }),
  );
  assert.equal(toBase64(new Uint8Array(0)), "");
  assert.deepEqual(fromBase64(""), new Uint8Array(0));
});

test("refuses what Buffer would silently half-decode: bad characters, missing padding, url-safe, spaces", () => {
  for (const hostile of [
    "AAA*",
    "AAA",
    "AA=A",
    "A===",
    "-_-_",
    "AA AA",
    "AAAA\n",
    "AAAA=",
    "====",
    "\u0000AAA",
  ]) {
    assert.throws(
      () => fromBase64(hostile),
      (error: unknown) => NanoError.is(error, "relay_rejected"),
      JSON.stringify(hostile),
    );
  }
});
