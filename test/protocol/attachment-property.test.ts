// Property tests for attachments: any size round-trips under any split of the input, and any single
// changed, missing or extra byte fails with the code the format assigns to that position.
import { test } from "node:test";
import fc from "fast-check";
import {
  AttachmentOpener,
  AttachmentSealer,
  decryptAttachment,
  encryptAttachment,
} from "../../src/client/attachments/attachment.ts";
import { nodePrimitives } from "../../src/crypto/node-provider.ts";
import type { ErrorCode } from "../../src/errors/index.ts";
import { assertRejectsCode, assertSameBytes, CHUNK, concat, pattern } from "./_attachment-helpers.ts";

const TYPE = { contentType: "application/octet-stream" };
const LIMIT = { maxBytes: 1 << 30 };
// Sizes cluster around chunk boundaries, where off-by-one bugs live.
const size = fc.oneof(
  fc.integer({ min: 0, max: 3 * CHUNK + 100 }),
  fc.constantFrom(0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK, 2 * CHUNK + 1),
);

/** Cuts `bytes` at sorted random points. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let previous = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(previous, point));
    previous = point;
  }
  return pieces;
}

test("round trip at random sizes under random splits of plaintext and ciphertext", async () => {
  await fc.assert(
    fc.asyncProperty(
      size,
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      async (n, cutsIn, cutsOut) => {
        const plaintext = pattern(n, n & 0xff);
        const sealer = new AttachmentSealer(nodePrimitives, TYPE);
        const pieces: Uint8Array[] = [];
        for (const piece of split(plaintext, cutsIn)) pieces.push(...(await sealer.push(piece)));
        const { ciphertext: tail, reference } = await sealer.finish();
        const ciphertext = concat(...pieces, ...tail);
        const opener = new AttachmentOpener(nodePrimitives, reference, LIMIT);
        const opened: Uint8Array[] = [];
        for (const piece of split(ciphertext, cutsOut)) opened.push(...(await opener.push(piece)));
        opener.finish();
        assertSameBytes(concat(...opened), plaintext);
      },
    ),
    { numRuns: 150 },
  );
});

test("a single changed byte anywhere fails with the code for its position", async () => {
  await fc.assert(
    fc.asyncProperty(size, fc.nat(), fc.integer({ min: 1, max: 255 }), async (n, at, xor) => {
      const { ciphertext, reference } = await encryptAttachment(pattern(n), TYPE);
      const position = at % ciphertext.length;
      const tampered = ciphertext.slice();
      tampered[position]! ^= xor;
      // Magic and version: not an attachment. Nonce: another payload key. Anything later: a chunk.
      const code: ErrorCode = position < 4 ? "attachment_version_unsupported" : "attachment_chunk_invalid";
      await assertRejectsCode(() => decryptAttachment(tampered, reference, LIMIT), code);
    }),
    { numRuns: 400 },
  );
});

test("a shortened or lengthened ciphertext fails as truncated or trailing", async () => {
  await fc.assert(
    fc.asyncProperty(
      size,
      fc.nat(),
      fc.uint8Array({ minLength: 1, maxLength: 40 }),
      async (n, cut, extra) => {
        const { ciphertext, reference } = await encryptAttachment(pattern(n), TYPE);
        const keep = cut % ciphertext.length;
        await assertRejectsCode(
          () => decryptAttachment(ciphertext.subarray(0, keep), reference, LIMIT),
          "attachment_truncated",
        );
        await assertRejectsCode(
          () => decryptAttachment(concat(ciphertext, extra), reference, LIMIT),
          "attachment_trailing_data",
        );
      },
    ),
    { numRuns: 200 },
  );
});
