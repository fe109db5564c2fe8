import assert from "node:assert/strict";
import { test } from "node:test";
import { deviceFingerprint, identityFingerprint } from "../../src/client/home/fingerprints.ts";
import {
  decodeIdentitySeeds,
  encodeIdentitySeeds,
  generateIdentitySeeds,
  type IdentitySeeds,
  suitesAcceptedByMode,
} from "../../src/client/home/identity-seeds.ts";
import {
  decodeKeystoreContents,
  encodeKeystoreContents,
  newKeystoreContents,
} from "../../src/client/keystore/keystore-contents.ts";
import { concatBytes, randomBytes, sha256, toHex, u8 } from "../../src/crypto/index.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import type { CryptoProvider } from "../../src/crypto/provider/index.ts";
import { SUITE_IDS, type SuiteName, suiteName } from "../../src/crypto/suite-ids.ts";
import { createWebProvider } from "../../src/crypto/web/index.ts";
import { NanoError } from "../../src/errors/index.ts";

const PROVIDERS: readonly [string, () => Promise<CryptoProvider>][] = [
  ["node:crypto", async () => nodeProvider],
  ["web (detected, on Node's WebCrypto)", () => createWebProvider()],
  ["web (@noble only)", () => createWebProvider({ use: "noble" })],
];

test("mode M accepts M and the suites ranked above it (hybrid > quantum > classical)", () => {
  const names = (mode: SuiteName) => suitesAcceptedByMode(mode).map(suiteName);
  assert.deepEqual(names("hybrid"), ["hybrid"]);
  assert.deepEqual(names("quantum"), ["quantum", "hybrid"]);
  assert.deepEqual(names("classical"), ["classical", "hybrid", "quantum"]);
  assert.throws(
    () => suitesAcceptedByMode("fast" as "hybrid"),
    (error: unknown) => NanoError.is(error, "unknown_suite"),
  );
});

for (const mode of ["classical", "hybrid", "quantum"] as const) {
  test(`identity seeds for ${mode} round-trip and expand to the same public keys`, async () => {
    const seeds = await generateIdentitySeeds(nodeProvider, mode, 1_700_000_000_123);
    const encoded = encodeIdentitySeeds(nodeProvider, seeds);
    const decoded = decodeIdentitySeeds(nodeProvider, encoded);
    assert.equal(decoded.preferred, SUITE_IDS[mode]);
    assert.equal(decoded.createdAt, 1_700_000_000_123);
    assert.deepEqual(
      decoded.suites.map((entry) => entry.suite),
      suitesAcceptedByMode(mode),
    );
    assert.deepEqual(decoded, seeds);
    assert.equal(
      await identityFingerprint(nodeProvider, decoded),
      await identityFingerprint(nodeProvider, seeds),
    );
    assert.equal(
      await deviceFingerprint(nodeProvider, decoded),
      await deviceFingerprint(nodeProvider, seeds),
    );
    const quantum = decoded.suites.find((entry) => entry.suite === SUITE_IDS.quantum);
    if (quantum) assert.equal(quantum.agreement, null, "quantum has no X25519 key");

    // Every truncation and any trailing byte is a typed error.
    for (let length = 0; length < encoded.length; length += 97) {
      assert.throws(() => decodeIdentitySeeds(nodeProvider, encoded.subarray(0, length)), NanoError);
    }
    assert.throws(
      () => decodeIdentitySeeds(nodeProvider, concatBytes(encoded, u8(0))),
      (error: unknown) => NanoError.is(error, "trailing_bytes"),
    );
    const otherVersion = encoded.slice();
    otherVersion[0] = 2;
    assert.throws(
      () => decodeIdentitySeeds(nodeProvider, otherVersion),
      (error: unknown) => NanoError.is(error, "keystore_version_unsupported"),
    );
  });
}

/**
 * Seeds of fixed bytes, and what the previous implementation (src/crypto's node suites, before the
 * seeds named suite ids and took the provider) encoded them to and showed for them: an existing
 * keystore must open to the same identity in every runtime.
 */
const PINNED: Record<SuiteName, { encodedSha256: string; identity: string; device: string }> = {
  classical: {
    encodedSha256: "005e8117be87b5592cbc0677b89dda0241c3da7dcdd91ecc276d41d30a35655f",
    identity: "82d2 6597 36e6 87b9 e09a 01a5 ed49 acf8",
    device: "f655 2942 6c25 01f1 4944 cc0f 3085 fcb0",
  },
  hybrid: {
    encodedSha256: "93ef82e25b2aafd07303e55ed1e6a8ce036965417a4d02c9b827df8bcce2e79b",
    identity: "466c 1278 6965 60c3 a4e4 7460 9246 10bc",
    device: "8449 bfcc e278 ef4b 50a5 6672 52f7 dedd",
  },
  quantum: {
    encodedSha256: "81037ce4239f4d0db0baf3bb4cfebf810bf60bc6842e4f2a7ac1bd5ad4981215",
    identity: "8555 009f 75b3 dbe4 4921 0c5a c4e5 dc26",
    device: "4410 cec7 900f ca1b 3839 419b 369d 35db",
  },
};

function fixedSeeds(provider: CryptoProvider, mode: SuiteName): IdentitySeeds {
  let n = 1;
  const fill = (length: number) => new Uint8Array(length).fill(n++);
  const suites = suitesAcceptedByMode(mode).map((id) => {
    const suite = provider.suite(id);
    return {
      suite: id,
      signature: fill(suite.signature.lengths.seed),
      agreement: suite.agreement ? fill(suite.agreement.lengths.seed) : null,
      kem: fill(suite.kem.lengths.seed),
    };
  });
  const preferred = SUITE_IDS[mode];
  return {
    preferred,
    createdAt: 1_700_000_000_123,
    suites,
    device: fill(provider.suite(preferred).signature.lengths.seed),
  };
}

for (const [name, make] of PROVIDERS) {
  test(`${name}: existing seeds encode, decode and fingerprint byte-identically to before`, async () => {
    const provider = await make();
    for (const mode of ["classical", "hybrid", "quantum"] as const) {
      const seeds = fixedSeeds(provider, mode);
      const encoded = encodeIdentitySeeds(provider, seeds);
      assert.equal(toHex(sha256(encoded)), PINNED[mode].encodedSha256, `${mode} encoding`);
      const decoded = decodeIdentitySeeds(provider, encoded);
      assert.deepEqual(decoded, seeds);
      assert.equal(await identityFingerprint(provider, decoded), PINNED[mode].identity, `${mode} identity`);
      assert.equal(await deviceFingerprint(provider, decoded), PINNED[mode].device, `${mode} device`);
    }
  });
}

test("a seed under another suite's id, or an unknown suite id, is a typed error", () => {
  const encoded = encodeIdentitySeeds(nodeProvider, fixedSeeds(nodeProvider, "hybrid"));
  const unknown = encoded.slice();
  unknown[13] = 9; // the first entry's suite id (u16 at 12..13)
  assert.throws(
    () => decodeIdentitySeeds(nodeProvider, unknown),
    (error: unknown) => NanoError.is(error, "unknown_suite"),
  );
  // The hybrid entry relabelled classical: its composite seed is not an Ed25519 tagged key.
  const relabelled = encoded.slice();
  relabelled[13] = SUITE_IDS.classical;
  assert.throws(() => decodeIdentitySeeds(nodeProvider, relabelled), NanoError);
});

test("two identities never share a seed or a fingerprint", async () => {
  const a = await generateIdentitySeeds(nodeProvider, "hybrid");
  const b = await generateIdentitySeeds(nodeProvider, "hybrid");
  assert.notDeepEqual(a.suites[0]!.signature, b.suites[0]!.signature);
  assert.notEqual(await identityFingerprint(nodeProvider, a), await identityFingerprint(nodeProvider, b));
  assert.notDeepEqual(a.device, b.device);
});

test("the page's provider generates seeds the Node provider opens to the same fingerprints", async () => {
  const web = await createWebProvider({ use: "noble" });
  const seeds = await generateIdentitySeeds(web, "classical");
  const decoded = decodeIdentitySeeds(nodeProvider, encodeIdentitySeeds(web, seeds));
  assert.deepEqual(decoded, seeds);
  assert.equal(await identityFingerprint(nodeProvider, decoded), await identityFingerprint(web, seeds));
  assert.equal(await deviceFingerprint(nodeProvider, decoded), await deviceFingerprint(web, seeds));
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
