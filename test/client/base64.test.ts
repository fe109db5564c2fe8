// The relay API's base64 (src/client/transport/base64.ts) over each runtime's codec — Node's Buffer
// (the Node transport's), the portable one (the page's) and the tables alone: the same text as Buffer
// for every length, and a strict decoder — non-canonical or hostile text from a relay is a typed
// error in every codec, never guessed bytes (Buffer alone would skip the bad characters).
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { NODE_BASE64 } from "../../src/client/local-store/node-record-codec.ts";
import { relayBase64 } from "../../src/client/transport/base64.ts";
import { fetchTransport } from "../../src/client/transport/relay-fetch.ts";
import { nodeTransport } from "../../src/client/transport/relay-http.ts";
import { NanoError } from "../../src/errors/index.ts";
import { PORTABLE_BASE64, TABLE_BASE64 } from "../../src/text/base64.ts";

const CODECS = { node: NODE_BASE64, portable: PORTABLE_BASE64, tables: TABLE_BASE64 };

test("the transports carry Buffer's codec in Node and the portable one in the page", () => {
  assert.equal(nodeTransport.base64, NODE_BASE64);
  assert.equal(fetchTransport.base64, PORTABLE_BASE64);
});

for (const [name, codec] of Object.entries(CODECS)) {
  const base64 = relayBase64(codec);
  test(`${name}: round trips and matches Buffer's standard padded base64 for any bytes`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = base64.encode(bytes);
        assert.equal(text, Buffer.from(bytes).toString("base64"));
        assert.deepEqual(base64.decode(text), bytes);
      }),
    );
    assert.equal(base64.encode(new Uint8Array(0)), "");
    assert.deepEqual(base64.decode(""), new Uint8Array(0));
  });

  test(`${name}: refuses bad characters, missing padding, url-safe, spaces`, () => {
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
        () => base64.decode(hostile),
        (error: unknown) => NanoError.is(error, "relay_rejected"),
        JSON.stringify(hostile),
      );
    }
  });
}
