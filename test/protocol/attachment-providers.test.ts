// The attachment codec over every provider Node can run: node:crypto, and the browser's provider on
// Node 24's WebCrypto in both variants (WebCrypto by detection; @noble only). The same checks run in
// Chromium (test/browser/attachments.test.ts), so both runtimes write the golden bytes and refuse
// every attack with the same code; and a ciphertext sealed by one provider opens with every other.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openAttachment, sealAttachment } from "../../src/client/attachments/attachment-stream.ts";
import { nodePrimitives } from "../../src/crypto/node-provider.ts";
import type { CryptoPrimitives } from "../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../src/crypto/web/index.ts";
import { ATTACHMENT_CHECKS } from "./_attachment-checks.ts";
import { assertSameBytes, CHUNK, pattern } from "./_attachment-helpers.ts";

const providers: [string, () => Promise<CryptoPrimitives>][] = [
  ["node:crypto", async () => nodePrimitives],
  ["web provider on Node's WebCrypto (detected)", async () => (await createWebProvider()).primitives],
  ["web provider, @noble only", async () => (await createWebProvider({ use: "noble" })).primitives],
];

for (const [label, make] of providers) {
  describe(label, () => {
    for (const attachmentCheck of ATTACHMENT_CHECKS) {
      test(attachmentCheck.name, async (t) => {
        t.diagnostic((await attachmentCheck.run(await make())).toString());
      });
    }
  });
}

test("an attachment sealed by any provider opens with every other", async () => {
  const made = await Promise.all(providers.map(async ([label, make]) => [label, await make()] as const));
  const plaintext = pattern(2 * CHUNK + 321, 5);
  for (const [sealedBy, sealer] of made) {
    const { ciphertext, reference } = await sealAttachment(sealer, plaintext, { contentType: "image/png" });
    for (const [openedBy, opener] of made) {
      const opened = await openAttachment(opener, ciphertext, reference, { maxBytes: plaintext.length });
      assertSameBytes(opened, plaintext, `sealed by ${sealedBy}, opened by ${openedBy}`);
    }
  }
  assert.equal(made.length, 3);
});
