import assert from "node:assert/strict";
import { test } from "node:test";
import { deviceFingerprint, identityFingerprint } from "../../src/client/home/fingerprints.ts";
import {
  decodeIdentitySeeds,
  encodeIdentitySeeds,
  generateIdentitySeeds,
  suitesAcceptedByMode,
} from "../../src/client/home/identity-seeds.ts";
import {
  decodeKeystoreContents,
  encodeKeystoreContents,
  newKeystoreContents,
} from "../../src/client/keystore/keystore-contents.ts";
import { concatBytes, randomBytes, u8 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";

test("mode M accepts M and the suites ranked above it (hybrid > quantum > classical)", () => {
  const names = (mode: "classical" | "hybrid" | "quantum") =>
    suitesAcceptedByMode(mode).map((suite) => suite.name);
  assert.deepEqual(names("hybrid"), ["hybrid"]);
  assert.deepEqual(names("quantum"), ["quantum", "hybrid"]);
  assert.deepEqual(names("classical"), ["classical", "hybrid", "quantum"]);
  assert.throws(
    () => suitesAcceptedByMode("fast" as "hybrid"),
    (error: unknown) => NanoError.is(error, "unknown_suite"),
  );
});

for (const mode of ["classical", "hybrid", "quantum"] as const) {
  test(`identity seeds for ${mode} round-trip and expand to the same public keys`, () => {
    const seeds = generateIdentitySeeds(mode, 1_700_000_000_123);
    const encoded = encodeIdentitySeeds(seeds);
    const decoded = decodeIdentitySeeds(encoded);
    assert.equal(decoded.preferred.name, mode);
    assert.equal(decoded.createdAt, 1_700_000_000_123);
    assert.deepEqual(
      decoded.suites.map((entry) => entry.suite.name),
      suitesAcceptedByMode(mode).map((suite) => suite.name),
    );
    assert.deepEqual(decoded, seeds);
    assert.equal(identityFingerprint(decoded), identityFingerprint(seeds));
    assert.equal(deviceFingerprint(decoded), deviceFingerprint(seeds));
    const quantum = decoded.suites.find((entry) => entry.suite.name === "quantum");
    if (quantum) assert.equal(quantum.agreement, null, "quantum has no X25519 key");

    // Every truncation and any trailing byte is a typed error.
    for (let length = 0; length < encoded.length; length += 97) {
      assert.throws(() => decodeIdentitySeeds(encoded.subarray(0, length)), NanoError);
    }
    assert.throws(
      () => decodeIdentitySeeds(concatBytes(encoded, u8(0))),
      (error: unknown) => NanoError.is(error, "trailing_bytes"),
    );
    const otherVersion = encoded.slice();
    otherVersion[0] = 2;
    assert.throws(
      () => decodeIdentitySeeds(otherVersion),
      (error: unknown) => NanoError.is(error, "keystore_version_unsupported"),
    );
  });
}

test("two identities never share a seed or a fingerprint", () => {
  const a = generateIdentitySeeds("hybrid");
  const b = generateIdentitySeeds("hybrid");
  assert.notDeepEqual(a.suites[0]!.signature, b.suites[0]!.signature);
  assert.notEqual(identityFingerprint(a), identityFingerprint(b));
  assert.notDeepEqual(a.device, b.device);
});

test("keystore contents: round trip, fresh database key, strict lengths and version", () => {
  const identity = randomBytes(100);
  const contents = newKeystoreContents(identity);
  assert.equal(contents.localStoreKey.length, 32);
  assert.notDeepEqual(newKeystoreContents(identity).localStoreKey, contents.localStoreKey);
  const encoded = encodeKeystoreContents(contents);
  assert.deepEqual(decodeKeystoreContents(encoded), contents);
  for (let length = 0; length < encoded.length; length += 1) {
    assert.throws(() => decodeKeystoreContents(encoded.subarray(0, length)), NanoError);
  }
  assert.throws(
    () => decodeKeystoreContents(concatBytes(encoded, u8(1))),
    (e: unknown) => NanoError.is(e, "keystore_corrupt"),
  );
  const wrongVersion = encoded.slice();
  wrongVersion[0] = 9;
  assert.throws(
    () => decodeKeystoreContents(wrongVersion),
    (e: unknown) => NanoError.is(e, "keystore_version_unsupported"),
  );
});
