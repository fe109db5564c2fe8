import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { fromHex, toHex } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import {
  CONTENT_EXPIRES_FLAG,
  decodeContentExact,
  encodeContent,
  MAX_EXPIRE_SECONDS,
} from "../../src/protocol/content.ts";

/** Disappearing-message timers in the content encoding (docs/protocol.md §9.4). */

interface ContentGolden {
  readonly valid: readonly { name: string; hex: string; type: number; expireAfterSeconds: number | null }[];
  readonly invalid: readonly { name: string; hex: string; error: string }[];
}
const golden = JSON.parse(
  readFileSync(new URL("../golden/content/v1.json", import.meta.url), "utf8"),
) as ContentGolden;

const messageId = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

test("the content goldens load (a loader that finds none fails)", () => {
  assert.ok(golden.valid.length >= 5);
  assert.ok(golden.invalid.length >= 5);
});

for (const vector of golden.valid) {
  test(`content golden decodes and re-encodes byte for byte: ${vector.name}`, () => {
    const content = decodeContentExact(fromHex(vector.hex));
    assert.equal(content.type, vector.type);
    assert.equal(content.expireAfterSeconds ?? null, vector.expireAfterSeconds);
    assert.equal(toHex(encodeContent(content)), vector.hex);
  });
}

for (const vector of golden.invalid) {
  test(`content golden is refused with ${vector.error}: ${vector.name}`, () => {
    assert.throws(
      () => decodeContentExact(fromHex(vector.hex)),
      (error: unknown) => error instanceof NanoError && error.code === vector.error,
    );
  });
}

test("content without a timer keeps its version-1 bytes: the type byte has no EXPIRES bit", () => {
  const bytes = encodeContent({ type: 1, messageId, sentAt: 5, text: "hi" });
  assert.equal(bytes[1], 1);
  assert.equal(bytes.length, 1 + 1 + 16 + 8 + 2);
  assert.equal(decodeContentExact(bytes).expireAfterSeconds, undefined);
});

test("a timer sets the EXPIRES bit and adds a big-endian u32 after sent_at", () => {
  const bytes = encodeContent({
    type: 1,
    messageId,
    sentAt: 5,
    text: "hi",
    expireAfterSeconds: 0x01020304 % MAX_EXPIRE_SECONDS,
  });
  assert.equal(bytes[1], 1 | CONTENT_EXPIRES_FLAG);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  assert.equal(view.getUint32(26), 0x01020304 % MAX_EXPIRE_SECONDS);
  assert.equal(new TextDecoder().decode(bytes.subarray(30)), "hi");
});

test("the encoder refuses timers the wire cannot carry (a usage error, nothing encoded)", () => {
  for (const expireAfterSeconds of [0, -1, 1.5, MAX_EXPIRE_SECONDS + 1, Number.NaN, 2 ** 32])
    assert.throws(
      () => encodeContent({ type: 1, messageId, sentAt: 5, text: "hi", expireAfterSeconds }),
      RangeError,
    );
  assert.throws(
    () => encodeContent({ type: 3, messageId, sentAt: 5, kind: 1, ids: [messageId], expireAfterSeconds: 60 }),
    RangeError,
  );
});

test("hostile timers are refused, never clamped: every u32 outside 1..365 d", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.constant(0), fc.integer({ min: MAX_EXPIRE_SECONDS + 1, max: 0xffffffff })),
      (seconds) => {
        const bytes = encodeContent({ type: 1, messageId, sentAt: 5, text: "x", expireAfterSeconds: 60 });
        new DataView(bytes.buffer, bytes.byteOffset).setUint32(26, seconds);
        assert.throws(
          () => decodeContentExact(bytes),
          (error: unknown) => NanoError.is(error, "expiry_out_of_range"),
        );
      },
    ),
    { numRuns: 200 },
  );
});

test("every valid timer round-trips on texts and attachments' type bytes", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: MAX_EXPIRE_SECONDS }), fc.string(), (seconds, text) => {
      const content = decodeContentExact(
        encodeContent({ type: 1, messageId, sentAt: 7, text, expireAfterSeconds: seconds }),
      );
      assert.equal(content.expireAfterSeconds, seconds);
      assert.equal(content.type === 1 && content.text, text);
    }),
    { numRuns: 200 },
  );
});
