// HKDF: the construction against Wycheproof HKDF-SHA256 (hkdf_sha256_test.json) through
// hkdfWith("sha256", 32, ...), and the protocol's HKDF-BLAKE2b against an HKDF assembled from
// @noble/hashes (hkdf + blake2b): no official HKDF-BLAKE2b vectors exist, so a second implementation
// is the check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { blake2b as nobleBlake2b } from "@noble/hashes/blake2.js";
import { hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { hkdf, hkdfWith, utf8 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { hexBytes, needVectors, VectorTally } from "../support/vectors.ts";
import { type HkdfGroup, type HkdfTest, hasFlag, wycheproofCases } from "../support/wycheproof.ts";

const FILE = "hkdf_sha256_test.json";

test("Wycheproof HKDF-SHA256: valid outputs match, oversize requests are kdf_output_too_long", (t) => {
  if (!needVectors(t, `wycheproof/${FILE}`)) return;
  const tally = new VectorTally(FILE);
  for (const { test: v, name } of wycheproofCases<HkdfTest, HkdfGroup>(FILE)) {
    const derive = () => hkdfWith("sha256", 32, hexBytes(v.ikm), hexBytes(v.salt), hexBytes(v.info), v.size);
    if (v.result === "valid") {
      assert.deepEqual(derive(), hexBytes(v.okm), name);
      tally.count("valid");
    } else {
      assert.ok(hasFlag(v, "SizeTooLarge"), `${name}: an invalid HKDF case this test does not know`);
      assert.throws(derive, (error: unknown) => NanoError.is(error, "kdf_output_too_long"), name);
      tally.count("invalid-kdf_output_too_long");
    }
  }
  tally.report(t);
  assert.ok(tally.get("valid") > 0 && tally.get("invalid-kdf_output_too_long") > 0);
});

/** Fixed inputs: empty salt and info, a long salt (hashed by HMAC), block-sized IKM, the maximal output. */
const BLAKE2B_CASES: readonly { ikm: Uint8Array; salt: Uint8Array; info: Uint8Array; length: number }[] = [
  { ikm: new Uint8Array(32).fill(0x0b), salt: new Uint8Array(0), info: new Uint8Array(0), length: 64 },
  {
    ikm: utf8("input keying material"),
    salt: new Uint8Array(64).fill(7),
    info: utf8("nano/v1/root"),
    length: 96,
  },
  {
    ikm: new Uint8Array(128).fill(0xaa),
    salt: new Uint8Array(200).fill(1),
    info: utf8("nano/v1/msg"),
    length: 44,
  },
  { ikm: Uint8Array.of(1), salt: utf8("s"), info: new Uint8Array(300).fill(2), length: 1 },
  { ikm: new Uint8Array(64).fill(0x5c), salt: utf8("salt"), info: utf8("max"), length: 255 * 64 },
];

test("HKDF-BLAKE2b equals @noble/hashes hkdf(blake2b) on fixed inputs", () => {
  for (const { ikm, salt, info, length } of BLAKE2B_CASES) {
    assert.deepEqual(hkdf(ikm, salt, info, length), nobleHkdf(nobleBlake2b, ikm, salt, info, length));
  }
});

test("HKDF-BLAKE2b refuses more than 255 * 64 bytes, and a non-positive length", () => {
  const ikm = new Uint8Array(32);
  assert.throws(
    () => hkdf(ikm, new Uint8Array(0), new Uint8Array(0), 255 * 64 + 1),
    (error: unknown) => NanoError.is(error, "kdf_output_too_long"),
  );
  assert.throws(() => hkdf(ikm, new Uint8Array(0), new Uint8Array(0), 0), RangeError);
});
