// The attachment reference codec (docs/attachments.md, "Reference encoding"): exact bytes, every rule,
// and fuzzing that only ever produces typed errors.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  ATTACHMENT_REFERENCE,
  ATTACHMENT_REFERENCE_MAX_LENGTH,
  type AttachmentReference,
  decodeAttachmentReference,
  decodeAttachmentReferenceExact,
  encodeAttachmentReference,
} from "../../src/client/attachments/attachment.ts";
import { fromHex, toHex } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { assertCode } from "./_attachment-helpers.ts";

const key = Uint8Array.from({ length: 32 }, (_, i) => i);
const hash = fromHex(
  "c709df98634e65fce0aecc1049bed54ad5edb6b581d7dba620db8196bb4ce567f9c9d7a9438d70bb2685c90b25abb8d21e0f0ba656452c3ca9321e8805a3bc84",
);
const base: AttachmentReference = {
  key,
  hash,
  size: 11,
  contentType: "text/plain;charset=utf-8",
  filename: "hello.txt",
};
const GOLDEN =
  "01000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" +
  "c709df98634e65fce0aecc1049bed54ad5edb6b581d7dba620db8196bb4ce567f9c9d7a9438d70bb2685c90b25abb8d21e0f0ba656452c3ca9321e8805a3bc84" +
  "000000000000000b" +
  "18746578742f706c61696e3b636861727365743d7574662d38" +
  "0968656c6c6f2e747874";

describe("encoding", () => {
  test("golden bytes", () => {
    assert.equal(toHex(encodeAttachmentReference(base)), GOLDEN);
    assert.deepEqual(decodeAttachmentReferenceExact(fromHex(GOLDEN)), base);
  });

  test("no filename is a zero length byte and decodes without the property", () => {
    const { filename: _unused, ...noName } = base;
    const bytes = encodeAttachmentReference(noName);
    assert.equal(bytes.at(-1), 0);
    const decoded = decodeAttachmentReferenceExact(bytes);
    assert.ok(!("filename" in decoded));
    assert.deepEqual(decoded, noName);
  });

  test("limits: the longest content type and filename fit the stated maximum", () => {
    const longest: AttachmentReference = {
      ...base,
      size: Number.MAX_SAFE_INTEGER,
      contentType: `a/${"b".repeat(125)}`,
      filename: `${"é".repeat(127)}x`,
    };
    const bytes = encodeAttachmentReference(longest);
    assert.equal(bytes.length, ATTACHMENT_REFERENCE_MAX_LENGTH);
    assert.deepEqual(decodeAttachmentReferenceExact(bytes), longest);
  });

  test("decoding at an offset reports the bytes read and copies the key", () => {
    const bytes = new Uint8Array([9, 9, ...encodeAttachmentReference(base), 7]);
    const [decoded, read] = decodeAttachmentReference(bytes, 2);
    assert.equal(read, bytes.length - 3);
    bytes[3] = 0xff;
    assert.equal(decoded.key[0], 0);
    assert.throws(() => decodeAttachmentReference(bytes, -1), RangeError);
    assert.throws(() => decodeAttachmentReference(bytes, bytes.length + 1), RangeError);
  });
});

describe("encoding rules", () => {
  const rejects = (reference: AttachmentReference) =>
    assertCode(() => encodeAttachmentReference(reference), "attachment_reference_invalid");

  test("key, hash and size", () => {
    rejects({ ...base, key: new Uint8Array(31) });
    rejects({ ...base, hash: new Uint8Array(32) });
    rejects({ ...base, size: -1 });
    rejects({ ...base, size: 1.5 });
    rejects({ ...base, size: 2 ** 53 });
  });

  test("content types outside the grammar", () => {
    for (const contentType of [
      "",
      "text",
      "Text/plain",
      "text/plain; charset=utf-8",
      "text/plain;charset",
      "text/",
      "/plain",
      "text/plain/extra",
      "tëxt/plain",
      `a/${"b".repeat(126)}`,
      "text/plain\n",
    ]) {
      rejects({ ...base, contentType });
    }
    for (const contentType of ["application/vnd.oasis.opendocument.text", "image/svg+xml", "a/b;x=Y-1"]) {
      assert.doesNotThrow(() => encodeAttachmentReference({ ...base, contentType }), contentType);
    }
  });

  test("filenames that could act as paths or hide their extension", () => {
    for (const filename of [
      "",
      ".",
      "..",
      "a/b",
      "a\\b",
      "nul\u0000",
      "tab\t",
      "del\u007f",
      "c1\u0085",
      "invoice\u202efdp.exe",
      "iso\u2066x",
      "x".repeat(256),
      "lone\ud800",
    ]) {
      rejects({ ...base, filename });
    }
    for (const filename of ["résumé.pdf", "..hidden", "a b.txt", "\ufeffbom.txt", "😀.png"]) {
      assert.deepEqual(
        decodeAttachmentReferenceExact(encodeAttachmentReference({ ...base, filename })).filename,
        filename,
      );
    }
  });
});

describe("decoding hostile input", () => {
  const golden = fromHex(GOLDEN);

  test("empty, unknown versions, every truncation, trailing bytes", () => {
    assertCode(() => decodeAttachmentReferenceExact(new Uint8Array(0)), "truncated");
    for (const version of [0, 2, 0xff]) {
      const bytes = golden.slice();
      bytes[0] = version;
      assertCode(() => decodeAttachmentReferenceExact(bytes), "attachment_version_unsupported");
    }
    for (let length = 1; length < golden.length; length++) {
      assertCode(() => decodeAttachmentReferenceExact(golden.subarray(0, length)), "truncated");
    }
    assertCode(() => decodeAttachmentReferenceExact(new Uint8Array([...golden, 0])), "trailing_bytes");
  });

  test("field rules are enforced on decode too", () => {
    const sizeOffset = 1 + 32 + 64;
    const huge = golden.slice();
    huge.set([0x00, 0x20, 0, 0, 0, 0, 0, 0], sizeOffset); // 2^53
    assertCode(() => decodeAttachmentReferenceExact(huge), "attachment_reference_invalid");
    const noType = golden.slice();
    noType[sizeOffset + 8] = 0;
    assertCode(() => decodeAttachmentReferenceExact(noType), "attachment_reference_invalid");
    const longType = golden.slice();
    longType[sizeOffset + 8] = 128;
    assertCode(() => decodeAttachmentReferenceExact(longType), "attachment_reference_invalid");
    const upper = golden.slice();
    upper[sizeOffset + 9] = 0x54; // "Text/..."
    assertCode(() => decodeAttachmentReferenceExact(upper), "attachment_reference_invalid");
    const badUtf8 = golden.slice();
    badUtf8[badUtf8.length - 1] = 0xff;
    assertCode(() => decodeAttachmentReferenceExact(badUtf8), "attachment_reference_invalid");
    const slash = golden.slice();
    slash[slash.length - 1] = 0x2f;
    assertCode(() => decodeAttachmentReferenceExact(slash), "attachment_reference_invalid");
  });

  const typedOnly = (bytes: Uint8Array) => {
    try {
      const reference = decodeAttachmentReferenceExact(bytes);
      // Whatever decodes re-encodes to exactly the same bytes: one encoding per reference.
      assert.deepEqual(encodeAttachmentReference(reference), bytes);
    } catch (error) {
      if (!NanoError.is(error)) throw error;
    }
  };

  test("random bytes: typed errors only", () => {
    const random = fc.uint8Array({ maxLength: ATTACHMENT_REFERENCE_MAX_LENGTH + 8 });
    // Half start with the right version so the fuzzing reaches the field parsers.
    const versioned = random.map((bytes) => new Uint8Array([ATTACHMENT_REFERENCE.version, ...bytes]));
    fc.assert(fc.property(fc.oneof(random, versioned), typedOnly), { numRuns: 4000 });
  });

  test("mutated valid encodings: typed errors or an exact round trip", () => {
    const arbitrary = fc.record({
      index: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
      cut: fc.nat({ max: 3 }),
      extra: fc.uint8Array({ maxLength: 3 }),
    });
    fc.assert(
      fc.property(arbitrary, ({ index, value, cut, extra }) => {
        const bytes = golden.slice();
        bytes[index % bytes.length] = value;
        typedOnly(new Uint8Array([...bytes.subarray(0, bytes.length - cut), ...extra]));
      }),
      { numRuns: 3000 },
    );
  });

  test("the fixed part is the documented length", () => {
    assert.equal(ATTACHMENT_REFERENCE.fixedLength, 107);
    assert.equal(ATTACHMENT_REFERENCE_MAX_LENGTH, 489);
  });
});
