import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { randomBytes, SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
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

test("padding: buckets are powers of two from 256 B to 32 KiB, strict unpadding", async () => {
  assert.equal(bucketFor(0), 256);
  assert.equal(bucketFor(252), 256);
  assert.equal(bucketFor(253), 512);
  assert.equal(bucketFor(MAX_PADDED_CONTENT), 32768);
  await assertCode(() => bucketFor(MAX_PADDED_CONTENT + 1), "content_too_large");
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), (content) => {
      const padded = pad(content);
      assert.deepEqual(unpad(padded), content);
    }),
    { numRuns: 200 },
  );
  const padded = pad(new Uint8Array([1, 2, 3]));
  padded[100] = 1;
  await assertCode(() => unpad(padded), "malformed");
  await assertCode(() => unpad(new Uint8Array(300)), "malformed");
  const long = pad(new Uint8Array(10));
  new DataView(long.buffer).setUint32(0, 253);
  await assertCode(() => unpad(long), "malformed");
});

test("headers: constant size per (suite, KEM flag); absent KEM fields must be zero", async () => {
  for (const id of ALL_SUITES) {
    const suite = provider.suite(id);
    const dh = suite.agreement ? randomBytes(32) : null;
    const plain = encodeHeader(suite, { n: 1, pn: 2, dh, ct: null, ek: null });
    assert.equal(plain.length, headerLength(suite, false));
    if (!suite.ratchetKem) continue;
    const withCt = encodeHeader(suite, { n: 1, pn: 2, dh, ct: randomBytes(1088), ek: null });
    const withBoth = encodeHeader(suite, { n: 1, pn: 2, dh, ct: randomBytes(1088), ek: randomBytes(1184) });
    assert.equal(withCt.length, withBoth.length);
    assert.equal(decodeHeader(suite, true, withCt).ek, null);
    const dirty = withCt.slice();
    dirty[dirty.length - 1] = 1;
    await assertCode(() => decodeHeader(suite, true, dirty), "malformed");
  }
});

test("content: text, attachment reference and receipts round-trip; hostile content is typed", async () => {
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
    await fc.assert(
      fc.asyncProperty(
        mutations(bytes),
        async (m) => void (await onlyTypedErrors(() => decodeContentExact(m))),
      ),
      { numRuns: 300 },
    );
  }
  await assertCode(
    () => encodeContent({ type: 1, messageId: id, sentAt: NOW, text: "x".repeat(40000) }),
    "content_too_large",
  );
  assert.throws(
    () => encodeContent({ type: 2, messageId: id, sentAt: NOW, reference: new Uint8Array(50) }),
    RangeError,
  );
});

test("prekeys: upload lists verify, expiry and rotation plans", async () => {
  const bob = await makeIdentity("bob", SUITE_IDS.classical);
  const list = [
    (
      await generatePrekey(provider, bob.keys, bob.record, SUITE_IDS.hybrid, PREKEY_ROLES.signedDh, {
        created: NOW,
      })
    ).prekey,
    (
      await generatePrekey(provider, bob.keys, bob.record, SUITE_IDS.quantum, PREKEY_ROLES.pqLastResort, {
        created: NOW,
      })
    ).prekey,
  ];
  const bytes = encodePrekeyList(list);
  assert.equal((await decodePrekeyList(provider, bytes, bob.record, NOW + 1)).length, 2);
  // Regression: fast-check found that two zero bytes decoded as an empty, "valid" list.
  await assertCode(
    async () => await decodePrekeyList(provider, encodePrekeyList([]), bob.record, NOW + 1),
    "malformed",
  );
  const other = await makeIdentity("bob", SUITE_IDS.classical);
  await assertCode(
    async () => await decodePrekeyList(provider, bytes, other.record, NOW + 1),
    "invalid_signature",
  );
  await assertCode(
    async () => await decodePrekeyList(provider, bytes, bob.record, NOW + PREKEY_LIFETIMES.signedMs),
    "prekey_expired",
  );
  await assertCode(
    async () =>
      await generatePrekey(provider, bob.keys, bob.record, SUITE_IDS.quantum, PREKEY_ROLES.signedDh),
    "prekey_mismatch",
  );
  const plan = planRotation(
    provider,
    list,
    [SUITE_IDS.hybrid, SUITE_IDS.quantum],
    NOW + PREKEY_LIFETIMES.rotateAfterMs,
  );
  assert.equal(plan.renew.length, 3); // hybrid last resort missing; both held keys due
  assert.equal(plan.expired.length, 0);
  assert.equal(
    planRotation(provider, list, [SUITE_IDS.classical], NOW + PREKEY_LIFETIMES.signedMs).expired.length,
    2,
  );
  await fc.assert(
    fc.asyncProperty(mutations(bytes), async (m) => {
      assert.notEqual(
        await onlyTypedErrors(async () => await decodePrekeyList(provider, m, bob.record, NOW + 1)),
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
    const bob = await makeParty("bob", SUITE_IDS.classical); // accepts every suite
    const { bundle } = await publishBundle(bob, suiteId);
    assert.equal((await decodeBundleExact(provider, bundle, NOW)).suite.id, suiteId);
    await fc.assert(
      fc.asyncProperty(mutations(bundle), async (m) => {
        assert.notEqual(await onlyTypedErrors(async () => await decodeBundleExact(provider, m, NOW)), "ok");
      }),
      // ML-DSA verification makes each post-quantum decode slower; keep the file well under a minute.
      { numRuns: suiteId === SUITE_IDS.classical ? 2000 : 600 },
    );
  });
}

test("fuzz: envelope decoder gives typed errors only, checks per-suite maxima", async () => {
  for (const suiteId of ALL_SUITES) {
    const { alice, a } = await establishPair(suiteId);
    const message = (await send(a, alice, "fuzz me")).envelope;
    const { first } = await connect(
      await makeParty("alice", suiteId, [suiteId]),
      await makeParty("bob", suiteId, [suiteId]),
    );
    for (const valid of [message, first]) {
      decodeEnvelope(provider, valid);
      await fc.assert(
        fc.asyncProperty(
          mutations(valid),
          async (m) => void (await onlyTypedErrors(() => decodeEnvelope(provider, m))),
        ),
        { numRuns: 700 },
      );
    }
    const suite = provider.suite(suiteId);
    const huge = new Uint8Array(maxEnvelopeLength(suite, 3) + 1);
    huge.set([1, 0, suiteId, suite.ratchetKem ? 3 : 2]);
    await assertCode(() => decodeEnvelope(provider, huge), "envelope_size_invalid");
  }
  await assertCode(() => decodeEnvelope(provider, new Uint8Array(65537)), "envelope_size_invalid");
  await assertCode(() => decodeEnvelope(provider, Uint8Array.of(2, 0, 1, 2)), "unsupported_version");
  await assertCode(() => decodeEnvelope(provider, Uint8Array.of(1, 0, 9, 2)), "unknown_suite");
  await assertCode(() => decodeEnvelope(provider, Uint8Array.of(1, 0, 1, 3)), "malformed");
  await assertCode(() => decodeEnvelope(provider, Uint8Array.of(1, 0, 3, 2)), "malformed");
});

test("session records: byte-exact round trip and typed errors on hostile records", async () => {
  for (const suiteId of ALL_SUITES) {
    const { alice } = await establishPair(suiteId);
    const record = alice.stores.sessionMap.get("bob")!;
    const sessions = decodeContactSessions(provider, record);
    assert.deepEqual(encodeContactSessions(sessions), record);
    const state = encodeRatchetState(sessions.active!);
    assert.deepEqual(encodeRatchetState(decodeRatchetStateExact(provider, state)), state);
    await fc.assert(
      fc.asyncProperty(
        mutations(state),
        async (m) => void (await onlyTypedErrors(() => decodeRatchetStateExact(provider, m))),
      ),
      { numRuns: 1000 },
    );
    await fc.assert(
      fc.asyncProperty(
        mutations(record),
        async (m) => void (await onlyTypedErrors(() => decodeContactSessions(provider, m))),
      ),
      { numRuns: 500 },
    );
  }
});
