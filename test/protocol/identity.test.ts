import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { getSuite, randomBytes, SUITE_IDS } from "../../src/crypto/index.ts";
import { allLabels, PREFIX_EXCEPTIONS } from "../../src/crypto/labels.ts";
import {
  createDevice,
  decodeDeviceCertificateExact,
  signDeviceChallenge,
  verifyDeviceCertificate,
  verifyDeviceChallenge,
} from "../../src/protocol/device-certificate.ts";
import {
  acceptedSuites,
  createIdentityRecord,
  decodeIdentityRecordExact,
  generateIdentityKeys,
} from "../../src/protocol/identity-record.ts";
import {
  signIdentityUpdate,
  signUsernameClaim,
  verifyIdentityUpdate,
  verifyUsernameClaim,
} from "../../src/protocol/username-claim.ts";
import { ALL_SUITES, assertCode, makeIdentity, mutations, NOW, onlyTypedErrors } from "./_fixtures.ts";

test("labels are unique and none is a prefix of another", () => {
  const labels = allLabels();
  assert.equal(new Set(labels).size, labels.length);
  for (const a of labels) {
    assert.match(a, /^nano\/v1\/[a-z0-9/-]+$/);
    for (const b of labels) {
      if (a === b || PREFIX_EXCEPTIONS.some(([x, y]) => x === a && y === b)) continue;
      assert.ok(!b.startsWith(a), `${a} is a prefix of ${b}`);
    }
  }
});

test("identity records round-trip byte-exactly for every preferred mode", () => {
  for (const preferred of ALL_SUITES) {
    const alice = makeIdentity("alice", preferred);
    const again = decodeIdentityRecordExact(alice.record.encoded);
    assert.deepEqual(again.encoded, alice.record.encoded);
    assert.deepEqual(again.hash, alice.record.hash);
    assert.equal(again.preferred, preferred);
    assert.deepEqual(acceptedSuites(again), [...acceptedSuites(alice.record)]);
  }
});

test("an identity record must be signed by every key it lists", () => {
  const keys = generateIdentityKeys("bob", [SUITE_IDS.hybrid, SUITE_IDS.quantum]);
  const record = createIdentityRecord(keys, SUITE_IDS.quantum, { created: NOW });
  // Replace the quantum signature with one over another body: stripping either suite's proof fails.
  const other = createIdentityRecord(keys, SUITE_IDS.quantum, { created: NOW + 1 });
  const forged = record.encoded.slice();
  const sigLength = getSuite(SUITE_IDS.quantum).signature.lengths.signature;
  forged.set(other.encoded.subarray(other.encoded.length - sigLength), forged.length - sigLength);
  assertCode(() => decodeIdentityRecordExact(forged), "invalid_signature");
});

test("identity record rejects bad usernames, preferred outside accepted, trailing bytes", () => {
  assertCode(() => generateIdentityKeys("Alice", [1]), "invalid_username");
  assertCode(() => generateIdentityKeys("", [1]), "invalid_username");
  assertCode(() => generateIdentityKeys("a".repeat(65), [1]), "invalid_username");
  const keys = generateIdentityKeys("carol", [SUITE_IDS.hybrid]);
  assertCode(() => createIdentityRecord(keys, SUITE_IDS.classical), "malformed");
  const record = createIdentityRecord(keys, SUITE_IDS.hybrid);
  assertCode(() => decodeIdentityRecordExact(new Uint8Array([...record.encoded, 0])), "trailing_bytes");
  const wrongVersion = record.encoded.slice();
  wrongVersion[1] = 2;
  assertCode(() => decodeIdentityRecordExact(wrongVersion), "unsupported_version");
});

test("identity record decoder: hostile input gives typed errors only (fuzz)", () => {
  const { record } = makeIdentity("dave", SUITE_IDS.classical);
  fc.assert(
    fc.property(mutations(record.encoded), (bytes) => {
      const outcome = onlyTypedErrors(() => decodeIdentityRecordExact(bytes));
      // A mutated record never verifies: every byte is covered by a signature or the hash framing.
      assert.notEqual(outcome, "ok");
    }),
    { numRuns: 1500 },
  );
});

test("device certificates verify against the record and bind user, key and validity", () => {
  for (const suiteId of ALL_SUITES) {
    const alice = makeIdentity("alice", suiteId, [suiteId]);
    const bob = makeIdentity("bob", suiteId, [suiteId]);
    const suite = getSuite(suiteId);
    const { deviceKey, certificate } = createDevice(alice.keys, suite, { created: NOW, expires: NOW + 1000 });
    const verified = verifyDeviceCertificate(certificate.encoded, alice.record, NOW);
    assert.deepEqual(verified.devicePublicKey, deviceKey.publicKey);
    assertCode(() => verifyDeviceCertificate(certificate.encoded, bob.record, NOW), "certificate_mismatch");
    assertCode(
      () => verifyDeviceCertificate(certificate.encoded, alice.record, NOW + 1000),
      "certificate_expired",
    );
    const tampered = certificate.encoded.slice();
    tampered[tampered.length - 100]! ^= 1;
    assertCode(() => verifyDeviceCertificate(tampered, alice.record, NOW), "invalid_signature");
    const challenge = randomBytes(32);
    const answer = signDeviceChallenge(suite, deviceKey.seed, "alice", challenge);
    assert.ok(verifyDeviceChallenge(certificate, challenge, answer));
    assert.ok(!verifyDeviceChallenge(certificate, randomBytes(32), answer));
    if (suiteId === SUITE_IDS.classical) {
      fc.assert(
        fc.property(mutations(certificate.encoded), (bytes) => {
          onlyTypedErrors(() => decodeDeviceCertificateExact(bytes));
          assert.notEqual(
            onlyTypedErrors(() => verifyDeviceCertificate(bytes, alice.record, NOW)),
            "ok",
          );
        }),
        { numRuns: 1000 },
      );
    }
  }
});

test("username claims: every identity key signs username, challenge and H(IR)", () => {
  const alice = makeIdentity("alice", SUITE_IDS.quantum);
  const challenge = randomBytes(32);
  const signature = signUsernameClaim(alice.keys, alice.record, challenge);
  assert.ok(verifyUsernameClaim(alice.record, "alice", challenge, signature));
  assert.ok(!verifyUsernameClaim(alice.record, "alice", randomBytes(32), signature));
  assert.ok(!verifyUsernameClaim(alice.record, "alicf", challenge, signature));
  assert.ok(!verifyUsernameClaim(alice.record, "alice", challenge, signature.subarray(1)));
  // A signature by only one of the two keys (the other replaced) fails.
  const partial = signature.slice();
  partial[10]! ^= 1;
  assert.ok(!verifyUsernameClaim(alice.record, "alice", challenge, partial));
  const other = makeIdentity("alice", SUITE_IDS.quantum);
  assert.ok(!verifyUsernameClaim(other.record, "alice", challenge, signature));
  fc.assert(
    fc.property(mutations(signature), (bytes) => {
      assert.equal(verifyUsernameClaim(alice.record, "alice", challenge, bytes), false);
    }),
    { numRuns: 300 },
  );
});

test("identity updates: signed by every current key, same user, greater version", () => {
  const alice = makeIdentity("alice", SUITE_IDS.classical);
  const nextKeys = generateIdentityKeys("alice", [SUITE_IDS.hybrid]);
  const next = createIdentityRecord(nextKeys, SUITE_IDS.hybrid, { recordVersion: 2, created: NOW });
  const signature = signIdentityUpdate(alice.keys, alice.record, next);
  verifyIdentityUpdate(alice.record, next, signature);
  const bad = signature.slice();
  bad[0]! ^= 1;
  assertCode(() => verifyIdentityUpdate(alice.record, next, bad), "invalid_signature");
  const sameVersion = createIdentityRecord(nextKeys, SUITE_IDS.hybrid, { recordVersion: 1, created: NOW });
  assertCode(
    () =>
      verifyIdentityUpdate(
        alice.record,
        sameVersion,
        signIdentityUpdate(alice.keys, alice.record, sameVersion),
      ),
    "certificate_mismatch",
  );
});
