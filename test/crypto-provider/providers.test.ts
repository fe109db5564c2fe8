// The provider suite (known answers from ../shared/vectors and cross-check properties) in Node, for
// the node:crypto provider and for the browser's provider running on Node 24's own WebCrypto, in both
// of its variants (WebCrypto by detection; @noble only). test/browser/crypto-provider.test.ts runs the
// same checks in Chromium.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import type { CryptoProvider } from "../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../src/crypto/web/index.ts";
import { needVectors, vectorsDir } from "../support/vectors.ts";
import { PROVIDER_CHECKS, type VectorLoader } from "./_all.ts";

const load: VectorLoader = async (path) =>
  JSON.parse(await readFile(join(vectorsDir(), path), "utf8")) as unknown;

const providers: [string, () => Promise<CryptoProvider>][] = [
  ["node:crypto", async () => nodeProvider],
  ["web provider on Node's WebCrypto (detected)", () => createWebProvider()],
  ["web provider, @noble only", () => createWebProvider({ use: "noble" })],
];

for (const [label, make] of providers) {
  describe(label, () => {
    for (const providerCheck of PROVIDER_CHECKS) {
      test(providerCheck.name, async (t) => {
        if (!needVectors(t, "wycheproof", "xwing", "composite-sigs", "blake2", "merkle")) return;
        const tally = await providerCheck.run(await make(), load);
        t.diagnostic(tally.toString());
      });
    }
  });
}

test("the detected web provider on Node 24 uses WebCrypto for every candidate Node offers", async () => {
  const provider = await createWebProvider();
  const { implementations } = provider.primitives;
  for (const name of ["x25519", "ed25519", "ml-kem-768", "ml-dsa-65", "chacha20-poly1305"] as const) {
    if (implementations[name] !== "webcrypto")
      throw new Error(`${name} fell back to ${implementations[name]}`);
  }
});
