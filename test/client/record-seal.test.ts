import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  type ContactRecord,
  decodeRecord,
  encodeRecord,
} from "../../src/client/local-store/local-records.ts";
import { blindIndex, deriveLocalKeys, openRow, sealRow } from "../../src/client/local-store/record-seal.ts";
import { hkdf, randomBytes, utf8 } from "../../src/crypto/index.ts";
import { allLabels, LOCAL_LABELS } from "../../src/crypto/labels.ts";
import { NanoError } from "../../src/errors/index.ts";

const tampered = (error: unknown) => NanoError.is(error, "local_record_tampered");

test("blind indexes are deterministic per key and table, and unlinkable across tables and keys", () => {
  const keys = deriveLocalKeys(randomBytes(32));
  const other = deriveLocalKeys(randomBytes(32));
  const a = blindIndex(keys, "contacts", "alice");
  assert.equal(a.length, 32);
  assert.deepEqual(blindIndex(keys, "contacts", utf8("alice")), a, "string and UTF-8 bytes agree");
  assert.notDeepEqual(blindIndex(keys, "contacts", "alice "), a);
  assert.notDeepEqual(blindIndex(keys, "received", "alice"), a);
  assert.notDeepEqual(blindIndex(other, "contacts", "alice"), a);
  // Length framing: ("ab", "c") and ("a", "bc") must not collide.
  assert.notDeepEqual(blindIndex(keys, "ab", "c"), blindIndex(keys, "a", "bc"));
  assert.throws(() => deriveLocalKeys(randomBytes(31)), RangeError);
});

test("a sealed row opens only under its own table and row key, and any changed byte fails", () => {
  const keys = deriveLocalKeys(randomBytes(32));
  const sealed = sealRow(keys, "contacts", utf8("k1"), utf8("secret"));
  assert.deepEqual(openRow(keys, "contacts", utf8("k1"), sealed), utf8("secret"));
  assert.notDeepEqual(sealRow(keys, "contacts", utf8("k1"), utf8("secret")), sealed, "fresh nonce each time");
  assert.throws(() => openRow(keys, "contacts", utf8("k2"), sealed), tampered);
  assert.throws(() => openRow(keys, "sessions", utf8("k1"), sealed), tampered);
  assert.throws(() => openRow(deriveLocalKeys(randomBytes(32)), "contacts", utf8("k1"), sealed), tampered);
  for (let i = 0; i < sealed.length; i += 1) {
    const changed = sealed.slice();
    changed[i]! ^= 0x40;
    assert.throws(() => openRow(keys, "contacts", utf8("k1"), changed), tampered, `byte ${i}`);
  }
  for (let length = 0; length < sealed.length; length += 1) {
    assert.throws(() => openRow(keys, "contacts", utf8("k1"), sealed.subarray(0, length)), tampered);
  }
});

const contactArbitrary = fc.record({
  username: fc.string({ minLength: 1, maxLength: 40 }),
  identityRecord: fc.uint8Array({ maxLength: 200 }),
  pinnedSuite: fc.constantFrom(1 as const, 2 as const, 3 as const),
  verified: fc.boolean(),
  safetyNumberConfirmedAt: fc.option(fc.nat(), { nil: null }),
  identityChanged: fc.boolean(),
  addedAt: fc.nat(),
  updatedAt: fc.nat(),
});

test("contact records round-trip through the sealed encoding (property)", () => {
  fc.assert(
    fc.property(contactArbitrary, (contact) => {
      const decoded = decodeRecord("contact", encodeRecord("contact", contact));
      assert.deepEqual(decoded, { ...contact, identityRecord: new Uint8Array(contact.identityRecord) });
    }),
    { numRuns: 200 },
  );
});

test("the record encoding is exactly the JSON text it always was: old databases and new ones read alike (property)", () => {
  // The reference: the encoding before it was written field by field (JSON.stringify of the base64 form).
  const reference = (record: object) =>
    utf8(
      JSON.stringify({ v: 1, ...record }, (_key, value: unknown) =>
        value instanceof Uint8Array ? Buffer.from(value).toString("base64") : value,
      ),
    );
  const receivedArbitrary = fc.record({
    messageId: fc.string({ minLength: 1, maxLength: 20 }),
    sender: fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }),
    contentType: fc.string({ maxLength: 30, unit: "binary" }),
    body: fc.uint8Array({ maxLength: 3000 }),
    receivedAt: fc.nat(),
  });
  fc.assert(
    fc.property(contactArbitrary, receivedArbitrary, (contact, received) => {
      assert.deepEqual(encodeRecord("contact", contact), reference(contact));
      // An optional field left undefined is left out, as JSON.stringify leaves it out.
      const unset = { ...contact, changedIdentityRecord: undefined };
      assert.deepEqual(encodeRecord("contact", unset), reference(unset));
      const changed = { ...contact, changedIdentityRecord: received.body };
      assert.deepEqual(encodeRecord("contact", changed), reference(changed));
      assert.deepEqual(encodeRecord("received", received), reference(received));
    }),
    { numRuns: 300 },
  );
});

test("records that do not match their schema are refused on the way in and on the way out", () => {
  const contact: ContactRecord = {
    username: "alice",
    identityRecord: randomBytes(4),
    pinnedSuite: 2,
    verified: false,
    safetyNumberConfirmedAt: null,
    identityChanged: false,
    addedAt: 0,
    updatedAt: 0,
  };
  assert.throws(() => encodeRecord("contact", { ...contact, pinnedSuite: 9 }));
  assert.throws(() => encodeRecord("contact", { ...contact, username: "" }));
  // Bytes are checked by type: a string in a byte field must still be base64 to be sealed.
  assert.throws(() => encodeRecord("contact", { ...contact, identityRecord: "not base64!" }));
  assert.throws(() => encodeRecord("contact", { ...contact, username: randomBytes(4) }));
  const body = randomBytes(1024 * 1024 + 3);
  const message = { messageId: "7", sender: "bob", contentType: "text", body, receivedAt: 1 };
  assert.deepEqual(decodeRecord("received", encodeRecord("received", message)).body, body);
  const hostile = [
    "",
    "not json",
    "\xff\xfe",
    "[]",
    "null",
    JSON.stringify({ v: 2, ...contact, identityRecord: "AAAA" }),
    JSON.stringify({ v: 1, ...contact, identityRecord: "not base64!" }),
    JSON.stringify({ v: 1, ...contact, identityRecord: "AAAA", extra: 1 }),
    JSON.stringify({ v: 1, ...contact, identityRecord: "AAAA", addedAt: -1 }),
    JSON.stringify({ v: 1, ...contact, identityRecord: "AAAA", addedAt: 1.5 }),
  ];
  for (const text of hostile) {
    const bytes = text === "\xff\xfe" ? Uint8Array.of(0xff, 0xfe) : utf8(text);
    assert.throws(() => decodeRecord("contact", bytes), tampered, text);
  }
  assert.throws(
    () => decodeRecord("session", encodeRecord("contact", contact)),
    tampered,
    "kinds do not mix",
  );
});

test("the local database keys use the registry labels with their original bytes (old databases open)", () => {
  const databaseKey = new Uint8Array(32).fill(7);
  const keys = deriveLocalKeys(databaseKey);
  const empty = new Uint8Array(0);
  // The literal strings the first release derived with: moving them into labels.ts must not change them.
  assert.deepEqual(keys.recordKey, hkdf(databaseKey, empty, utf8("nano/v1/local-db/record-key"), 32));
  assert.deepEqual(keys.indexKey, hkdf(databaseKey, empty, utf8("nano/v1/local-db/index-key"), 32));
  assert.equal(LOCAL_LABELS.localRow, "nano/v1/local-db/row");
  assert.equal(LOCAL_LABELS.localIndex, "nano/v1/local-db/index");
  assert.equal(LOCAL_LABELS.keystoreSeal, "nano/v1/keystore/seal");
  assert.equal(LOCAL_LABELS.keystoreCheck, "nano/v1/keystore/check");
  for (const value of Object.values(LOCAL_LABELS)) assert.ok(allLabels().includes(value));
});
