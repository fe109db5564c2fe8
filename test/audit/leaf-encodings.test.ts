// The two leaf encodings (docs/audit.md, "Leaf encodings"): byte-exact layouts, one encoding per value,
// and strict decoding of malformed, truncated, oversized and hostile input.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  AUDIT_EVENT_TYPES,
  type AuditEventLeaf,
  canonicalDetails,
  decodeAuditEvent,
  encodeAuditEvent,
} from "../../src/audit/audit-event.ts";
import { checkKtUsername, decodeKtLeaf, encodeKtLeaf, ktBinding } from "../../src/audit/kt-leaf.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { nodePrimitives } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const fill = (length: number, byte: number) => new Uint8Array(length).fill(byte);
const malformed = (error: unknown) => NanoError.is(error, "log_leaf_malformed");

const SAMPLE: AuditEventLeaf = {
  time: 1_700_000_000_000,
  type: "auth_failed",
  outcome: "failure",
  correlationId: "req-7",
  actor: fill(16, 0xaa),
  commitments: { username: fill(32, 0x22), address: fill(32, 0x11) },
  details: { reason: "signature_invalid", attempt: 2 },
};

test("audit event v1: the documented byte layout, exactly", () => {
  const encoded = encodeAuditEvent(SAMPLE);
  const details = '{"attempt":2,"reason":"signature_invalid"}';
  const expected =
    "01" +
    "0000018bcfe56800" + // 1_700_000_000_000 ms
    `0b${hex(Buffer.from("auth_failed"))}` +
    `07${hex(Buffer.from("failure"))}` +
    `05${hex(Buffer.from("req-7"))}` +
    `10${"aa".repeat(16)}` +
    "02" +
    `07${hex(Buffer.from("address"))}${"11".repeat(32)}` + // fields in ascending order
    `08${hex(Buffer.from("username"))}${"22".repeat(32)}` +
    `${details.length.toString(16).padStart(4, "0")}${hex(Buffer.from(details))}`;
  assert.equal(hex(encoded), expected);
  assert.deepEqual(decodeAuditEvent(encoded), {
    ...SAMPLE,
    commitments: { address: fill(32, 0x11), username: fill(32, 0x22) },
  });
});

test("audit event: an event without actor, commitments or details", () => {
  const bare = encodeAuditEvent({
    time: 0,
    type: "relay_started",
    outcome: "success",
    correlationId: "",
    actor: undefined,
    commitments: {},
    details: {},
  });
  assert.equal(
    hex(bare),
    `01${"00".repeat(8)}0d${hex(Buffer.from("relay_started"))}07${hex(Buffer.from("success"))}0000000000`,
  );
  assert.equal(decodeAuditEvent(bare).actor, undefined);
});

test("audit event: encode/decode round trip (property)", () => {
  fc.assert(
    fc.property(
      fc.record({
        time: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        type: fc.constantFrom(...AUDIT_EVENT_TYPES),
        outcome: fc.constantFrom("success" as const, "failure" as const, "blocked" as const),
        correlationId: fc.stringMatching(/^[\x21-\x7e]{0,64}$/),
        actor: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 }), { nil: undefined }),
        commitments: fc.dictionary(
          fc.stringMatching(/^[a-z]{1,12}$/),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          { maxKeys: 8 },
        ),
        details: fc.dictionary(
          fc.stringMatching(/^[a-z_]{1,12}$/),
          fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean()),
          { maxKeys: 6 },
        ),
      }),
      (event) => {
        const encoded = encodeAuditEvent(event);
        const decoded = decodeAuditEvent(encoded);
        assert.deepEqual(encodeAuditEvent(decoded), encoded);
        assert.equal(decoded.type, event.type);
        assert.equal(decoded.time, event.time);
      },
    ),
    { numRuns: 300 },
  );
});

test("audit event: truncation, trailing bytes, wrong version, unknown type and non-canonical details are refused", () => {
  const encoded = encodeAuditEvent(SAMPLE);
  for (let cut = 0; cut < encoded.length; cut++)
    assert.throws(() => decodeAuditEvent(encoded.subarray(0, cut)), malformed);
  assert.throws(() => decodeAuditEvent(Uint8Array.of(...encoded, 0)), malformed);
  assert.throws(() => decodeAuditEvent(Uint8Array.of(2, ...encoded.subarray(1))), malformed);
  const retyped = encodeAuditEvent({ ...SAMPLE, type: "login" });
  retyped[10] = "X".charCodeAt(0); // "login" -> "Xogin"
  assert.throws(() => decodeAuditEvent(retyped), malformed);
  // Same details in another key order, or with whitespace: a second encoding of one event.
  const swapped = Buffer.from(
    hex(encoded).replace(
      hex(Buffer.from('{"attempt":2,"reason":"signature_invalid"}')),
      hex(Buffer.from('{"reason":"signature_invalid","attempt":2}')),
    ),
    "hex",
  );
  assert.throws(() => decodeAuditEvent(new Uint8Array(swapped)), malformed);
  // Any single-byte change is refused or is another event (no second encoding of one event).
  for (let i = 0; i < encoded.length; i++) {
    const changed = encoded.slice();
    changed[i]! ^= 0x40;
    try {
      // Whatever decodes re-encodes to exactly those bytes: one encoding per event.
      assert.deepEqual(encodeAuditEvent(decodeAuditEvent(changed)), changed);
    } catch (error) {
      assert.ok(NanoError.is(error, "log_leaf_malformed"), `byte ${i}: ${String(error)}`);
    }
  }
});

test("audit event: the encoder refuses what the decoder would refuse", () => {
  const bad: Partial<AuditEventLeaf>[] = [
    { actor: fill(15, 1) },
    { correlationId: "has space" },
    { correlationId: "x".repeat(65) },
    { commitments: { username: fill(31, 1) } },
    { details: { ratio: 0.5 } },
    { type: "nope" as never },
    { outcome: "maybe" as never },
    { time: -1 },
  ];
  for (const change of bad) assert.throws(() => encodeAuditEvent({ ...SAMPLE, ...change }), RangeError);
  assert.equal(canonicalDetails({ b: 1, a: "x" }), '{"a":"x","b":1}');
  // Details hold at most 65535 bytes: larger facts are logged by hash.
  assert.throws(() => encodeAuditEvent({ ...SAMPLE, details: { big: "x".repeat(70_000) } }), RangeError);
});

test("KT leaf v1: the documented byte layout; the commitment opens to the username only", () => {
  const leaf = encodeKtLeaf({
    time: 1,
    usernameCommitment: fill(32, 0x33),
    identityHash: fill(64, 0x44),
    recordVersion: 7,
  });
  assert.equal(hex(leaf), `01${"0000000000000001"}${"33".repeat(32)}40${"44".repeat(64)}00000007`);
  assert.deepEqual(decodeKtLeaf(leaf), {
    time: 1,
    usernameCommitment: fill(32, 0x33),
    identityHash: fill(64, 0x44),
    recordVersion: 7,
  });
  const { leaf: bound, salt } = ktBinding(nodePrimitives, "alice", fill(64, 1), 1, 5);
  checkKtUsername(sha256, decodeKtLeaf(bound), "alice", salt);
  assert.throws(
    () => checkKtUsername(sha256, decodeKtLeaf(bound), "alicf", salt),
    (e: unknown) => NanoError.is(e, "salted_commitment_mismatch"),
  );
  assert.throws(() => checkKtUsername(sha256, decodeKtLeaf(bound), "alice", salt.subarray(1)), malformed);
  // Two bindings of one name are unlinkable (fresh salts).
  assert.notDeepEqual(
    decodeKtLeaf(ktBinding(nodePrimitives, "alice", fill(64, 1), 1, 5).leaf).usernameCommitment,
    decodeKtLeaf(bound).usernameCommitment,
  );
});

test("KT leaf: truncated, trailing, wrong version, wrong hash length are refused", () => {
  const leaf = encodeKtLeaf({
    time: 1,
    usernameCommitment: fill(32, 0x33),
    identityHash: fill(64, 0x44),
    recordVersion: 7,
  });
  for (let cut = 0; cut < leaf.length; cut++)
    assert.throws(() => decodeKtLeaf(leaf.subarray(0, cut)), malformed);
  assert.throws(() => decodeKtLeaf(Uint8Array.of(...leaf, 0)), malformed);
  assert.throws(() => decodeKtLeaf(Uint8Array.of(9, ...leaf.subarray(1))), malformed);
  const short = leaf.slice();
  short[41] = 63;
  assert.throws(() => decodeKtLeaf(short), malformed);
  assert.throws(() => decodeKtLeaf(new Uint8Array(0)), malformed);
  const huge = leaf.slice();
  huge.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 1);
  assert.throws(() => decodeKtLeaf(huge), malformed);
  assert.throws(
    () =>
      encodeKtLeaf({ time: 1, usernameCommitment: fill(32, 1), identityHash: fill(32, 1), recordVersion: 1 }),
    RangeError,
  );
  assert.throws(
    () =>
      encodeKtLeaf({
        time: 1,
        usernameCommitment: fill(32, 1),
        identityHash: fill(64, 1),
        recordVersion: 2 ** 32,
      }),
    RangeError,
  );
});
