// The sealed-row format is defined once (sealed-row-format.ts) and sealed two ways: synchronously over
// node:crypto by the SQLite store (record-seal.ts), asynchronously over a CryptoProvider's primitives by
// the browser store. Both directions must open, under every provider, and refuse the same changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeRecord as encodePortable } from "../../src/client/local-store/local-records.ts";
import {
  decodeRecord as decodeNode,
  encodeRecord as encodeNode,
} from "../../src/client/local-store/node-record-codec.ts";
import { blindIndex, deriveLocalKeys, openRow, sealRow } from "../../src/client/local-store/record-seal.ts";
import {
  blindIndexWith,
  deriveLocalKeysWith,
  openRowWith,
  sealRowWith,
} from "../../src/client/local-store/sealed-row-format.ts";
import { randomBytes, utf8 } from "../../src/crypto/index.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import type { CryptoProvider } from "../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../src/crypto/web/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { PORTABLE_BASE64, TABLE_BASE64 } from "../../src/text/base64.ts";

const tampered = (error: unknown) => NanoError.is(error, "local_record_tampered");

const providers: readonly [string, () => Promise<CryptoProvider>][] = [
  ["node:crypto", async () => nodeProvider],
  ["web (detected, on Node's WebCrypto)", () => createWebProvider()],
  ["web (@noble only)", () => createWebProvider({ use: "noble" })],
];

for (const [name, make] of providers) {
  test(`${name}: the same keys and blind indexes as the SQLite store, and rows open both ways`, async () => {
    const { primitives } = await make();
    const databaseKey = randomBytes(32);
    const syncKeys = deriveLocalKeys(databaseKey);
    const keys = deriveLocalKeysWith(primitives.hkdf, databaseKey);
    assert.deepEqual(keys, syncKeys);
    assert.deepEqual(
      blindIndexWith(primitives.hkdf, keys, "contacts", "alice"),
      blindIndex(syncKeys, "contacts", "alice"),
    );
    const rowKey = blindIndex(syncKeys, "sessions", utf8("s-1"));
    const plaintext = randomBytes(700);
    const sealedHere = await sealRowWith(primitives, keys, "sessions", rowKey, plaintext);
    assert.deepEqual(
      openRow(syncKeys, "sessions", rowKey, sealedHere),
      plaintext,
      "sealed async, opened sync",
    );
    const sealedSync = sealRow(syncKeys, "sessions", rowKey, plaintext);
    assert.deepEqual(
      await openRowWith(primitives, keys, "sessions", rowKey, sealedSync),
      plaintext,
      "sealed sync, opened async",
    );
    await assert.rejects(
      openRowWith(primitives, keys, "contacts", rowKey, sealedSync),
      tampered,
      "another table",
    );
    await assert.rejects(
      openRowWith(primitives, keys, "sessions", randomBytes(32), sealedSync),
      tampered,
      "another row",
    );
    await assert.rejects(
      openRowWith(primitives, keys, "sessions", rowKey, sealedSync.subarray(0, 27)),
      tampered,
      "too short",
    );
    for (const offset of [0, 11, 12, sealedSync.length - 17, sealedSync.length - 1]) {
      const changed = Uint8Array.from(sealedSync);
      changed[offset]! ^= 0x01;
      await assert.rejects(
        openRowWith(primitives, keys, "sessions", rowKey, changed),
        tampered,
        `byte ${offset}`,
      );
    }
  });
}

test("record base64: the portable codec and its tables write and read what Node's Buffer does", () => {
  for (const length of [0, 1, 2, 3, 4, 5, 255, 0x8000, 0x8001, 100_000]) {
    const bytes = randomBytes(length);
    const text = Buffer.from(bytes).toString("base64");
    for (const [name, codec] of [
      ["portable", PORTABLE_BASE64],
      ["tables", TABLE_BASE64],
    ] as const) {
      assert.equal(codec.encode(bytes), text, `${name} encodes ${length} bytes`);
      assert.deepEqual(codec.decode(text), bytes, `${name} decodes ${length} bytes`);
    }
  }
  assert.throws(() => TABLE_BASE64.decode("ab$d"), RangeError);
  assert.throws(() => TABLE_BASE64.decode("abc"), RangeError);
});

test("the SQLite store's record codec (Node's base64) and the portable one write the same bytes", () => {
  const record = {
    clientMessageId: "c-1",
    recipient: "bob",
    contentType: "text",
    body: randomBytes(70_001),
    sentAt: 5,
    contentId: "ab",
    suite: 2,
  };
  const fromNode = encodeNode("sent", record);
  assert.deepEqual(encodePortable("sent", record), fromNode);
  assert.deepEqual(decodeNode("sent", fromNode), record);
});
