import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { getSuite, randomBytes, SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { decodeBundleExact } from "../../src/protocol/bundle.ts";
import { CONTENT_TYPES, decodeContentExact, encodeContent } from "../../src/protocol/content.ts";
import { decodeEnvelope, maxEnvelopeLength } from "../../src/protocol/envelope.ts";
import { decodeHeader, encodeHeader, headerLength } from "../../src/protocol/header.ts";
import { DEFAULT_LIMITS, tightenLimits } from "../../src/protocol/limits.ts";
import { bucketFor, MAX_PADDED_CONTENT, pad, unpad } from "../../src/protocol/padding.ts";
import {
  decodePrekeyList,
  encodePrekeyList,
  generatePrekey,
  PREKEY_LIFETIMES,
  PREKEY_ROLES,
  planRotation,
} from "../../src/protocol/prekey.ts";
import {
  decodeContactSessions,
  decodeRatchetStateExact,
  encodeContactSessions,
  encodeRatchetState,
} from "../../src/protocol/session-record.ts";
import { ALL_SUITES, assertCode, makeIdentity, mutations, NOW, onlyTypedErrors } from "./_fixtures.ts";
import { connect, establishPair, makeParty, publishBundle, send } from "./_parties.ts";

test("padding: buckets are powers of two from 256 B to 32 KiB, strict unpadding", () => {
  assert.equal(bucketFor(0), 256);
  assert.equal(bucketFor(252), 256);
  assert.equal(bucketFor(253), 512);
  assert.equal(bucketFor(MAX_PADDED_CONTENT), 32768);
  assertCode(() => bucketFor(MAX_PADDED_CONTENT + 1), "content_too_large");
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), (content) => {
      const padded = pad(content);
      assert.deepEqual(unpad(padded), content);
    }),
    { numRuns: 200 },
  );
  const padded = pad(new Uint8Array([1, 2, 3]));
  padded[100] = 1;
  assertCode(() => unpad(padded), "malformed");
  assertCode(() => unpad(new Uint8Array(300)), "malformed");
  const long = pad(new Uint8Array(10));
  new DataView(long.buffer).setUint32(0, 253);
  assertCode(() => unpad(long), "malformed");
});

test("headers: constant size per (suite, KEM flag); absent KEM fields must be zero", () => {
  for (const id of ALL_SUITES) {
    const suite = getSuite(id);
    const dh = suite.agreement ? randomBytes(32) : null;
    const plain = encodeHeader(id, { n: 1, pn: 2, dh, ct: null, ek: null });
    assert.equal(plain.length, headerLength(suite, false));
    if (!suite.ratchetKem) continue;
    const withCt = encodeHeader(id, { n: 1, pn: 2, dh, ct: randomBytes(1088), ek: null });
    const withBoth = encodeHeader(id, { n: 1, pn: 2, dh, ct: randomBytes(1088), ek: randomBytes(1184) });
    assert.equal(withCt.length, withBoth.length);
    assert.equal(decodeHeader(suite, true, withCt).ek, null);
    const dirty = withCt.slice();
    dirty[dirty.length - 1] = 1;
    assertCode(() => decodeHeader(suite, true, dirty), "malformed");
  }
});

test("content: text, attachment reference and receipts round-trip; hostile content is typed", () => {
  const id = randomBytes(16);
  const samples = [
    { type: CONTENT_TYPES.text, messageId: id, sentAt: NOW, text: "héllo" },
    {
      type: CONTENT_TYPES.attachment,
      messageId: id,
      sentAt: NOW,
      // The layout of encodeAttachmentReference: version, key, hash, u64 size, content type, file name.
      reference: Uint8Array.of(1, ...randomBytes(96), 0, 0, 0, 1, 0, 0, 0, 0, 9, ...utf8("image/png"), 0),
    },
    {
      type: CONTENT_TYPES.receipt,
      messageId: id,
      sentAt: NOW,
      kind: 2,
      ids: [randomBytes(16), randomBytes(16)],
    },
  ] as const;
  for (const sample of samples) {
    const bytes = encodeContent(sample);
    assert.deepEqual(decodeContentExact(bytes), sample);
    fc.assert(
      fc.property(mutations(bytes), (m) => void onlyTypedErrors(() => decodeContentExact(m))),
      { numRuns: 300 },
    );
  }
  assertCode(
    () => encodeContent({ type: 1, messageId: id, sentAt: NOW, text: "x".repeat(40000) }),
    "content_too_large",
  );
  assert.throws(
    () => encodeContent({ type: 2, messageId: id, sentAt: NOW, reference: new Uint8Array(50) }),
    RangeError,
  );
});

test("prekeys: upload lists verify, expiry and rotation plans", () => {
  const bob = makeIdentity("bob", SUITE_IDS.classical);
  const list = [
    generatePrekey(bob.keys, bob.record, SUITE_IDS.hybrid, PREKEY_ROLES.signedDh, { created: NOW }).prekey,
    generatePrekey(bob.keys, bob.record, SUITE_IDS.quantum, PREKEY_ROLES.pqLastResort, { created: NOW })
      .prekey,
  ];
  const bytes = encodePrekeyList(list);
  assert.equal(decodePrekeyList(bytes, bob.record, NOW + 1).length, 2);
  // Regression: fast-check found that two zero bytes decoded as an empty, "valid" list.
  assertCode(() => decodePrekeyList(encodePrekeyList([]), bob.record, NOW + 1), "malformed");
  const other = makeIdentity("bob", SUITE_IDS.classical);
  assertCode(() => decodePrekeyList(bytes, other.record, NOW + 1), "invalid_signature");
  assertCode(() => decodePrekeyList(bytes, bob.record, NOW + PREKEY_LIFETIMES.signedMs), "prekey_expired");
  assertCode(
    () => generatePrekey(bob.keys, bob.record, SUITE_IDS.quantum, PREKEY_ROLES.signedDh),
    "prekey_mismatch",
  );
  const plan = planRotation(
    list,
    [SUITE_IDS.hybrid, SUITE_IDS.quantum],
    NOW + PREKEY_LIFETIMES.rotateAfterMs,
  );
  assert.equal(plan.renew.length, 3); // hybrid last resort missing; both held keys due
  assert.equal(plan.expired.length, 0);
  assert.equal(planRotation(list, [SUITE_IDS.classical], NOW + PREKEY_LIFETIMES.signedMs).expired.length, 2);
  fc.assert(
    fc.property(mutations(bytes), (m) => {
      assert.notEqual(
        onlyTypedErrors(() => decodePrekeyList(m, bob.record, NOW + 1)),
        "ok",
      );
    }),
    { numRuns: 1000 },
  );
});

test("limits can only be tightened", () => {
  assert.equal(tightenLimits({ maxSkipPerChain: 10 }).maxSkipPerChain, 10);
  assert.throws(() => tightenLimits({ maxSkipPerChain: 1001 }), RangeError);
  assert.throws(() => tightenLimits({ maxSkippedTotal: 0 }), RangeError);
  assert.equal(DEFAULT_LIMITS.maxReceiverChains, 5);
});

for (const suiteId of ALL_SUITES) {
  test(`fuzz: suite ${suiteId} bundle decoder gives typed errors only`, async () => {
    const bob = makeParty("bob", SUITE_IDS.classical); // accepts every suite
    const { bundle } = await publishBundle(bob, suiteId);
    assert.equal(decodeBundleExact(bundle, NOW).suite.id, suiteId);
    fc.assert(
      fc.property(mutations(bundle), (m) => {
        assert.notEqual(
          onlyTypedErrors(() => decodeBundleExact(m, NOW)),
          "ok",
        );
      }),
      // ML-DSA verification makes each post-quantum decode slower; keep the file well under a minute.
      { numRuns: suiteId === SUITE_IDS.classical ? 2000 : 600 },
    );
  });
}

test("fuzz: envelope decoder gives typed errors only, checks per-suite maxima", async () => {
  for (const suiteId of ALL_SUITES) {
    const { alice, a } = await establishPair(suiteId);
    const message = send(a, alice, "fuzz me").envelope;
    const { first } = await connect(
      makeParty("alice", suiteId, [suiteId]),
      makeParty("bob", suiteId, [suiteId]),
    );
    for (const valid of [message, first]) {
      decodeEnvelope(valid);
      fc.assert(
        fc.property(mutations(valid), (m) => void onlyTypedErrors(() => decodeEnvelope(m))),
        { numRuns: 700 },
      );
    }
    const suite = getSuite(suiteId);
    const huge = new Uint8Array(maxEnvelopeLength(suite, 3) + 1);
    huge.set([1, 0, suiteId, suite.ratchetKem ? 3 : 2]);
    assertCode(() => decodeEnvelope(huge), "envelope_size_invalid");
  }
  assertCode(() => decodeEnvelope(new Uint8Array(65537)), "envelope_size_invalid");
  assertCode(() => decodeEnvelope(Uint8Array.of(2, 0, 1, 2)), "unsupported_version");
  assertCode(() => decodeEnvelope(Uint8Array.of(1, 0, 9, 2)), "unknown_suite");
  assertCode(() => decodeEnvelope(Uint8Array.of(1, 0, 1, 3)), "malformed");
  assertCode(() => decodeEnvelope(Uint8Array.of(1, 0, 3, 2)), "malformed");
});

test("session records: byte-exact round trip and typed errors on hostile records", async () => {
  for (const suiteId of ALL_SUITES) {
    const { alice } = await establishPair(suiteId);
    const record = alice.stores.sessionMap.get("bob")!;
    const sessions = decodeContactSessions(record);
    assert.deepEqual(encodeContactSessions(sessions), record);
    const state = encodeRatchetState(sessions.active!);
    assert.deepEqual(encodeRatchetState(decodeRatchetStateExact(state)), state);
    fc.assert(
      fc.property(mutations(state), (m) => void onlyTypedErrors(() => decodeRatchetStateExact(m))),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(mutations(record), (m) => void onlyTypedErrors(() => decodeContactSessions(m))),
      { numRuns: 500 },
    );
  }
});
