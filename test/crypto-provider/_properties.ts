/**
 * Cross-check properties of a crypto provider, the same in Node and in Chromium: the provider against
 * @noble (an independent implementation wherever the provider uses node:crypto or WebCrypto), byte
 * for byte on random seeds; round trips and tampering in every suite; typed errors on hostile sizes.
 * Run counts are small because the page and a loaded 2-core machine share the time; the known-answer
 * checks (_kat.ts) carry the bulk.
 */

import { chacha20poly1305 as nobleChacha } from "@noble/ciphers/chacha.js";
import { ed25519 as nobleEd, x25519 as nobleX } from "@noble/curves/ed25519.js";
import { blake2b as nobleBlake2b } from "@noble/hashes/blake2.js";
import { hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { ml_kem768_x25519 as nobleXWing } from "@noble/post-quantum/hybrid.js";
import { ml_dsa65 as nobleMlDsa } from "@noble/post-quantum/ml-dsa.js";
import { ml_kem768 as nobleMlKem } from "@noble/post-quantum/ml-kem.js";
import fc from "fast-check";
import { utf8 } from "../../src/crypto/bytes.ts";
import { check, equalBytes, rejectsWith, Tally } from "./_check.ts";
import type { ProviderCheck } from "./_kat.ts";

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
const anyBytes = (max: number) => fc.uint8Array({ maxLength: max });

async function property<T>(
  tally: Tally,
  name: string,
  runs: number,
  prop: fc.IAsyncProperty<T>,
): Promise<void> {
  await fc.assert(prop, { numRuns: runs });
  tally.count(name);
}

const againstNoble: ProviderCheck = {
  name: "agrees with @noble byte for byte (hashes, HKDF, AEAD, X25519, Ed25519, ML-KEM, ML-DSA, X-Wing)",
  async run(provider) {
    const { primitives: p } = provider;
    const tally = new Tally();
    await property(
      tally,
      "blake2b + sha256 + hkdf",
      50,
      fc.asyncProperty(
        anyBytes(300),
        bytes(32),
        anyBytes(64),
        fc.integer({ min: 1, max: 200 }),
        async (data, ikm, info, length) => {
          equalBytes(p.blake2b(data), nobleBlake2b(data), "blake2b");
          equalBytes(p.sha256(info, data), nobleSha256(new Uint8Array([...info, ...data])), "sha256");
          equalBytes(
            p.hkdf(ikm, data, info, length),
            nobleHkdf(nobleBlake2b, ikm, data, info, length),
            "hkdf",
          );
        },
      ),
    );
    await property(
      tally,
      "chacha20-poly1305",
      50,
      fc.asyncProperty(bytes(32), bytes(12), anyBytes(300), anyBytes(40), async (key, nonce, text, ad) => {
        const sealed = await p.aead.seal(key, nonce, text, ad);
        equalBytes(sealed, nobleChacha(key, nonce, ad).encrypt(text), "seal");
        equalBytes(await p.aead.open(key, nonce, sealed, ad), text, "open");
      }),
    );
    await property(
      tally,
      "x25519",
      40,
      fc.asyncProperty(bytes(32), bytes(32), async (a, b) => {
        equalBytes(await p.x25519.publicKey(a), nobleX.getPublicKey(a), "public key");
        equalBytes(
          await p.x25519.agree(a, nobleX.getPublicKey(b)),
          nobleX.getSharedSecret(a, nobleX.getPublicKey(b)),
          "agree",
        );
      }),
    );
    // Ed25519 signatures are deterministic (RFC 8032): the bytes must be noble's.
    await property(
      tally,
      "ed25519",
      40,
      fc.asyncProperty(bytes(32), anyBytes(200), async (seed, message) => {
        equalBytes(await p.ed25519.publicKey(seed), nobleEd.getPublicKey(seed), "public key");
        equalBytes(await p.ed25519.sign(seed, message), nobleEd.sign(message, seed), "signature");
      }),
    );
    await property(
      tally,
      "ml-kem-768",
      15,
      fc.asyncProperty(bytes(64), bytes(32), fc.nat({ max: 1088 * 8 - 1 }), async (seed, m, bit) => {
        const noble = nobleMlKem.keygen(seed);
        equalBytes(await p.mlKem768.publicKey(seed), noble.publicKey, "public key");
        const ours = await p.mlKem768.encapsulate(noble.publicKey);
        equalBytes(
          nobleMlKem.decapsulate(ours.ciphertext, noble.secretKey),
          ours.sharedSecret,
          "noble decapsulates ours",
        );
        const theirs = nobleMlKem.encapsulate(noble.publicKey, m);
        equalBytes(
          await p.mlKem768.decapsulate(seed, theirs.cipherText),
          theirs.sharedSecret,
          "ours decapsulates noble's",
        );
        // Implicit rejection: a changed ciphertext gives FIPS 203's pseudorandom secret in both.
        const changed = theirs.cipherText.slice();
        changed[bit >> 3]! ^= 1 << (bit & 7);
        equalBytes(
          await p.mlKem768.decapsulate(seed, changed),
          nobleMlKem.decapsulate(changed, noble.secretKey),
          "implicit rejection",
        );
      }),
    );
    await property(
      tally,
      "ml-dsa-65",
      6,
      fc.asyncProperty(bytes(32), anyBytes(100), anyBytes(20), async (seed, message, context) => {
        const noble = nobleMlDsa.keygen(seed);
        equalBytes(await p.mlDsa65.publicKey(seed), noble.publicKey, "public key");
        const ours = await p.mlDsa65.sign(seed, message, context);
        check(nobleMlDsa.verify(ours, message, noble.publicKey, { context }), "noble verifies ours");
        const theirs = nobleMlDsa.sign(message, noble.secretKey, { context });
        check(await p.mlDsa65.verify(noble.publicKey, message, theirs, context), "ours verifies noble's");
      }),
    );
    await property(
      tally,
      "x-wing",
      10,
      fc.asyncProperty(bytes(32), bytes(64), async (seed, eseed) => {
        const noble = nobleXWing.keygen(seed);
        equalBytes(await provider.xWing.publicKey(seed), noble.publicKey, "public key");
        const ours = await provider.xWing.encapsulate(noble.publicKey);
        equalBytes(
          nobleXWing.decapsulate(ours.ciphertext, noble.secretKey),
          ours.sharedSecret,
          "noble decapsulates ours",
        );
        const theirs = nobleXWing.encapsulate(noble.publicKey, eseed);
        equalBytes(
          await provider.xWing.decapsulate(seed, theirs.cipherText),
          theirs.sharedSecret,
          "ours decapsulates noble's",
        );
      }),
    );
    return tally;
  },
};

const flip = (data: Uint8Array, bit: number): Uint8Array => {
  const copy = data.slice();
  copy[(bit >> 3) % copy.length]! ^= 1 << (bit & 7);
  return copy;
};

const suites: ProviderCheck = {
  name: "every suite: signatures, KEMs and agreement round-trip; tampering and the wrong context fail",
  async run(provider) {
    const tally = new Tally();
    const message = utf8("nano provider property");
    const context = utf8("nano/v1/sig/prekey");
    for (const suite of provider.suites) {
      const signer = await suite.signature.keygen();
      const signature = await suite.signature.sign(signer.seed, message, context);
      check(signature.length === suite.signature.lengths.signature, `${suite.name}: signature size`);
      check(
        await suite.signature.verify(signer.publicKey, message, signature, context),
        `${suite.name}: verifies`,
      );
      check(
        !(await suite.signature.verify(signer.publicKey, message, signature, utf8("nano/v1/sig/hs-init"))),
        `${suite.name}: other context`,
      );
      for (const bit of [0, 9, signature.length * 8 - 1]) {
        check(
          !(await suite.signature.verify(signer.publicKey, message, flip(signature, bit), context)),
          `${suite.name}: changed bit ${bit}`,
        );
      }
      check(
        !(await suite.signature.verify(signer.publicKey, flip(message, 3), signature, context)),
        `${suite.name}: changed message`,
      );
      check(
        !(await suite.signature.verify(signer.publicKey, message, signature.subarray(1), context)),
        `${suite.name}: short signature`,
      );

      const recipient = await suite.kem.keygen();
      const { sharedSecret, ciphertext } = await suite.kem.encapsulate(recipient.publicKey);
      check(ciphertext.length === suite.kem.lengths.ciphertext, `${suite.name}: ciphertext size`);
      equalBytes(
        await suite.kem.decapsulate(recipient.seed, ciphertext),
        sharedSecret,
        `${suite.name}: KEM round trip`,
      );
      const other = await suite.kem.keygen();
      const wrong = await suite.kem.decapsulate(other.seed, ciphertext).catch(() => null);
      check(
        wrong === null || wrong.some((byte, i) => byte !== sharedSecret[i]),
        `${suite.name}: another key decapsulates`,
      );

      if (suite.agreement !== null) {
        const [a, b] = await Promise.all([suite.agreement.keygen(), suite.agreement.keygen()]);
        equalBytes(
          await suite.agreement.agree(a.seed, b.publicKey),
          await suite.agreement.agree(b.seed, a.publicKey),
          `${suite.name}: DH`,
        );
      }
      tally.count(suite.name);
    }
    return tally.require("classical", "hybrid", "quantum");
  },
};

const hostile: ProviderCheck = {
  name: "hostile sizes and values give the documented typed errors, never a platform error",
  async run(provider) {
    const tally = new Tally();
    const { primitives: p } = provider;
    const kems = [provider.mlKem768, provider.xWing, provider.x25519Kem];
    for (const kem of kems) {
      const pair = await kem.keygen();
      await rejectsWith(
        () => kem.encapsulate(pair.publicKey.subarray(1)),
        "invalid_length",
        `${kem.name} short key`,
      );
      await rejectsWith(
        () => kem.decapsulate(pair.seed, new Uint8Array(kem.lengths.ciphertext + 1)),
        "invalid_length",
        `${kem.name} long ct`,
      );
      await rejectsWith(
        () => kem.decapsulate(pair.seed.subarray(1), new Uint8Array(kem.lengths.ciphertext)),
        "invalid_length",
        `${kem.name} short seed`,
      );
      await rejectsWith(
        () => kem.keygen(new Uint8Array(kem.lengths.seed + 1)),
        "invalid_length",
        `${kem.name} long seed`,
      );
      tally.count(kem.name);
    }
    for (const scheme of [provider.ed25519, provider.mlDsa65, provider.mlDsa65Ed25519]) {
      const pair = await scheme.keygen();
      await rejectsWith(
        () =>
          scheme.verify(
            pair.publicKey.subarray(1),
            utf8("m"),
            new Uint8Array(scheme.lengths.signature),
            new Uint8Array(0),
          ),
        "invalid_length",
        `${scheme.name} short key`,
      );
      await rejectsWith(
        () => scheme.sign(pair.seed, utf8("m"), new Uint8Array(256)),
        RangeError,
        `${scheme.name} long context`,
      );
      check(
        !(await scheme.verify(
          pair.publicKey,
          utf8("m"),
          new Uint8Array(scheme.lengths.signature),
          new Uint8Array(256),
        )),
        `${scheme.name} long context verifies`,
      );
      tally.count(scheme.name);
    }
    // A key failing FIPS 203's modulus check: coefficient 0 set to q = 3329 (> q - 1).
    const bad = (await provider.mlKem768.keygen()).publicKey.slice();
    bad[0] = 0x01;
    bad[1] = (bad[1]! & 0xf0) | 0x0d;
    await rejectsWith(() => provider.mlKem768.encapsulate(bad), "invalid_public_key", "ML-KEM modulus check");
    // RFC 7748 low-order point (u = 1) gives the all-zero secret.
    const lowOrder = new Uint8Array(32);
    lowOrder[0] = 1;
    await rejectsWith(
      () => provider.x25519.agree(p.randomBytes(32), lowOrder),
      "low_order_point",
      "X25519 low order",
    );
    await rejectsWith(
      () => provider.x25519Kem.decapsulate(p.randomBytes(32), lowOrder),
      "low_order_point",
      "X25519-KEM low order",
    );
    // X-Wing keeps implicit rejection: a low-order X25519 share is a secret, not a distinct error.
    const xw = await provider.xWing.keygen();
    const ct = new Uint8Array(1120);
    ct.set(lowOrder, 1088);
    check((await provider.xWing.decapsulate(xw.seed, ct)).length === 32, "X-Wing low-order share");
    await rejectsWith(
      () => p.aead.seal(new Uint8Array(31), new Uint8Array(12), new Uint8Array(0), new Uint8Array(0)),
      "invalid_length",
      "AEAD key",
    );
    await rejectsWith(
      () => p.aead.open(new Uint8Array(32), new Uint8Array(13), new Uint8Array(16), new Uint8Array(0)),
      "invalid_length",
      "AEAD nonce",
    );
    check(
      (await p.aead.open(new Uint8Array(32), new Uint8Array(12), new Uint8Array(15), new Uint8Array(0))) ===
        null,
      "AEAD short input",
    );
    let threw: unknown;
    try {
      p.hkdf(new Uint8Array(32), new Uint8Array(0), new Uint8Array(1025), 32);
    } catch (error) {
      threw = error;
    }
    check(threw instanceof RangeError, "HKDF info over 1024 bytes is a RangeError");
    await rejectsWith(
      async () => p.hkdf(new Uint8Array(32), new Uint8Array(0), new Uint8Array(0), 255 * 64 + 1),
      "kdf_output_too_long",
      "HKDF length",
    );
    tally.count("values");
    return tally.require("values");
  },
};

export const PROPERTY_CHECKS: readonly ProviderCheck[] = Object.freeze([againstNoble, suites, hostile]);
