// Attachments (docs/attachments.md): round trips at the chunk boundaries, a known-answer vector,
// agreement with an independent implementation of the spec, and every attack the format must stop.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  AttachmentOpener,
  AttachmentSealer,
  attachmentCiphertextLength,
  decryptAttachment,
  encryptAttachment,
  isAttachmentFailure,
} from "../../src/client/attachments/attachment.ts";
import { fromHex, randomBytes, toHex } from "../../src/crypto/index.ts";
import { nodePrimitives } from "../../src/crypto/node-provider.ts";
import { GOLDEN_EMPTY, GOLDEN_FILE_KEY, GOLDEN_HELLO, GOLDEN_NONCE } from "./_attachment-checks.ts";
import {
  assertCode,
  assertRejectsCode,
  assertSameBytes,
  CHUNK,
  concat,
  HEADER,
  nobleHash,
  nobleSeal,
  pattern,
  SEALED,
  splitChunks,
} from "./_attachment-helpers.ts";

const TYPE = { contentType: "application/octet-stream" };
const LIMIT = { maxBytes: 1 << 30 };
const fileKey = GOLDEN_FILE_KEY;
const nonce = GOLDEN_NONCE;

describe("round trips", () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17, 10 * CHUNK - 5]) {
    test(`${size} bytes`, async () => {
      const plaintext = pattern(size, size);
      const { ciphertext, reference } = await encryptAttachment(plaintext, TYPE);
      assert.equal(ciphertext.length, attachmentCiphertextLength(size));
      assert.equal(reference.size, size);
      assert.deepEqual(reference.hash, nobleHash(ciphertext));
      assertSameBytes(await decryptAttachment(ciphertext, reference, LIMIT), plaintext);
    });
  }

  test("every attachment gets a fresh key and nonce", async () => {
    const one = await encryptAttachment(pattern(10), TYPE);
    const two = await encryptAttachment(pattern(10), TYPE);
    assert.notDeepEqual(one.reference.key, two.reference.key);
    assert.notDeepEqual(one.ciphertext.subarray(4, HEADER), two.ciphertext.subarray(4, HEADER));
  });

  test("the reference keeps content type and filename", async () => {
    const { reference } = await encryptAttachment(pattern(3), {
      contentType: "image/png",
      filename: "cat.png",
    });
    assert.equal(reference.contentType, "image/png");
    assert.equal(reference.filename, "cat.png");
    assert.ok(!("filename" in (await encryptAttachment(pattern(3), TYPE)).reference));
  });
});

describe("known answers and an independent implementation", () => {
  test("golden vector: 'hello, nano' under fixed key material", async () => {
    const { ciphertext, reference } = await encryptAttachment(
      new TextEncoder().encode(GOLDEN_HELLO.plaintext),
      {
        contentType: "text/plain;charset=utf-8",
        keyMaterial: { fileKey, nonce },
      },
    );
    assert.equal(toHex(ciphertext), GOLDEN_HELLO.ciphertext);
    assert.equal(toHex(reference.hash), GOLDEN_HELLO.hash);
  });

  test("golden vector: the empty attachment is one empty final chunk", async () => {
    const { ciphertext } = await encryptAttachment(new Uint8Array(0), {
      ...TYPE,
      keyMaterial: { fileKey, nonce },
    });
    assert.deepEqual(ciphertext, fromHex(GOLDEN_EMPTY));
  });

  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]) {
    test(`@noble implementation of the spec produces the same bytes at ${size} bytes`, async () => {
      const plaintext = pattern(size, 3);
      const ours = await encryptAttachment(plaintext, { ...TYPE, keyMaterial: { fileKey, nonce } });
      const theirs = nobleSeal(fileKey, nonce, plaintext);
      assertSameBytes(ours.ciphertext, theirs);
      assert.deepEqual(ours.reference.hash, nobleHash(theirs));
    });
  }
});

describe("attacks fail with their code", async () => {
  // Four chunks, the last one short: enough to reorder, swap, splice and drop.
  const size = 3 * CHUNK + 100;
  const plaintext = pattern(size, 1);
  const { ciphertext, reference } = await encryptAttachment(plaintext, TYPE);
  const { header, chunks } = splitChunks(ciphertext, size);
  const open = (bytes: Uint8Array) => () => decryptAttachment(bytes, reference, LIMIT);
  const other = await encryptAttachment(pattern(size, 2), TYPE);
  const otherParts = splitChunks(other.ciphertext, size);

  test("the pieces are what the test thinks they are", async () => {
    assert.equal(chunks.length, 4);
    assertSameBytes(concat(header, ...chunks), ciphertext);
  });

  test("truncation at a chunk boundary (final chunk dropped)", async () => {
    await assertRejectsCode(open(concat(header, chunks[0]!, chunks[1]!, chunks[2]!)), "attachment_truncated");
  });

  test("truncation inside a chunk, inside the header, and to nothing", async () => {
    await assertRejectsCode(open(ciphertext.subarray(0, ciphertext.length - 1)), "attachment_truncated");
    await assertRejectsCode(open(ciphertext.subarray(0, HEADER + SEALED + 10)), "attachment_truncated");
    await assertRejectsCode(open(ciphertext.subarray(0, 7)), "attachment_truncated");
    await assertRejectsCode(open(new Uint8Array(0)), "attachment_truncated");
  });

  test("trailing data after the final chunk", async () => {
    await assertRejectsCode(open(concat(ciphertext, Uint8Array.of(0))), "attachment_trailing_data");
    await assertRejectsCode(open(concat(ciphertext, chunks[3]!)), "attachment_trailing_data");
  });

  test("reordered, swapped and duplicated chunks", async () => {
    await assertRejectsCode(
      open(concat(header, chunks[1]!, chunks[0]!, chunks[2]!, chunks[3]!)),
      "attachment_chunk_invalid",
    );
    await assertRejectsCode(
      open(concat(header, chunks[0]!, chunks[2]!, chunks[1]!, chunks[3]!)),
      "attachment_chunk_invalid",
    );
    await assertRejectsCode(
      open(concat(header, chunks[0]!, chunks[0]!, chunks[2]!, chunks[3]!)),
      "attachment_chunk_invalid",
    );
  });

  test("a chunk spliced in from another attachment (another key)", async () => {
    const spliced = concat(header, chunks[0]!, otherParts.chunks[1]!, chunks[2]!, chunks[3]!);
    await assertRejectsCode(open(spliced), "attachment_chunk_invalid");
    // The other attachment's header with our chunks: another nonce derives another payload key.
    await assertRejectsCode(open(concat(otherParts.header, ...chunks)), "attachment_chunk_invalid");
  });

  test("a whole blob swapped for another attachment of the same size", async () => {
    await assertRejectsCode(open(other.ciphertext), "attachment_chunk_invalid");
  });

  test("a reference with the wrong key", async () => {
    await assertRejectsCode(
      () => decryptAttachment(ciphertext, { ...reference, key: randomBytes(32) }, LIMIT),
      "attachment_chunk_invalid",
    );
  });

  test("a changed byte in each chunk's body and tag", async () => {
    for (let index = 0; index < chunks.length; index++) {
      for (const offset of [0, chunks[index]!.length - 1]) {
        const tampered = ciphertext.slice();
        tampered[HEADER + index * SEALED + offset]! ^= 0x01;
        await assertRejectsCode(open(tampered), "attachment_chunk_invalid");
      }
    }
  });

  test("unknown magic or version", async () => {
    for (const position of [0, 1, 2, 3]) {
      const tampered = ciphertext.slice();
      tampered[position]! ^= 0x80;
      await assertRejectsCode(open(tampered), "attachment_version_unsupported");
    }
  });

  test("a non-final chunk presented as the last one (the last-chunk flag)", async () => {
    // Only the key holder can build this: keep the first chunk of a two-chunk attachment and name it
    // with a matching hash and a size that makes it final. The flag in its nonce still says "not last".
    const two = await encryptAttachment(pattern(CHUNK + 1), TYPE);
    const cut = two.ciphertext.subarray(0, HEADER + SEALED);
    const forged = { ...two.reference, size: CHUNK, hash: nobleHash(cut) };
    await assertRejectsCode(() => decryptAttachment(cut, forged, LIMIT), "attachment_chunk_invalid");
  });

  test("the final chunk sealed as last but followed by a chunk (the flag, the other way)", async () => {
    const one = await encryptAttachment(pattern(CHUNK), TYPE);
    const two = await encryptAttachment(pattern(CHUNK + 1), { ...TYPE, keyMaterial: { fileKey, nonce } });
    const sameKey = await encryptAttachment(pattern(CHUNK), { ...TYPE, keyMaterial: { fileKey, nonce } });
    // sameKey's only chunk is sealed final; put it where two's non-final chunk 0 belongs.
    const forgedBytes = concat(sameKey.ciphertext, splitChunks(two.ciphertext, CHUNK + 1).chunks[1]!);
    const forged = { ...two.reference, hash: nobleHash(forgedBytes) };
    await assertRejectsCode(() => decryptAttachment(forgedBytes, forged, LIMIT), "attachment_chunk_invalid");
    assert.equal(one.ciphertext.length, HEADER + SEALED);
  });

  test("a key holder's different ciphertext under the same reference: hash mismatch", async () => {
    const first = await encryptAttachment(pattern(CHUNK + 5, 1), {
      ...TYPE,
      keyMaterial: { fileKey, nonce },
    });
    const second = await encryptAttachment(pattern(CHUNK + 5, 2), {
      ...TYPE,
      keyMaterial: { fileKey, nonce },
    });
    await assertRejectsCode(
      () => decryptAttachment(second.ciphertext, first.reference, LIMIT),
      "attachment_hash_mismatch",
    );
  });

  test("the final chunk's plaintext is withheld when the hash does not match", async () => {
    const first = await encryptAttachment(pattern(CHUNK + 5, 1), {
      ...TYPE,
      keyMaterial: { fileKey, nonce },
    });
    const second = await encryptAttachment(pattern(CHUNK + 5, 2), {
      ...TYPE,
      keyMaterial: { fileKey, nonce },
    });
    const opener = new AttachmentOpener(nodePrimitives, first.reference, LIMIT);
    const released = await opener.push(second.ciphertext.subarray(0, HEADER + SEALED));
    assert.equal(released.length, 1);
    await assertRejectsCode(
      () => opener.push(second.ciphertext.subarray(HEADER + SEALED)),
      "attachment_hash_mismatch",
    );
    assert.equal(opener.done, false);
  });

  test("isAttachmentFailure recognises the discard-everything codes", async () => {
    try {
      await decryptAttachment(other.ciphertext, reference, LIMIT);
      assert.fail("expected failure");
    } catch (error) {
      assert.ok(isAttachmentFailure(error));
    }
    assert.ok(!isAttachmentFailure(new Error("x")));
  });
});

describe("size limits", () => {
  test("the decryptor refuses a reference above the caller's limit before reading anything", async () => {
    const { reference } = await encryptAttachment(pattern(100), TYPE);
    assertCode(
      () => new AttachmentOpener(nodePrimitives, reference, { maxBytes: 99 }),
      "attachment_too_large",
    );
    // A reference claiming 2^53-1 bytes is refused without allocating.
    await assertRejectsCode(
      () => decryptAttachment(new Uint8Array(0), { ...reference, size: Number.MAX_SAFE_INTEGER }, LIMIT),
      "attachment_too_large",
    );
    assert.doesNotThrow(() => new AttachmentOpener(nodePrimitives, reference, { maxBytes: 100 }));
  });

  test("the encryptor stops once the plaintext passes its limit", async () => {
    const sealer = new AttachmentSealer(nodePrimitives, { ...TYPE, maxBytes: CHUNK });
    await sealer.push(pattern(CHUNK));
    await assertRejectsCode(() => sealer.push(pattern(1)), "attachment_too_large");
    // Dead afterwards: the part below the limit cannot be finished and sent as if it were whole.
    await assertRejectsCode(() => sealer.push(new Uint8Array(0)), "attachment_too_large");
    await assertRejectsCode(() => sealer.finish(), "attachment_too_large");
    await assertRejectsCode(
      () => encryptAttachment(pattern(11), { ...TYPE, maxBytes: 10 }),
      "attachment_too_large",
    );
  });

  test("a bad limit is a usage error", async () => {
    const { reference } = await encryptAttachment(pattern(1), TYPE);
    assert.throws(() => new AttachmentOpener(nodePrimitives, reference, { maxBytes: -1 }), RangeError);
    assert.throws(() => new AttachmentOpener(nodePrimitives, reference, { maxBytes: 1.5 }), RangeError);
  });
});

describe("incremental use", () => {
  test("byte-at-a-time feeding gives the same ciphertext and plaintext", async () => {
    const size = 2 * CHUNK + 3;
    const plaintext = pattern(size, 9);
    const sealer = new AttachmentSealer(nodePrimitives, { ...TYPE, keyMaterial: { fileKey, nonce } });
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < size; i += 4099) pieces.push(...(await sealer.push(plaintext.subarray(i, i + 4099))));
    const { ciphertext: tail, reference } = await sealer.finish();
    const ciphertext = concat(...pieces, ...tail);
    assertSameBytes(ciphertext, nobleSeal(fileKey, nonce, plaintext));

    const opener = new AttachmentOpener(nodePrimitives, reference, LIMIT);
    const out: Uint8Array[] = [];
    // One byte at a time across the header and the last chunk boundary, odd-sized pieces elsewhere.
    let position = 0;
    while (position < ciphertext.length) {
      const edge = position < 200 || position > ciphertext.length - 200;
      const step = edge ? 1 : 997;
      out.push(...(await opener.push(ciphertext.subarray(position, position + step))));
      position += step;
    }
    opener.finish();
    assertSameBytes(concat(...out), plaintext);
    assert.ok(out.every((piece) => piece.length <= CHUNK));
  });

  test("a full chunk is held back until it is known whether it is the last", async () => {
    const sealer = new AttachmentSealer(nodePrimitives, TYPE);
    const first = await sealer.push(pattern(CHUNK));
    assert.equal(concat(...first).length, HEADER, "only the header can be emitted");
    const second = await sealer.push(pattern(1));
    assert.equal(concat(...second).length, SEALED);
    assert.equal(sealer.size, CHUNK + 1);
  });

  test("a finished sealer and a failed opener refuse further use", async () => {
    const sealer = new AttachmentSealer(nodePrimitives, TYPE);
    const { reference } = await sealer.finish();
    await assert.rejects(() => sealer.push(pattern(1)), TypeError);
    await assert.rejects(() => sealer.finish(), TypeError);
    const opener = new AttachmentOpener(nodePrimitives, reference, LIMIT);
    await assertRejectsCode(() => opener.push(new Uint8Array(HEADER)), "attachment_version_unsupported");
    await assertRejectsCode(() => opener.push(new Uint8Array(1)), "attachment_version_unsupported");
    assertCode(() => opener.finish(), "attachment_version_unsupported");
  });

  test("regression: an empty push after the final chunk does not touch the finished hash", async () => {
    const { ciphertext, reference } = await encryptAttachment(pattern(3), TYPE);
    const opener = new AttachmentOpener(nodePrimitives, reference, LIMIT);
    assert.equal(concat(...(await opener.push(ciphertext))).length, 3);
    assert.deepEqual(await opener.push(new Uint8Array(0)), []);
    opener.finish();
    await assertRejectsCode(() => opener.push(Uint8Array.of(0)), "attachment_trailing_data");
  });

  test("finish before the final chunk is truncation, and stays failed", async () => {
    const { ciphertext, reference } = await encryptAttachment(pattern(CHUNK + 1), TYPE);
    const opener = new AttachmentOpener(nodePrimitives, reference, LIMIT);
    await opener.push(ciphertext.subarray(0, HEADER + SEALED));
    assertCode(() => opener.finish(), "attachment_truncated");
    await assertRejectsCode(() => opener.push(ciphertext.subarray(HEADER + SEALED)), "attachment_truncated");
  });

  test("a second call before the first settled is refused, so chunks cannot interleave", async () => {
    const sealer = new AttachmentSealer(nodePrimitives, TYPE);
    const first = sealer.push(pattern(3 * CHUNK));
    // Both made before anything is awaited: the first push is still sealing.
    const [secondPush, earlyFinish] = [sealer.push(pattern(1)), sealer.finish()];
    await assert.rejects(secondPush, /still working/);
    await assert.rejects(earlyFinish, /still working/);
    assert.equal(concat(...(await first)).length, HEADER + 2 * SEALED);
    const { ciphertext, reference } = await encryptAttachment(pattern(3 * CHUNK), TYPE);
    const opener = new AttachmentOpener(nodePrimitives, reference, LIMIT);
    const opening = opener.push(ciphertext.subarray(0, HEADER + SEALED));
    assert.throws(() => opener.finish(), /still working/);
    await assert.rejects(opener.push(ciphertext.subarray(HEADER + SEALED)), /still working/);
    assert.equal((await opening).length, 1);
  });

  test("bad arguments are usage errors", async () => {
    await assert.rejects(
      () => new AttachmentSealer(nodePrimitives, TYPE).push("text" as unknown as Uint8Array),
      TypeError,
    );
    assert.throws(
      () =>
        new AttachmentSealer(nodePrimitives, {
          ...TYPE,
          keyMaterial: { fileKey: new Uint8Array(31), nonce },
        }),
      RangeError,
    );
    assert.throws(
      () =>
        new AttachmentSealer(nodePrimitives, {
          ...TYPE,
          keyMaterial: { fileKey, nonce: new Uint8Array(12) },
        }),
      RangeError,
    );
    assertCode(
      () => new AttachmentSealer(nodePrimitives, { contentType: "Text/Plain" }),
      "attachment_reference_invalid",
    );
    assertCode(
      () => new AttachmentSealer(nodePrimitives, { ...TYPE, filename: "../x" }),
      "attachment_reference_invalid",
    );
  });
});
