import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  ALG,
  CLASSICAL,
  concatBytes,
  decodeSuitePublicKeys,
  decodeTaggedKeyExact,
  encodeSuitePublicKeys,
  encodeTaggedKey,
  generateSuiteKeys,
  getSuite,
  getSuiteByName,
  HYBRID,
  QUANTUM,
  SUITE_IDS,
  SUITES,
  type Suite,
  type SuitePublicKeys,
  suitePublicKeys,
  suitePublicKeysLength,
  u8,
  u16,
} from "../../src/crypto/index.ts";
import { bytesEqual, throwsCode, throwsUsage, valueOrCode } from "./_assert.ts";

/** Byte offsets of each tagged key's algorithm byte inside an encoding, in wire order. */
function algOffsets(suite: Suite): { role: string; offset: number; alg: number }[] {
  const offsets = [{ role: "signature", offset: 2, alg: suite.signature.alg }];
  let cursor = 2 + 1 + suite.signature.lengths.publicKey;
  if (suite.agreement) {
    offsets.push({ role: "agreement", offset: cursor, alg: suite.agreement.alg });
    cursor += 1 + suite.agreement.lengths.publicKey;
  }
  offsets.push({ role: "kem", offset: cursor, alg: suite.kem.alg });
  return offsets;
}

const fixtures = SUITES.map((suite) => {
  const pairs = generateSuiteKeys(suite);
  const keys = suitePublicKeys(pairs);
  return { suite, pairs, keys, encoded: encodeSuitePublicKeys(keys) };
});

function assertSameKeys(actual: SuitePublicKeys, expected: SuitePublicKeys): void {
  assert.equal(actual.suite, expected.suite);
  bytesEqual(actual.signature, expected.signature, "signature key");
  bytesEqual(actual.kem, expected.kem, "KEM key");
  if (expected.agreement === null) assert.equal(actual.agreement, null);
  else bytesEqual(actual.agreement ?? new Uint8Array(0), expected.agreement, "agreement key");
}

describe("suite registry", () => {
  test("ids are classical 1, hybrid 2, quantum 3 and getSuite finds each", () => {
    assert.deepEqual(SUITE_IDS, { classical: 1, hybrid: 2, quantum: 3 });
    assert.equal(getSuite(1), CLASSICAL);
    assert.equal(getSuite(2), HYBRID);
    assert.equal(getSuite(3), QUANTUM);
    for (const id of [0, 4, 0xff, 0x100, 0xffff, -1, 1.5, Number.NaN])
      throwsCode(() => getSuite(id), "unknown_suite");
  });

  test("ranking is hybrid > quantum > classical and ranks are distinct", () => {
    assert.ok(HYBRID.rank > QUANTUM.rank);
    assert.ok(QUANTUM.rank > CLASSICAL.rank);
    const byRank = [...SUITES].sort((a, b) => b.rank - a.rank).map((suite) => suite.name);
    assert.deepEqual(byRank, ["hybrid", "quantum", "classical"]);
  });

  test("getSuiteByName finds exact names only", () => {
    for (const suite of SUITES) assert.equal(getSuiteByName(suite.name), suite);
    for (const name of [
      "",
      "Hybrid",
      "HYBRID",
      " hybrid",
      "hybrid ",
      "pq",
      "__proto__",
      "toString",
      "constructor",
    ]) {
      throwsCode(() => getSuiteByName(name), "unknown_suite", JSON.stringify(name));
    }
  });

  test("the suite table is frozen and each suite has the algorithms DESIGN.md names", () => {
    assert.ok(Object.isFrozen(SUITES));
    for (const suite of SUITES) assert.ok(Object.isFrozen(suite), suite.name);
    assert.deepEqual(
      SUITES.map((s) => [
        s.name,
        s.signature.name,
        s.agreement?.name ?? null,
        s.kem.name,
        s.ratchetKem?.name ?? null,
      ]),
      [
        ["classical", "Ed25519", "X25519", "X25519-KEM", null],
        ["hybrid", "id-MLDSA65-Ed25519-SHA512", "X25519", "X-Wing", "ML-KEM-768"],
        ["quantum", "ML-DSA-65", null, "ML-KEM-768", "ML-KEM-768"],
      ],
    );
    assert.deepEqual(
      SUITES.map((s) => s.postQuantum),
      [false, true, true],
    );
  });

  test("generated suite keys work: sign/verify, encapsulate/decapsulate, agree", () => {
    const context = u8(7);
    const message = Uint8Array.of(1, 2, 3);
    for (const { suite, pairs } of fixtures) {
      const signature = suite.signature.sign(pairs.signature.seed, message, context);
      assert.equal(signature.length, suite.signature.lengths.signature, suite.name);
      assert.ok(suite.signature.verify(pairs.signature.publicKey, message, signature, context), suite.name);
      const { sharedSecret, ciphertext } = suite.kem.encapsulate(pairs.kem.publicKey);
      bytesEqual(suite.kem.decapsulate(pairs.kem.seed, ciphertext), sharedSecret, suite.name);
      if (suite.agreement && pairs.agreement) {
        const peer = suite.agreement.keygen();
        bytesEqual(
          suite.agreement.agree(pairs.agreement.seed, peer.publicKey),
          suite.agreement.agree(peer.seed, pairs.agreement.publicKey),
        );
      } else {
        assert.equal(pairs.agreement, null);
      }
    }
  });
});

describe("suite public keys encoding", () => {
  for (const { suite, keys, encoded } of fixtures) {
    test(`${suite.name}: round trip, length and layout`, () => {
      assert.equal(encoded.length, suitePublicKeysLength(suite));
      bytesEqual(encoded.subarray(0, 2), u16(suite.id));
      const [decoded, read] = decodeSuitePublicKeys(encoded, 0);
      assert.equal(read, encoded.length);
      assertSameKeys(decoded, keys);
      bytesEqual(encodeSuitePublicKeys(decoded), encoded);
    });

    test(`${suite.name}: decodes at an offset and leaves trailing bytes to the caller`, () => {
      const framed = concatBytes(Uint8Array.of(0xaa, 0xbb, 0xcc), encoded, Uint8Array.of(0xdd));
      const [decoded, read] = decodeSuitePublicKeys(framed, 3);
      assert.equal(read, encoded.length);
      assertSameKeys(decoded, keys);
    });

    test(`${suite.name}: every truncation is truncated`, () => {
      for (let length = 0; length < encoded.length; length++) {
        throwsCode(
          () => decodeSuitePublicKeys(encoded.subarray(0, length), 0),
          "truncated",
          `length ${length}`,
        );
      }
    });

    test(`${suite.name}: each tagged key alone is exact; a trailing byte is trailing_bytes`, () => {
      for (const { role, offset, alg } of algOffsets(suite)) {
        const key = role === "signature" ? keys.signature : role === "kem" ? keys.kem : keys.agreement!;
        const tagged = encoded.subarray(offset, offset + 1 + key.length);
        bytesEqual(tagged, encodeTaggedKey(alg as (typeof ALG)[keyof typeof ALG], key));
        bytesEqual(decodeTaggedKeyExact(tagged, alg as (typeof ALG)[keyof typeof ALG], key.length), key);
        throwsCode(
          () =>
            decodeTaggedKeyExact(
              concatBytes(tagged, u8(0)),
              alg as (typeof ALG)[keyof typeof ALG],
              key.length,
            ),
          "trailing_bytes",
          role,
        );
      }
    });

    test(`${suite.name}: another algorithm's byte is algorithm_mismatch, an unknown byte unknown_algorithm`, () => {
      for (const { role, offset, alg } of algOffsets(suite)) {
        for (const other of Object.values(ALG).filter((candidate) => candidate !== alg)) {
          const changed = encoded.slice();
          changed[offset] = other;
          throwsCode(
            () => decodeSuitePublicKeys(changed, 0),
            "algorithm_mismatch",
            `${role} tagged 0x${other}`,
          );
        }
        for (const unknown of [0x00, 0x08, 0xff]) {
          const changed = encoded.slice();
          changed[offset] = unknown;
          throwsCode(
            () => decodeSuitePublicKeys(changed, 0),
            "unknown_algorithm",
            `${role} tagged 0x${unknown}`,
          );
        }
      }
    });

    test(`${suite.name}: keys of the wrong size do not encode`, () => {
      throwsCode(
        () => encodeSuitePublicKeys({ ...keys, signature: keys.signature.subarray(1) }),
        "invalid_length",
      );
      throwsCode(
        () => encodeSuitePublicKeys({ ...keys, kem: concatBytes(keys.kem, u8(0)) }),
        "invalid_length",
      );
    });
  }

  test("unknown suite ids are unknown_suite before anything else is read", () => {
    const body = fixtures[0]!.encoded.subarray(2);
    for (const id of [0, 4, 0x0100, 0xffff]) {
      throwsCode(() => decodeSuitePublicKeys(concatBytes(u16(id), body), 0), "unknown_suite", `suite ${id}`);
    }
  });

  test("a suite id relabelled onto another suite's keys fails, never decodes as the other suite", () => {
    for (const from of fixtures) {
      for (const to of SUITES.filter((suite) => suite !== from.suite)) {
        const relabelled = concatBytes(u16(to.id), from.encoded.subarray(2));
        const result = valueOrCode(
          () => decodeSuitePublicKeys(relabelled, 0),
          ["algorithm_mismatch", "truncated"],
        );
        assert.equal(typeof result, "string", `${from.suite.name} keys labelled ${to.name}`);
      }
    }
  });

  test("the agreement key must be present exactly when the suite has one", () => {
    throwsUsage(() => encodeSuitePublicKeys({ ...fixtures[0]!.keys, agreement: null }), TypeError);
    throwsUsage(
      () => encodeSuitePublicKeys({ ...fixtures[2]!.keys, agreement: new Uint8Array(32) }),
      TypeError,
    );
  });

  test("arbitrary bytes and mutated encodings decode to keys or a typed codec error", () => {
    const codes = ["truncated", "unknown_suite", "unknown_algorithm", "algorithm_mismatch"] as const;
    // A valid encoding with one byte replaced and optionally its tail cut: reaches the deeper checks.
    const mutated = fc
      .tuple(
        fc.constantFrom(...fixtures.map((fixture) => fixture.encoded)),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom(0, 0, 1, 33, 1000),
      )
      .map(([encoded, at, value, drop]) => {
        const bytes = encoded.slice(0, Math.max(0, encoded.length - drop));
        if (bytes.length > 0) bytes[at % bytes.length] = value;
        return bytes;
      });
    const smallSuite = fc.uint8Array({ maxLength: 3 }).map((tail) => concatBytes(u16(1), tail));
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 200 }), smallSuite, mutated),
        fc.nat({ max: 4 }),
        (bytes, offset) => {
          const result = valueOrCode(() => decodeSuitePublicKeys(bytes, offset), codes);
          if (typeof result !== "string") {
            const [keys, read] = result;
            assert.equal(read, suitePublicKeysLength(keys.suite));
            bytesEqual(encodeSuitePublicKeys(keys), bytes.subarray(offset, offset + read));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
