// Attachments over Node streams, async iterables and files: constant memory per chunk, errors carried
// through pipelines, a 64 MiB round trip, and files that appear only when the attachment verified.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, describe, test } from "node:test";
import {
  AttachmentDecryptStream,
  AttachmentEncryptStream,
  type AttachmentReference,
  attachmentCiphertextLength,
  decryptAttachmentToFile,
  encryptAttachment,
  openAttachmentChunks,
  sealAttachmentChunks,
} from "../../src/client/attachments/attachment.ts";
import { nodePrimitives } from "../../src/crypto/node-provider.ts";
import {
  assertRejectsCode,
  assertSameBytes,
  CHUNK,
  concat,
  HEADER,
  pattern,
  SEALED,
} from "./_attachment-helpers.ts";

const TYPE = { contentType: "application/octet-stream" };
const LIMIT = { maxBytes: 1 << 30 };
const directory = mkdtempSync(join(tmpdir(), "nano-attachment-"));
after(() => rmSync(directory, { recursive: true, force: true }));

/** Splits bytes into pieces of irregular sizes, as sockets and files deliver them. */
function* irregular(bytes: Uint8Array): Generator<Uint8Array> {
  const sizes = [1, 7, 4096, 65535, 3, 65537, 100000];
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of source) pieces.push(piece);
  return concat(...pieces);
}

class Collector extends Writable {
  readonly pieces: Uint8Array[] = [];
  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: () => void): void {
    this.pieces.push(chunk);
    callback();
  }
}

describe("async iterables", () => {
  test("seal and open through generators", async () => {
    const plaintext = pattern(5 * CHUNK + 123, 4);
    let reference: AttachmentReference | undefined;
    const ciphertext = await collect(
      sealAttachmentChunks(nodePrimitives, irregular(plaintext), TYPE, (r) => (reference = r)),
    );
    assert.ok(reference);
    const opened = await collect(
      openAttachmentChunks(nodePrimitives, irregular(ciphertext), reference, LIMIT),
    );
    assertSameBytes(opened, plaintext);
  });

  test("an opening generator fails with the attachment code and yields nothing after", async () => {
    const { ciphertext, reference } = await encryptAttachment(pattern(3 * CHUNK), TYPE);
    const released: Uint8Array[] = [];
    await assertRejectsCode(async () => {
      for await (const piece of openAttachmentChunks(
        nodePrimitives,
        [ciphertext.subarray(0, HEADER + 2 * SEALED)],
        reference,
        LIMIT,
      ))
        released.push(piece);
    }, "attachment_truncated");
    assert.equal(
      concat(...released).length,
      2 * CHUNK,
      "an unverified prefix was streamed; completion never came",
    );
  });
});

describe("Node Transform streams", () => {
  test("pipeline round trip, reference available after the end", async () => {
    const plaintext = pattern(3 * CHUNK + 1, 5);
    const encryptor = new AttachmentEncryptStream({ contentType: "image/jpeg", filename: "photo.jpg" });
    assert.throws(() => encryptor.reference, TypeError);
    const ciphertextSink = new Collector();
    await pipeline(Readable.from(irregular(plaintext)), encryptor, ciphertextSink);
    const reference = encryptor.reference;
    assert.equal(reference.size, plaintext.length);
    assert.equal(reference.filename, "photo.jpg");

    const plaintextSink = new Collector();
    await pipeline(
      Readable.from(irregular(concat(...ciphertextSink.pieces))),
      new AttachmentDecryptStream(reference, LIMIT),
      plaintextSink,
    );
    assertSameBytes(concat(...plaintextSink.pieces), plaintext);
  });

  test("tampering rejects the pipeline with the attachment code", async () => {
    const { ciphertext, reference } = await encryptAttachment(pattern(2 * CHUNK + 9), TYPE);
    const tampered = ciphertext.slice();
    tampered[HEADER + SEALED + 5]! ^= 1;
    await assertRejectsCode(
      () =>
        pipeline(Readable.from([tampered]), new AttachmentDecryptStream(reference, LIMIT), new Collector()),
      "attachment_chunk_invalid",
    );
    await assertRejectsCode(
      () =>
        pipeline(
          Readable.from([ciphertext.subarray(0, ciphertext.length - 3)]),
          new AttachmentDecryptStream(reference, LIMIT),
          new Collector(),
        ),
      "attachment_truncated",
    );
  });

  test("an encrypting stream over its limit fails", async () => {
    await assertRejectsCode(
      () =>
        pipeline(
          Readable.from([pattern(100)]),
          new AttachmentEncryptStream({ ...TYPE, maxBytes: 99 }),
          new Collector(),
        ),
      "attachment_too_large",
    );
  });

  test("non-byte chunks are refused", async () => {
    await assert.rejects(
      () => pipeline(Readable.from([{ not: "bytes" }]), new AttachmentEncryptStream(TYPE), new Collector()),
      TypeError,
    );
  });
});

describe("64 MiB streamed", () => {
  test("file to file in 1 MiB reads, neither side held in memory", async () => {
    const total = 64 * 1024 * 1024;
    const block = pattern(1024 * 1024, 6);
    const plainHash = createHash("sha256");
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < total / block.length; i++) {
        // Every block differs, so a reordered chunk would change the output; a fresh copy each time
        // because streams may still hold the previous one in their buffers.
        const next = block.slice();
        next[0] = i;
        plainHash.update(next);
        yield next;
      }
    }
    const encrypted = join(directory, "large.nat");
    const encryptor = new AttachmentEncryptStream(TYPE);
    await pipeline(Readable.from(source()), encryptor, createWriteStream(encrypted));
    const reference = encryptor.reference;
    assert.equal(reference.size, total);
    assert.equal(statSync(encrypted).size, attachmentCiphertextLength(total));

    const decrypted = join(directory, "large.bin");
    await decryptAttachmentToFile(createReadStream(encrypted), reference, decrypted, { maxBytes: total });
    const openedHash = createHash("sha256");
    await pipeline(createReadStream(decrypted), openedHash);
    assert.equal(openedHash.digest("hex"), plainHash.digest("hex"));
    rmSync(encrypted);
    rmSync(decrypted);
  });
});

describe("decryptAttachmentToFile", () => {
  const leftovers = () => readdirSync(directory).filter((name) => name.endsWith(".partial"));

  test("writes the plaintext with mode 0600 once verified", async () => {
    const plaintext = pattern(2 * CHUNK + 77, 7);
    const { ciphertext, reference } = await encryptAttachment(plaintext, TYPE);
    const path = join(directory, "ok.bin");
    await decryptAttachmentToFile(Readable.from(irregular(ciphertext)), reference, path, LIMIT);
    assertSameBytes(new Uint8Array(readFileSync(path)), plaintext);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(leftovers(), []);
  });

  test("a failed attachment leaves no file and keeps the old one", async () => {
    const { ciphertext, reference } = await encryptAttachment(pattern(2 * CHUNK + 77), TYPE);
    const path = join(directory, "existing.bin");
    writeFileSync(path, "previous content");
    const tampered = ciphertext.slice();
    tampered[tampered.length - 1]! ^= 1;
    await assertRejectsCode(
      () => decryptAttachmentToFile([tampered], reference, path, LIMIT),
      "attachment_chunk_invalid",
    );
    assert.equal(readFileSync(path, "utf8"), "previous content");
    const fresh = join(directory, "never.bin");
    await assertRejectsCode(
      () => decryptAttachmentToFile([ciphertext.subarray(0, HEADER + SEALED)], reference, fresh, LIMIT),
      "attachment_truncated",
    );
    assert.throws(() => statSync(fresh), { code: "ENOENT" });
    assert.deepEqual(leftovers(), []);
  });

  test("the size limit is checked before any file is created", async () => {
    const { ciphertext, reference } = await encryptAttachment(pattern(1000), TYPE);
    const before = readdirSync(directory).length;
    await assertRejectsCode(
      () => decryptAttachmentToFile([ciphertext], reference, join(directory, "big.bin"), { maxBytes: 999 }),
      "attachment_too_large",
    );
    assert.equal(readdirSync(directory).length, before);
  });

  test("a source yielding non-bytes is refused and cleaned up", async () => {
    const { reference } = await encryptAttachment(pattern(10), TYPE);
    await assert.rejects(
      () =>
        decryptAttachmentToFile(
          ["text"] as unknown as Uint8Array[],
          reference,
          join(directory, "t.bin"),
          LIMIT,
        ),
      TypeError,
    );
    assert.deepEqual(leftovers(), []);
  });
});
