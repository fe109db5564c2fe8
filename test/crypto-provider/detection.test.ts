// Feature detection of the browser provider (src/crypto/web/detect.ts) on platforms unlike this one,
// made from Node's real WebCrypto with parts taken away or broken: every candidate falls back to
// @noble alone when `SubtleCrypto.supports` says no, when an operation is missing or throws, or when
// an implementation is wrong in a way the trial sees (an ML-DSA that ignores the context, an AEAD that
// ignores the associated data). Without `getPublicKey` the JWK export path serves public keys, and the
// provider still passes the known answers. No WebCrypto at all is a clear TypeError.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createWebProvider, platformWebCrypto, type WebCryptoHandle } from "../../src/crypto/web/index.ts";
import type { ModernSubtle, SupportsCheck } from "../../src/crypto/web/subtle.ts";
import { needVectors, vectorsDir } from "../support/vectors.ts";
import { KNOWN_ANSWER_CHECKS, type VectorLoader } from "./_kat.ts";

const load: VectorLoader = async (path) =>
  JSON.parse(await readFile(join(vectorsDir(), path), "utf8")) as unknown;
const real = platformWebCrypto()!;

/** Node's WebCrypto with some methods replaced; `this` stays the real SubtleCrypto. */
function platform(
  overrides: Partial<Record<keyof ModernSubtle, unknown>>,
  supports: SupportsCheck | null = real.supports,
): WebCryptoHandle {
  const subtle = new Proxy(real.subtle, {
    get(target, name, receiver) {
      if (Object.hasOwn(overrides, name)) return overrides[name as keyof ModernSubtle];
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { subtle, supports, getRandomValues: real.getRandomValues };
}

const algorithmName = (algorithm: unknown): string =>
  typeof algorithm === "string" ? algorithm : ((algorithm as { name?: string }).name ?? "");

async function sources(handle: WebCryptoHandle): Promise<Readonly<Record<string, string>>> {
  return (await createWebProvider({ webCrypto: handle })).primitives.implementations;
}

describe("browser provider feature detection", () => {
  test("this platform: every candidate from WebCrypto", async () => {
    const found = await sources(real);
    for (const name of ["x25519", "ed25519", "ml-kem-768", "ml-dsa-65", "chacha20-poly1305"]) {
      assert.equal(found[name], "webcrypto", name);
    }
  });

  test("SubtleCrypto.supports saying no for ML-KEM and ChaCha20 sends those two, and only those, to @noble", async () => {
    const supports: SupportsCheck = (operation, algorithm) =>
      !["ML-KEM-768", "ChaCha20-Poly1305"].includes(algorithmName(algorithm)) &&
      real.supports!(operation, algorithm);
    const found = await sources(platform({}, supports));
    assert.equal(found["ml-kem-768"], "noble");
    assert.equal(found["chacha20-poly1305"], "noble");
    assert.equal(found["ml-dsa-65"], "webcrypto");
    assert.equal(found.x25519, "webcrypto");
  });

  test("an operation that is missing or throws fails its trial (no supports() on the platform)", async () => {
    const found = await sources(
      platform(
        {
          encapsulateBits: undefined,
          sign: async () => {
            throw new DOMException("not here", "NotSupportedError");
          },
        },
        null,
      ),
    );
    assert.equal(found["ml-kem-768"], "noble", "no encapsulateBits");
    assert.equal(found.ed25519, "noble", "sign throws");
    assert.equal(found["ml-dsa-65"], "noble", "sign throws");
    assert.equal(found.x25519, "webcrypto");
  });

  test("an ML-DSA that ignores the context and an AEAD that ignores the associated data are caught by the trials", async () => {
    const found = await sources(
      platform({
        sign: (algorithm: { name: string }, key: unknown, data: Uint8Array) =>
          real.subtle.sign({ name: algorithm.name }, key as never, data),
        verify: (algorithm: { name: string }, key: unknown, signature: Uint8Array, data: Uint8Array) =>
          real.subtle.verify({ name: algorithm.name }, key as never, signature, data),
        encrypt: (algorithm: { name: string; iv: Uint8Array }, key: unknown, data: Uint8Array) =>
          real.subtle.encrypt({ name: algorithm.name, iv: algorithm.iv }, key as never, data),
        decrypt: (algorithm: { name: string; iv: Uint8Array }, key: unknown, data: Uint8Array) =>
          real.subtle.decrypt({ name: algorithm.name, iv: algorithm.iv }, key as never, data),
      }),
    );
    assert.equal(found["ml-dsa-65"], "noble");
    assert.equal(found["chacha20-poly1305"], "noble");
  });

  test("without getPublicKey the JWK path serves public keys, and the known answers still hold", async (t) => {
    if (!needVectors(t, "wycheproof", "xwing", "composite-sigs")) return;
    const provider = await createWebProvider({ webCrypto: platform({ getPublicKey: undefined }) });
    assert.equal(provider.primitives.implementations["ml-kem-768"], "webcrypto");
    for (const name of [
      "ML-KEM-768 keygen from seed (Wycheproof): exact encapsulation key",
      "ML-DSA-65 from seed (Wycheproof): exact public key; vector and own signatures verify",
      "X-Wing (xwing/test-vectors.json): keygen from seed and decapsulation",
      "Composite ML-DSA-65 + Ed25519 (composite-sigs/testvectors.json)",
    ]) {
      const providerCheck = KNOWN_ANSWER_CHECKS.find((candidate) => candidate.name === name);
      assert.ok(providerCheck, name);
      t.diagnostic(`${name}: ${(await providerCheck.run(provider, load)).toString()}`);
    }
  });

  test("no WebCrypto at all (an insecure context) is a clear TypeError", async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, "crypto");
    Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
    try {
      await assert.rejects(createWebProvider(), (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /https or from localhost/);
        return true;
      });
    } finally {
      if (saved) Object.defineProperty(globalThis, "crypto", saved);
    }
  });
});
