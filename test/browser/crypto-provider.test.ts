// The provider suite (test/crypto-provider: known answers from ../shared/vectors, cross-check
// properties, typed errors) in Chromium, for both variants of the browser provider: WebCrypto by
// feature detection, and @noble only. The vectors are served to the page from loopback.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { PROVIDER_CHECKS } from "../crypto-provider/_all.ts";
import { checkInteropSet, type InteropSet, makeInteropSet } from "../crypto-provider/_interop.ts";
import { needVectors } from "../support/vectors.ts";
import { useBundledPage } from "./_bundled-page.ts";
import type { CheckOutcome } from "./pages/provider-suite/main.ts";

const PAGE = new URL("./pages/provider-suite/", import.meta.url).pathname;

describe("the browser crypto provider in Chromium", () => {
  const bundled = useBundledPage(PAGE, (t) =>
    needVectors(t, "wycheproof", "xwing", "composite-sigs", "blake2", "merkle"),
  );

  const runInPage = (variant: "detect" | "noble", index: number): Promise<CheckOutcome> =>
    bundled.page.evaluate(
      ([v, i]) =>
        (
          globalThis as unknown as {
            nanoProviderSuite: { run(variant: string, index: number): Promise<CheckOutcome> };
          }
        ).nanoProviderSuite.run(v, i),
      [variant, index] as const,
    );

  test("feature detection finds Chromium's WebCrypto ML-KEM-768, ML-DSA-65, X25519, Ed25519, ChaCha20-Poly1305", async (t) => {
    if (!bundled.available) return t.skip("Chromium or the vectors are missing");
    const { implementations } = await runInPage("detect", 0);
    t.diagnostic(JSON.stringify(implementations));
    for (const name of ["ml-kem-768", "ml-dsa-65", "x25519", "ed25519", "chacha20-poly1305"]) {
      assert.equal(implementations[name], "webcrypto", name);
    }
    for (const name of ["blake2b", "sha256", "hkdf-blake2b", "sha3-256", "shake256", "argon2id"]) {
      assert.equal(implementations[name], "noble", name);
    }
    const noble = await runInPage("noble", 0);
    assert.ok(Object.values(noble.implementations).every((source) => source !== "node:crypto"));
    assert.equal(noble.implementations["ml-kem-768"], "noble");
  });

  for (const variant of ["detect", "noble"] as const) {
    test(`${variant === "detect" ? "WebCrypto+noble" : "noble only"} and node:crypto interoperate both ways`, async (t) => {
      if (!bundled.available) return t.skip("Chromium or the vectors are missing");
      const fromNode = await makeInteropSet(nodeProvider);
      const answer = await bundled.page.evaluate(
        ([v, set]) =>
          (
            globalThis as unknown as {
              nanoProviderSuite: {
                interop(
                  variant: string,
                  set: InteropSet,
                ): Promise<{ checked: number; set: InteropSet } | { error: string }>;
              };
            }
          ).nanoProviderSuite.interop(v, set),
        [variant, fromNode] as const,
      );
      assert.ok(!("error" in answer), "error" in answer ? answer.error : "");
      const checkedInNode = await checkInteropSet(nodeProvider, answer.set);
      t.diagnostic(
        `page checked ${answer.checked} values from node:crypto; node checked ${checkedInNode} from ${answer.set.by}`,
      );
    });

    for (const [index, providerCheck] of PROVIDER_CHECKS.entries()) {
      test(`${variant === "detect" ? "WebCrypto+noble" : "noble only"}: ${providerCheck.name}`, async (t) => {
        if (!bundled.available) return t.skip("Chromium or the vectors are missing");
        const outcome = await runInPage(variant, index);
        assert.ok(outcome.ok, outcome.detail);
        t.diagnostic(outcome.detail);
      });
    }
  }
});
