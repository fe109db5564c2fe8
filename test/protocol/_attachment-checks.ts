/**
 * The attachment codec's checks over any runtime's primitives, the same code in Node and in Chromium
 * (test/protocol/attachment-providers.test.ts runs them with node:crypto and both variants of the web
 * provider; test/browser/attachments.test.ts runs them in the page): the golden vectors, agreement with
 * an independent implementation of the spec, round trips under uneven splits, and every attack with
 * the code docs/attachments.md assigns to it. No `node:` import and no Buffer.
 */
import {
  AttachmentOpener,
  type AttachmentPrimitives,
  AttachmentSealer,
  attachmentCiphertextLength,
  openAttachment,
  sealAttachment,
} from "../../src/client/attachments/attachment-stream.ts";
import { toHex } from "../../src/crypto/bytes.ts";
import type { ErrorCode } from "../../src/errors/index.ts";
import { check, equalBytes, rejectsWith, Tally } from "../crypto-provider/_check.ts";
import {
  CHUNK,
  concat,
  HEADER,
  nobleHash,
  nobleSeal,
  nobleSealCrafted,
  pattern,
  SEALED,
  splitChunks,
} from "./_attachment-spec.ts";

export const GOLDEN_FILE_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
export const GOLDEN_NONCE = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
/** "hello, nano" as text/plain;charset=utf-8 under the fixed key material: ciphertext and its hash. */
export const GOLDEN_HELLO = Object.freeze({
  plaintext: "hello, nano",
  ciphertext:
    "6e617401a0a1a2a3a4a5a6a7a8a9aaabacadaeaf6749f1c562065028d4219a84fdea95570975b7c8c0ef934a797bc4",
  hash: "c709df98634e65fce0aecc1049bed54ad5edb6b581d7dba620db8196bb4ce567f9c9d7a9438d70bb2685c90b25abb8d21e0f0ba656452c3ca9321e8805a3bc84",
});
/** The empty attachment: one empty final chunk. */
export const GOLDEN_EMPTY = "6e617401a0a1a2a3a4a5a6a7a8a9aaabacadaeaf01132fecda465937632b3c649f961c87";

export interface AttachmentCheck {
  readonly name: string;
  run(primitives: AttachmentPrimitives): Promise<Tally>;
}

const TYPE = { contentType: "application/octet-stream" };
const LIMIT = { maxBytes: 1 << 30 };
const fixed = { fileKey: GOLDEN_FILE_KEY, nonce: GOLDEN_NONCE };

const golden: AttachmentCheck = {
  name: "golden vectors and the @noble implementation of the spec",
  async run(primitives) {
    const tally = new Tally();
    const hello = await sealAttachment(primitives, new TextEncoder().encode(GOLDEN_HELLO.plaintext), {
      contentType: "text/plain;charset=utf-8",
      keyMaterial: fixed,
    });
    check(toHex(hello.ciphertext) === GOLDEN_HELLO.ciphertext, `hello ciphertext ${toHex(hello.ciphertext)}`);
    check(toHex(hello.reference.hash) === GOLDEN_HELLO.hash, `hello hash ${toHex(hello.reference.hash)}`);
    const empty = await sealAttachment(primitives, new Uint8Array(0), { ...TYPE, keyMaterial: fixed });
    check(toHex(empty.ciphertext) === GOLDEN_EMPTY, `empty ciphertext ${toHex(empty.ciphertext)}`);
    tally.count("golden");
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]) {
      const plaintext = pattern(size, 3);
      const ours = await sealAttachment(primitives, plaintext, { ...TYPE, keyMaterial: fixed });
      const theirs = nobleSeal(GOLDEN_FILE_KEY, GOLDEN_NONCE, plaintext);
      equalBytes(ours.ciphertext, theirs, `@noble spec at ${size} bytes`);
      equalBytes(ours.reference.hash, nobleHash(theirs), `@noble hash at ${size} bytes`);
      equalBytes(await openAttachment(primitives, theirs, ours.reference, LIMIT), plaintext, `open ${size}`);
      tally.count("spec");
    }
    return tally.require("golden", "spec");
  },
};

/** Cuts `bytes` into pieces of 1, 2, 3, ... bytes near the edges and `middle` bytes elsewhere. */
function uneven(bytes: Uint8Array, middle: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let position = 0;
  let small = 1;
  while (position < bytes.length) {
    const edge = position < 100 || position > bytes.length - 100;
    const step = edge ? small++ : middle;
    pieces.push(bytes.subarray(position, position + step));
    position += step;
  }
  return pieces;
}

const roundTrips: AttachmentCheck = {
  name: "round trips at the chunk boundaries under uneven splits",
  async run(primitives) {
    const tally = new Tally();
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17]) {
      const plaintext = pattern(size, size & 0xff);
      const sealer = new AttachmentSealer(primitives, TYPE);
      const pieces: Uint8Array[] = [];
      for (const piece of uneven(plaintext, 40_009)) pieces.push(...(await sealer.push(piece)));
      const { ciphertext: tail, reference } = await sealer.finish();
      const ciphertext = concat(...pieces, ...tail);
      check(ciphertext.length === attachmentCiphertextLength(size), `length at ${size}`);
      equalBytes(reference.hash, nobleHash(ciphertext), `hash at ${size}`);
      const opener = new AttachmentOpener(primitives, reference, LIMIT);
      const opened: Uint8Array[] = [];
      for (const piece of uneven(ciphertext, 30_011)) opened.push(...(await opener.push(piece)));
      opener.finish();
      check(opener.done, `done at ${size}`);
      equalBytes(concat(...opened), plaintext, `plaintext at ${size}`);
      tally.count("round trip");
    }
    return tally.require("round trip");
  },
};

const attacks: AttachmentCheck = {
  name: "truncated, extended, reordered, spliced and tampered ciphertexts fail with their codes",
  async run(primitives) {
    const tally = new Tally();
    // Four chunks, the last one short: enough to reorder, swap, splice and drop.
    const size = 3 * CHUNK + 100;
    const { ciphertext, reference } = await sealAttachment(primitives, pattern(size, 1), TYPE);
    const other = await sealAttachment(primitives, pattern(size, 2), TYPE);
    const { header, chunks } = splitChunks(ciphertext, size);
    const [c0, c1, c2, c3] = chunks as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const expect = async (bytes: Uint8Array, code: ErrorCode, what: string) => {
      await rejectsWith(() => openAttachment(primitives, bytes, reference, LIMIT), code, what);
      tally.count(code);
    };
    await expect(concat(header, c0, c1, c2), "attachment_truncated", "final chunk dropped");
    await expect(ciphertext.subarray(0, ciphertext.length - 1), "attachment_truncated", "last byte cut");
    await expect(ciphertext.subarray(0, HEADER + SEALED + 10), "attachment_truncated", "cut in a chunk");
    await expect(ciphertext.subarray(0, 7), "attachment_truncated", "cut in the header");
    await expect(concat(ciphertext, Uint8Array.of(0)), "attachment_trailing_data", "one byte appended");
    await expect(concat(ciphertext, c3), "attachment_trailing_data", "a chunk appended");
    await expect(concat(header, c1, c0, c2, c3), "attachment_chunk_invalid", "chunks 0 and 1 swapped");
    await expect(concat(header, c0, c2, c1, c3), "attachment_chunk_invalid", "chunks 1 and 2 swapped");
    await expect(concat(header, c0, c0, c2, c3), "attachment_chunk_invalid", "chunk 0 duplicated");
    const otherChunks = splitChunks(other.ciphertext, size);
    await expect(concat(header, c0, otherChunks.chunks[1]!, c2, c3), "attachment_chunk_invalid", "spliced");
    await expect(concat(otherChunks.header, c0, c1, c2, c3), "attachment_chunk_invalid", "other header");
    await expect(other.ciphertext, "attachment_chunk_invalid", "whole blob swapped");
    for (let index = 0; index < chunks.length; index++) {
      const tampered = ciphertext.slice();
      tampered[HEADER + index * SEALED + 5]! ^= 0x01;
      await expect(tampered, "attachment_chunk_invalid", `byte changed in chunk ${index}`);
    }
    for (const position of [0, 3]) {
      const tampered = ciphertext.slice();
      tampered[position]! ^= 0x80;
      await expect(tampered, "attachment_version_unsupported", `header byte ${position}`);
    }
    // A key holder's other ciphertext under the same reference: every chunk authenticates.
    const first = await sealAttachment(primitives, pattern(CHUNK + 5, 1), { ...TYPE, keyMaterial: fixed });
    const second = await sealAttachment(primitives, pattern(CHUNK + 5, 2), { ...TYPE, keyMaterial: fixed });
    await rejectsWith(
      () => openAttachment(primitives, second.ciphertext, first.reference, LIMIT),
      "attachment_hash_mismatch",
      "same key, other ciphertext",
    );
    tally.count("attachment_hash_mismatch");
    await rejectsWith(
      () => openAttachment(primitives, ciphertext, reference, { maxBytes: size - 1 }),
      "attachment_too_large",
      "reference above the limit",
    );
    tally.count("attachment_too_large");
    return tally.require(
      "attachment_truncated",
      "attachment_trailing_data",
      "attachment_chunk_invalid",
      "attachment_version_unsupported",
      "attachment_hash_mismatch",
      "attachment_too_large",
    );
  },
};

/**
 * A malicious sender holds the file key and writes the reference, so the hash always matches what it
 * uploads: only the chunk framing (count, lengths, last-chunk flags) against the reference's size can
 * catch a crafted ciphertext. And a network cut at any chunk or header boundary, opened in one piece or
 * streamed in pieces cut at that boundary, never completes or releases the final chunk's plaintext.
 */
const craftedBySender: AttachmentCheck = {
  name: "a key-holding sender's crafted framing and cuts at every boundary fail with their codes",
  async run(primitives) {
    const tally = new Tally();
    const key = GOLDEN_FILE_KEY;
    const nonce = GOLDEN_NONCE;
    const piece = (length: number, seed: number, last: boolean) => ({
      plaintext: pattern(length, seed),
      last,
    });
    const referenceFor = (ciphertext: Uint8Array, size: number) => ({
      key,
      hash: nobleHash(ciphertext),
      size,
      contentType: TYPE.contentType,
    });
    const expect = async (
      chunks: Parameters<typeof nobleSealCrafted>[2],
      size: number,
      code: ErrorCode | null,
      what: string,
    ) => {
      const ciphertext = nobleSealCrafted(key, nonce, chunks);
      const open = () => openAttachment(primitives, ciphertext, referenceFor(ciphertext, size), LIMIT);
      if (code === null) {
        const plaintext = await open();
        check(plaintext.length === size, `${what}: opens to ${size} bytes`);
        tally.count("opens");
        return;
      }
      await rejectsWith(open, code, what);
      tally.count(code);
    };
    // The crafter itself is faithful: correct framing opens (0 bytes, exactly one chunk, three).
    await expect([piece(0, 1, true)], 0, null, "empty file, one empty final chunk");
    await expect([piece(CHUNK, 1, true)], CHUNK, null, "exactly one chunk");
    await expect(
      [piece(CHUNK, 1, false), piece(CHUNK, 2, false), piece(9, 3, true)],
      2 * CHUNK + 9,
      null,
      "3",
    );
    // Last-chunk flags early, missing, everywhere.
    const three = 2 * CHUNK + 100;
    await expect(
      [piece(CHUNK, 1, true), piece(CHUNK, 2, false), piece(100, 3, true)],
      three,
      "attachment_chunk_invalid",
      "final flag on chunk 0",
    );
    await expect(
      [piece(CHUNK, 1, false), piece(CHUNK, 2, true), piece(100, 3, true)],
      three,
      "attachment_chunk_invalid",
      "final flag on chunk 1",
    );
    await expect(
      [piece(CHUNK, 1, false), piece(CHUNK, 2, false), piece(100, 3, false)],
      three,
      "attachment_chunk_invalid",
      "no final flag",
    );
    await expect([piece(0, 1, false)], 0, "attachment_chunk_invalid", "empty file without the flag");
    // An attachment that ends early with a final flag, under a reference that names the whole size.
    await expect(
      [piece(CHUNK, 1, false), piece(CHUNK, 2, true)],
      three,
      "attachment_chunk_invalid",
      "ends at chunk 1 flagged final",
    );
    // A size that lies about the ciphertext, by a byte or by a chunk (a big file announced small).
    await expect(
      [piece(CHUNK, 1, false), piece(100, 2, true)],
      CHUNK + 99,
      "attachment_trailing_data",
      "size one byte short",
    );
    await expect(
      [piece(CHUNK, 1, false), piece(100, 2, true)],
      CHUNK + 101,
      "attachment_truncated",
      "size one byte long",
    );
    await expect(
      [piece(CHUNK, 1, false), piece(CHUNK, 2, true)],
      CHUNK,
      "attachment_trailing_data",
      "two chunks announced as one",
    );
    // Exactly one chunk, then an empty final chunk (age forbids it): longer than the size allows.
    await expect(
      [piece(CHUNK, 1, false), piece(0, 2, true)],
      CHUNK,
      "attachment_trailing_data",
      "empty final chunk after a full one",
    );
    // A short chunk before the last, with the total length right: the framing puts the cut elsewhere.
    await expect(
      [piece(CHUNK - 1, 1, false), piece(101, 2, true)],
      CHUNK + 100,
      "attachment_chunk_invalid",
      "short middle chunk",
    );

    // Cuts at every header and chunk boundary (and one byte either side), whole and streamed.
    const size = 2 * CHUNK + 100;
    const { ciphertext, reference } = await sealAttachment(primitives, pattern(size, 4), TYPE);
    const boundaries = [HEADER, HEADER + SEALED, HEADER + 2 * SEALED, ciphertext.length];
    const cuts = new Set<number>([0, 1]);
    for (const boundary of boundaries) for (const delta of [-1, 0, 1]) cuts.add(boundary + delta);
    for (const cut of [...cuts].filter((c) => c > 0 && c < ciphertext.length)) {
      await rejectsWith(
        () => openAttachment(primitives, ciphertext.subarray(0, cut), reference, LIMIT),
        "attachment_truncated",
        `cut at ${cut}`,
      );
      const opener = new AttachmentOpener(primitives, reference, LIMIT);
      let released = 0;
      for (const part of [ciphertext.subarray(0, Math.min(cut, HEADER)), ciphertext.subarray(HEADER, cut)])
        for (const plaintext of await opener.push(part)) released += plaintext.length;
      check(released <= 2 * CHUNK && !opener.done, `cut at ${cut}: the final chunk's plaintext was released`);
      await rejectsWith(async () => opener.finish(), "attachment_truncated", `streamed, cut at ${cut}`);
      tally.count("cut");
    }
    return tally.require(
      "opens",
      "cut",
      "attachment_chunk_invalid",
      "attachment_truncated",
      "attachment_trailing_data",
    );
  },
};

export const ATTACHMENT_CHECKS: readonly AttachmentCheck[] = Object.freeze([
  golden,
  roundTrips,
  attacks,
  craftedBySender,
]);
