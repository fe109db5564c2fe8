import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  ALG,
  ALG_NAMES,
  aeadOpen,
  aeadSeal,
  argon2id,
  blake2b,
  checkArgon2idParameters,
  compositeMessageRepresentative,
  concatBytes,
  constantTimeEqual,
  copyBytes,
  DEFAULT_ARGON2ID,
  decodeTaggedKey,
  decodeTaggedKeyExact,
  ed25519,
  ed25519SignRaw,
  ed25519VerifyRaw,
  encodeTaggedKey,
  fromHex,
  getSuite,
  hkdf,
  hkdfWith,
  isAlgId,
  isAllZero,
  type Kem,
  mlDsa65,
  mlDsa65Ed25519,
  mlKem768,
  randomBytes,
  type SignatureScheme,
  sha3_256,
  sha256,
  sha512,
  shake256,
  toHex,
  u8,
  u16,
  u32,
  u64,
  utf8,
  wipe,
  x25519,
  x25519Kem,
  xWing,
} from "../../src/crypto/index.ts";
import { throwsCode, throwsUsage, valueOrCode } from "./_assert.ts";

/**
 * Every public function of src/crypto fed wrong lengths, wrong algorithm bytes, truncated and
 * oversized keys, ciphertexts, signatures and nonces. Property runs are small where a run costs an
 * ML-DSA or ML-KEM operation; the whole file stays well under ten seconds.
 */

const HUGE = 1 << 20;
/** 0, n-1, n+1 and a megabyte: the sizes a length check must reject before any work is done. */
function wrongLengths(n: number): number[] {
  return [0, n - 1, n + 1, HUGE].filter((length) => length >= 0 && length !== n);
}
const EMPTY = new Uint8Array(0);
const MESSAGE = Uint8Array.of(1, 2, 3);

describe("signature schemes reject malformed keys and never accept malformed signatures", () => {
  const schemes: readonly SignatureScheme[] = [ed25519, mlDsa65, mlDsa65Ed25519];
  for (const scheme of schemes) {
    const { lengths } = scheme;
    const pair = scheme.keygen();
    const signature = scheme.sign(pair.seed, MESSAGE, EMPTY);

    test(`${scheme.name}: seeds of the wrong length are invalid_length in keygen, publicKey, sign`, () => {
      for (const length of wrongLengths(lengths.seed)) {
        const seed = new Uint8Array(length);
        throwsCode(() => scheme.keygen(seed), "invalid_length", `keygen(${length})`);
        throwsCode(() => scheme.publicKey(seed), "invalid_length", `publicKey(${length})`);
        throwsCode(() => scheme.sign(seed, MESSAGE, EMPTY), "invalid_length", `sign(${length})`);
      }
    });

    test(`${scheme.name}: public keys of the wrong length are invalid_length in verify`, () => {
      for (const length of wrongLengths(lengths.publicKey)) {
        throwsCode(
          () => scheme.verify(new Uint8Array(length), MESSAGE, signature, EMPTY),
          "invalid_length",
          `verify(pk ${length})`,
        );
      }
    });

    test(`${scheme.name}: truncated, oversized and empty signatures verify false`, () => {
      assert.equal(scheme.verify(pair.publicKey, MESSAGE, signature, EMPTY), true);
      for (const length of wrongLengths(lengths.signature)) {
        const wrong = new Uint8Array(length);
        wrong.set(signature.subarray(0, Math.min(length, signature.length)));
        assert.equal(scheme.verify(pair.publicKey, MESSAGE, wrong, EMPTY), false, `signature of ${length}`);
      }
      assert.equal(scheme.verify(pair.publicKey, MESSAGE, concatBytes(signature, u8(0)), EMPTY), false);
    });

    test(`${scheme.name}: contexts over 255 bytes are a usage error to sign and false to verify`, () => {
      throwsUsage(() => scheme.sign(pair.seed, MESSAGE, new Uint8Array(256)), RangeError);
      assert.equal(scheme.verify(pair.publicKey, MESSAGE, signature, new Uint8Array(256)), false);
      assert.equal(scheme.verify(pair.publicKey, MESSAGE, signature, new Uint8Array(HUGE)), false);
    });

    test(`${scheme.name}: any single flipped signature bit verifies false`, () => {
      const runs = scheme === ed25519 ? 200 : 40;
      fc.assert(
        fc.property(fc.nat({ max: lengths.signature * 8 - 1 }), (bit) => {
          const flipped = signature.slice();
          flipped[bit >> 3]! ^= 1 << (bit & 7);
          return scheme.verify(pair.publicKey, MESSAGE, flipped, EMPTY) === false;
        }),
        { numRuns: runs },
      );
    });

    test(`${scheme.name}: arbitrary public keys and signatures of the right size verify false, never throw`, () => {
      const runs = scheme === ed25519 ? 300 : 30;
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: lengths.publicKey, maxLength: lengths.publicKey }),
          fc.uint8Array({ minLength: lengths.signature, maxLength: lengths.signature }),
          (publicKey, garbage) => scheme.verify(publicKey, MESSAGE, garbage, EMPTY) === false,
        ),
        { numRuns: runs },
      );
    });
  }

  test("Ed25519 raw: wrong seed and key lengths are invalid_length, wrong signatures false", () => {
    for (const length of wrongLengths(32)) {
      throwsCode(() => ed25519SignRaw(new Uint8Array(length), MESSAGE), "invalid_length");
      throwsCode(
        () => ed25519VerifyRaw(new Uint8Array(length), MESSAGE, new Uint8Array(64)),
        "invalid_length",
      );
    }
    const pair = ed25519.keygen();
    for (const length of wrongLengths(64)) {
      assert.equal(ed25519VerifyRaw(pair.publicKey, MESSAGE, new Uint8Array(length)), false);
    }
    // S >= L (non-canonical scalar) and an off-curve or all-ones key: false, not an OpenSSL error.
    const signature = ed25519SignRaw(pair.seed, MESSAGE);
    const highS = signature.slice();
    highS.fill(0xff, 32);
    assert.equal(ed25519VerifyRaw(pair.publicKey, MESSAGE, highS), false);
    assert.equal(ed25519VerifyRaw(new Uint8Array(32).fill(0xff), MESSAGE, signature), false);
  });

  test("composite representative refuses contexts over 255 bytes", () => {
    throwsUsage(() => compositeMessageRepresentative(MESSAGE, new Uint8Array(256)), RangeError);
    assert.equal(compositeMessageRepresentative(MESSAGE, new Uint8Array(255)).length, 32 + 30 + 1 + 255 + 64);
  });

  test("composite: a valid half alone, or halves swapped in from another key pair, verify false", () => {
    const a = mlDsa65Ed25519.keygen();
    const b = mlDsa65Ed25519.keygen();
    const sigA = mlDsa65Ed25519.sign(a.seed, MESSAGE, EMPTY);
    const sigB = mlDsa65Ed25519.sign(b.seed, MESSAGE, EMPTY);
    const split = mlDsa65.lengths.signature;
    const mixed = concatBytes(sigA.subarray(0, split), sigB.subarray(split));
    assert.equal(mlDsa65Ed25519.verify(a.publicKey, MESSAGE, mixed, EMPTY), false);
    const zeroedEd = concatBytes(sigA.subarray(0, split), new Uint8Array(64));
    assert.equal(mlDsa65Ed25519.verify(a.publicKey, MESSAGE, zeroedEd, EMPTY), false);
    const zeroedMlDsa = concatBytes(new Uint8Array(split), sigA.subarray(split));
    assert.equal(mlDsa65Ed25519.verify(a.publicKey, MESSAGE, zeroedMlDsa, EMPTY), false);
  });
});

describe("KEMs reject wrong sizes and keep implicit rejection for wrong ciphertexts", () => {
  const kems: readonly Kem[] = [mlKem768, xWing, x25519Kem];
  for (const kem of kems) {
    const { lengths } = kem;
    const pair = kem.keygen();
    const { ciphertext } = kem.encapsulate(pair.publicKey);

    test(`${kem.name}: seeds of the wrong length are invalid_length in keygen, publicKey, decapsulate`, () => {
      for (const length of wrongLengths(lengths.seed)) {
        const seed = new Uint8Array(length);
        throwsCode(() => kem.keygen(seed), "invalid_length", `keygen(${length})`);
        throwsCode(() => kem.publicKey(seed), "invalid_length", `publicKey(${length})`);
        throwsCode(() => kem.decapsulate(seed, ciphertext), "invalid_length", `decapsulate(seed ${length})`);
      }
    });

    test(`${kem.name}: public keys and ciphertexts of the wrong length are invalid_length`, () => {
      for (const length of wrongLengths(lengths.publicKey)) {
        throwsCode(() => kem.encapsulate(new Uint8Array(length)), "invalid_length", `encapsulate(${length})`);
      }
      for (const length of wrongLengths(lengths.ciphertext)) {
        throwsCode(
          () => kem.decapsulate(pair.seed, new Uint8Array(length)),
          "invalid_length",
          `decapsulate(ct ${length})`,
        );
      }
      const truncated = ciphertext.subarray(0, ciphertext.length - 1);
      throwsCode(() => kem.decapsulate(pair.seed, truncated), "invalid_length");
      throwsCode(() => kem.decapsulate(pair.seed, concatBytes(ciphertext, u8(0))), "invalid_length");
    });

    test(`${kem.name}: arbitrary public keys of the right size encapsulate or fail with a typed code`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: lengths.publicKey, maxLength: lengths.publicKey }), (key) => {
          const result = valueOrCode(() => kem.encapsulate(key), ["invalid_public_key", "low_order_point"]);
          if (typeof result !== "string") {
            assert.equal(result.ciphertext.length, lengths.ciphertext);
            assert.equal(result.sharedSecret.length, lengths.sharedSecret);
          }
        }),
        { numRuns: 100 },
      );
    });

    test(`${kem.name}: arbitrary ciphertexts of the right size decapsulate to an unrelated secret`, () => {
      const expected = kem === x25519Kem ? (["low_order_point"] as const) : ([] as const);
      fc.assert(
        fc.property(fc.uint8Array({ minLength: lengths.ciphertext, maxLength: lengths.ciphertext }), (ct) => {
          const result = valueOrCode(() => kem.decapsulate(pair.seed, ct), expected);
          if (typeof result !== "string") assert.equal(result.length, lengths.sharedSecret);
        }),
        { numRuns: 100 },
      );
    });
  }

  test("ML-KEM-768: an encapsulation key with a coefficient >= q is invalid_public_key (FIPS 203 check)", () => {
    throwsCode(() => mlKem768.encapsulate(new Uint8Array(1184).fill(0xff)), "invalid_public_key");
    throwsCode(() => xWing.encapsulate(new Uint8Array(1216).fill(0xff)), "invalid_public_key");
  });

  test("ML-KEM-768 and X-Wing: a changed ciphertext byte gives a different secret, not an error", () => {
    for (const kem of [mlKem768, xWing]) {
      const pair = kem.keygen();
      const { sharedSecret, ciphertext } = kem.encapsulate(pair.publicKey);
      const changed = ciphertext.slice();
      changed[0]! ^= 1;
      assert.notDeepEqual(kem.decapsulate(pair.seed, changed), sharedSecret, kem.name);
    }
  });
});

/** Low-order and non-canonical u-coordinates (RFC 7748 section 5, Wycheproof's x25519 low-order cases). */
const LOW_ORDER_POINTS = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map(fromHex);

describe("X25519 refuses low-order points with its own code", () => {
  const pair = x25519.keygen();

  test("agree: wrong seed or public key length is invalid_length", () => {
    for (const length of wrongLengths(32)) {
      throwsCode(() => x25519.agree(new Uint8Array(length), pair.publicKey), "invalid_length");
      throwsCode(() => x25519.agree(pair.seed, new Uint8Array(length)), "invalid_length");
      throwsCode(() => x25519.publicKey(new Uint8Array(length)), "invalid_length");
      throwsCode(() => x25519.keygen(new Uint8Array(length)), "invalid_length");
    }
  });

  test("agree with a low-order point is low_order_point, not an OpenSSL derivation error", () => {
    for (const point of LOW_ORDER_POINTS) {
      throwsCode(() => x25519.agree(pair.seed, point), "low_order_point");
    }
  });

  test("X25519-KEM: encapsulating to or decapsulating a low-order point is low_order_point", () => {
    for (const point of LOW_ORDER_POINTS) {
      throwsCode(() => x25519Kem.encapsulate(point), "low_order_point");
      throwsCode(() => x25519Kem.decapsulate(pair.seed, point), "low_order_point");
    }
  });

  test("X-Wing: a low-order X25519 share decapsulates to a secret (generic failure later), encaps refuses", () => {
    const xw = xWing.keygen();
    const mlKemPart = xw.publicKey.subarray(0, 1184);
    const { ciphertext } = xWing.encapsulate(xw.publicKey);
    for (const point of LOW_ORDER_POINTS) {
      throwsCode(() => xWing.encapsulate(concatBytes(mlKemPart, point)), "low_order_point");
      const hostile = concatBytes(ciphertext.subarray(0, 1088), point);
      assert.equal(xWing.decapsulate(xw.seed, hostile).length, 32);
    }
  });

  test("arbitrary 32-byte public keys agree to 32 bytes or low_order_point", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...LOW_ORDER_POINTS), fc.uint8Array({ minLength: 32, maxLength: 32 })),
        (peer) => {
          const result = valueOrCode(() => x25519.agree(pair.seed, peer), ["low_order_point"]);
          if (typeof result !== "string") assert.equal(result.length, 32);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("AEAD: every bad key, nonce or ciphertext is a typed error", () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const sealed = aeadSeal(key, nonce, MESSAGE, EMPTY);

  test("keys and nonces of the wrong length are invalid_length to seal and to open", () => {
    for (const length of wrongLengths(32)) {
      throwsCode(() => aeadSeal(new Uint8Array(length), nonce, MESSAGE, EMPTY), "invalid_length");
      throwsCode(() => aeadOpen(new Uint8Array(length), nonce, sealed, EMPTY), "invalid_length");
    }
    for (const length of [...wrongLengths(12), 8, 24]) {
      throwsCode(() => aeadSeal(key, new Uint8Array(length), MESSAGE, EMPTY), "invalid_length");
      throwsCode(() => aeadOpen(key, new Uint8Array(length), sealed, EMPTY), "invalid_length");
    }
  });

  test("inputs shorter than the tag, truncated or extended are decryption_failed", () => {
    for (let length = 0; length < 16; length++) {
      throwsCode(() => aeadOpen(key, nonce, sealed.subarray(0, length), EMPTY), "decryption_failed");
    }
    throwsCode(() => aeadOpen(key, nonce, sealed.subarray(0, sealed.length - 1), EMPTY), "decryption_failed");
    throwsCode(() => aeadOpen(key, nonce, concatBytes(sealed, u8(0)), EMPTY), "decryption_failed");
    throwsCode(() => aeadOpen(key, nonce, sealed, u8(0)), "decryption_failed");
  });

  test("any flipped bit of ciphertext, tag, nonce or AD is decryption_failed", () => {
    const ad = Uint8Array.of(9, 9);
    const sealedWithAd = aeadSeal(key, nonce, MESSAGE, ad);
    const flip = (bytes: Uint8Array, bit: number): Uint8Array => {
      const out = bytes.slice();
      out[bit >> 3]! ^= 1 << (bit & 7);
      return out;
    };
    fc.assert(
      fc.property(
        fc.nat({ max: sealedWithAd.length * 8 - 1 }),
        fc.nat({ max: 95 }),
        fc.nat({ max: 15 }),
        (a, b, c) => {
          throwsCode(() => aeadOpen(key, nonce, flip(sealedWithAd, a), ad), "decryption_failed");
          throwsCode(() => aeadOpen(key, flip(nonce, b), sealedWithAd, ad), "decryption_failed");
          throwsCode(() => aeadOpen(key, nonce, sealedWithAd, flip(ad, c)), "decryption_failed");
        },
      ),
      { numRuns: 200 },
    );
  });

  test("arbitrary bytes never open", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.uint8Array({ maxLength: 32 }), (bytes, ad) => {
        throwsCode(() => aeadOpen(key, nonce, bytes, ad), "decryption_failed");
      }),
      { numRuns: 300 },
    );
  });
});

describe("hashes, KDFs and randomness: out-of-range sizes are our own usage errors", () => {
  test("HKDF: non-positive or fractional lengths are RangeError, over 255 blocks kdf_output_too_long", () => {
    const ikm = randomBytes(32);
    for (const length of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      throwsUsage(() => hkdf(ikm, EMPTY, EMPTY, length), RangeError, `hkdf length ${length}`);
    }
    assert.equal(hkdf(ikm, EMPTY, EMPTY, 255 * 64).length, 255 * 64);
    throwsCode(() => hkdf(ikm, EMPTY, EMPTY, 255 * 64 + 1), "kdf_output_too_long");
    throwsCode(() => hkdfWith("sha256", 32, ikm, EMPTY, EMPTY, 255 * 32 + 1), "kdf_output_too_long");
  });

  test("HKDF: empty and huge ikm and salt are accepted; info over OpenSSL's 1024 bytes is RangeError", () => {
    assert.equal(hkdf(EMPTY, EMPTY, EMPTY, 32).length, 32);
    assert.equal(hkdf(new Uint8Array(HUGE), new Uint8Array(HUGE), new Uint8Array(1024), 32).length, 32);
    throwsUsage(() => hkdf(EMPTY, EMPTY, new Uint8Array(1025), 32), RangeError);
    throwsUsage(() => hkdfWith("sha256", 32, EMPTY, EMPTY, new Uint8Array(HUGE), 32), RangeError);
  });

  test("BLAKE2b and SHAKE256: any input length; negative or fractional output length is RangeError", () => {
    assert.equal(blake2b().length, 64);
    assert.equal(blake2b(new Uint8Array(HUGE)).length, 64);
    assert.equal(shake256(EMPTY, 0).length, 0);
    for (const length of [-1, 1.5, Number.NaN]) {
      throwsUsage(() => shake256(EMPTY, length), RangeError, `shake256 length ${length}`);
    }
  });

  test("randomBytes: negative, fractional or over 2^31-1 is RangeError", () => {
    assert.equal(randomBytes(0).length, 0);
    for (const length of [-1, 1.5, Number.NaN, 2 ** 31]) {
      throwsUsage(() => randomBytes(length), RangeError, `randomBytes(${length})`);
    }
  });

  test("argon2id: parameters outside the bounds are kdf_parameters_out_of_range, before any work", () => {
    const bad = [
      { ...DEFAULT_ARGON2ID, memoryKiB: 19455 },
      { ...DEFAULT_ARGON2ID, memoryKiB: 1048577 },
      { ...DEFAULT_ARGON2ID, memoryKiB: Number.NaN },
      { ...DEFAULT_ARGON2ID, passes: 1 },
      { ...DEFAULT_ARGON2ID, passes: 11 },
      { ...DEFAULT_ARGON2ID, passes: 2.5 },
      { ...DEFAULT_ARGON2ID, parallelism: 0 },
      { ...DEFAULT_ARGON2ID, parallelism: 5 },
    ];
    for (const parameters of bad) {
      throwsCode(() => checkArgon2idParameters(parameters), "kdf_parameters_out_of_range");
      throwsCode(() => argon2id(MESSAGE, new Uint8Array(16), parameters), "kdf_parameters_out_of_range");
    }
  });

  test("argon2id at the minimum parameters derives the asked length, and an empty passphrase is allowed", async () => {
    const minimum = { memoryKiB: 19456, passes: 2, parallelism: 1 };
    const salt = new Uint8Array(16);
    assert.equal((await argon2id(MESSAGE, salt, minimum, 4)).length, 4);
    assert.equal((await argon2id(EMPTY, salt, minimum)).length, 32);
  });

  test("argon2id: a short salt is invalid_length; an output length outside 4..2^32-1 is RangeError", () => {
    for (const length of [0, 15]) {
      throwsCode(() => argon2id(MESSAGE, new Uint8Array(length), DEFAULT_ARGON2ID), "invalid_length");
    }
    for (const length of [0, 3, -1, 1.5, 2 ** 32]) {
      throwsUsage(() => argon2id(MESSAGE, new Uint8Array(16), DEFAULT_ARGON2ID, length), RangeError);
    }
  });
});

describe("tagged keys and byte helpers", () => {
  const key = x25519.keygen().publicKey;
  const encoded = encodeTaggedKey(ALG.x25519, key);

  test("decodeTaggedKey: empty is truncated, unknown byte unknown_algorithm, other id algorithm_mismatch", () => {
    throwsCode(() => decodeTaggedKey(EMPTY, 0, ALG.x25519, 32), "truncated");
    throwsCode(() => decodeTaggedKey(encoded, encoded.length, ALG.x25519, 32), "truncated");
    for (const unknown of [0x00, 0x08, 0x7f, 0xff]) {
      throwsCode(
        () => decodeTaggedKey(concatBytes(u8(unknown), key), 0, ALG.x25519, 32),
        "unknown_algorithm",
      );
    }
    for (const other of Object.values(ALG).filter((alg) => alg !== ALG.x25519)) {
      const wrong = concatBytes(u8(other), key);
      throwsCode(() => decodeTaggedKey(wrong, 0, ALG.x25519, 32), "algorithm_mismatch");
    }
    for (let length = 1; length < encoded.length; length++) {
      throwsCode(() => decodeTaggedKey(encoded.subarray(0, length), 0, ALG.x25519, 32), "truncated");
    }
  });

  test("decodeTaggedKey: a negative or fractional offset or length is our RangeError, not a crash", () => {
    for (const offset of [-1, 0.5, Number.NaN]) {
      throwsUsage(() => decodeTaggedKey(encoded, offset, ALG.x25519, 32), RangeError, `offset ${offset}`);
    }
    for (const length of [-1, 0.5]) {
      throwsUsage(() => decodeTaggedKey(encoded, 0, ALG.x25519, length), RangeError, `length ${length}`);
    }
  });

  test("decodeTaggedKeyExact: trailing bytes are trailing_bytes, the key is a copy", () => {
    throwsCode(() => decodeTaggedKeyExact(concatBytes(encoded, u8(0)), ALG.x25519, 32), "trailing_bytes");
    const decoded = decodeTaggedKeyExact(encoded, ALG.x25519, 32);
    assert.deepEqual(decoded, key);
    decoded[0]! ^= 1;
    assert.equal(encoded[1], key[0]);
  });

  test("arbitrary bytes at an arbitrary offset decode to a key of the asked length or a typed code", () => {
    const algs = Object.values(ALG);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 80 }),
        fc.nat({ max: 90 }),
        fc.constantFrom(...algs),
        fc.nat({ max: 40 }),
        (bytes, offset, alg, length) => {
          const codes = ["truncated", "unknown_algorithm", "algorithm_mismatch"] as const;
          const result = valueOrCode(() => decodeTaggedKey(bytes, offset, alg, length), codes);
          if (typeof result !== "string") {
            assert.equal(result[0].length, length);
            assert.equal(result[1], length + 1);
          }
          const exact = valueOrCode(
            () => decodeTaggedKeyExact(bytes, alg, length),
            [...codes, "trailing_bytes"],
          );
          if (typeof exact !== "string") assert.equal(bytes.length, length + 1);
        },
      ),
      { numRuns: 500 },
    );
  });

  test("integer and hex helpers refuse out-of-range values with our own errors", () => {
    for (const value of [-1, 256, 1.5, Number.NaN]) throwsUsage(() => u8(value), RangeError);
    for (const value of [-1, 65536]) throwsUsage(() => u16(value), RangeError);
    for (const value of [-1, 2 ** 32]) throwsUsage(() => u32(value), RangeError);
    for (const value of [-1n, 2n ** 64n]) throwsUsage(() => u64(value), RangeError);
    for (const hex of ["0", "zz", "0g", " 00"]) throwsUsage(() => fromHex(hex), TypeError, hex);
    assert.deepEqual(fromHex(""), EMPTY);
  });

  test("isAlgId accepts exactly the ALG values; encodeTaggedKey refuses an id over one byte", () => {
    const known = new Set<number>(Object.values(ALG));
    for (let value = -1; value <= 256; value++) assert.equal(isAlgId(value), known.has(value), `0x${value}`);
    for (const alg of known) assert.ok(ALG_NAMES[alg as keyof typeof ALG_NAMES]);
    throwsUsage(() => encodeTaggedKey(0x100 as unknown as (typeof ALG)["x25519"], EMPTY), RangeError);
  });

  test("hex, copies, wiping and zero checks behave on arbitrary bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ maxLength: 100 }),
        fc.string(),
        (a, b, text) => {
          assert.equal(new TextDecoder().decode(utf8(text)), text.toWellFormed());
          assert.deepEqual(fromHex(toHex(a)), a);
          assert.deepEqual(fromHex(toHex(a).toUpperCase()), a);
          const joined = concatBytes(a, b);
          assert.equal(joined.length, a.length + b.length);
          const copy = copyBytes(a);
          wipe(copy);
          assert.ok(isAllZero(copy));
          assert.equal(
            isAllZero(a),
            a.every((byte) => byte === 0),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test("hashes take empty and megabyte inputs", () => {
    for (const input of [EMPTY, new Uint8Array(HUGE)]) {
      assert.equal(sha256(input).length, 32);
      assert.equal(sha512(input).length, 64);
      assert.equal(sha3_256(input).length, 32);
      assert.equal(shake256(input, 96).length, 96);
    }
  });

  test("constantTimeEqual: different lengths are unequal, not an error", () => {
    assert.equal(constantTimeEqual(EMPTY, u8(0)), false);
    assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
    assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
  });

  test("a non-Uint8Array key is our TypeError", () => {
    throwsUsage(() => x25519.publicKey("not bytes" as unknown as Uint8Array), TypeError);
    throwsUsage(() => getSuite(1).signature.publicKey([1, 2] as unknown as Uint8Array), TypeError);
  });
});
