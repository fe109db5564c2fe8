import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { randomBytes, SUITE_IDS } from "../../src/crypto/index.ts";
import { allLabels, PREFIX_EXCEPTIONS } from "../../src/crypto/labels.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
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

test("identity records round-trip byte-exactly for every preferred mode", async () => {
  for (const preferred of ALL_SUITES) {
    const alice = await makeIdentity("alice", preferred);
    const again = await decodeIdentityRecordExact(provider, alice.record.encoded);
    assert.deepEqual(again.encoded, alice.record.encoded);
    assert.deepEqual(again.hash, alice.record.hash);
    assert.equal(again.preferred, preferred);
    assert.deepEqual(acceptedSuites(again), [...acceptedSuites(alice.record)]);
  }
});

test("an identity record must be signed by every key it lists", async () => {
  const keys = await generateIdentityKeys(provider, "bob", [SUITE_IDS.hybrid, SUITE_IDS.quantum]);
  const record = await createIdentityRecord(provider, keys, SUITE_IDS.quantum, { created: NOW });
  // Replace the quantum signature with one over another body: stripping either suite's proof fails.
  const other = await createIdentityRecord(provider, keys, SUITE_IDS.quantum, { created: NOW + 1 });
  const forged = record.encoded.slice();
  const sigLength = provider.suite(SUITE_IDS.quantum).signature.lengths.signature;
  forged.set(other.encoded.subarray(other.encoded.length - sigLength), forged.length - sigLength);
  await assertCode(async () => await decodeIdentityRecordExact(provider, forged), "invalid_signature");
});

test("identity record rejects bad usernames, preferred outside accepted, trailing bytes", async () => {
  await assertCode(async () => await generateIdentityKeys(provider, "Alice", [1]), "invalid_username");
  await assertCode(async () => await generateIdentityKeys(provider, "", [1]), "invalid_username");
  await assertCode(async () => await generateIdentityKeys(provider, "a".repeat(65), [1]), "invalid_username");
  const keys = await generateIdentityKeys(provider, "carol", [SUITE_IDS.hybrid]);
  await assertCode(async () => await createIdentityRecord(provider, keys, SUITE_IDS.classical), "malformed");
  const record = await createIdentityRecord(provider, keys, SUITE_IDS.hybrid);
  await assertCode(
    async () => await decodeIdentityRecordExact(provider, new Uint8Array([...record.encoded, 0])),
    "trailing_bytes",
  );
  const wrongVersion = record.encoded.slice();
  wrongVersion[1] = 2;
  await assertCode(
    async () => await decodeIdentityRecordExact(provider, wrongVersion),
    "unsupported_version",
  );
});

test("identity record decoder: hostile input gives typed errors only (fuzz)", async () => {
  const { record } = await makeIdentity("dave", SUITE_IDS.classical);
  await fc.assert(
    fc.asyncProperty(mutations(record.encoded), async (bytes) => {
      const outcome = await onlyTypedErrors(async () => await decodeIdentityRecordExact(provider, bytes));
      // A mutated record never verifies: every byte is covered by a signature or the hash framing.
      assert.notEqual(outcome, "ok");
    }),
    { numRuns: 1500 },
  );
});

test("device certificates verify against the record and bind user, key and validity", async () => {
  for (const suiteId of ALL_SUITES) {
    const alice = await makeIdentity("alice", suiteId, [suiteId]);
    const bob = await makeIdentity("bob", suiteId, [suiteId]);
    const suite = provider.suite(suiteId);
    const { deviceKey, certificate } = await createDevice(provider, alice.keys, suite, {
      created: NOW,
      expires: NOW + 1000,
    });
    const verified = await verifyDeviceCertificate(provider, certificate.encoded, alice.record, NOW);
    assert.deepEqual(verified.devicePublicKey, deviceKey.publicKey);
    await assertCode(
      async () => await verifyDeviceCertificate(provider, certificate.encoded, bob.record, NOW),
      "certificate_mismatch",
    );
    await assertCode(
      async () => await verifyDeviceCertificate(provider, certificate.encoded, alice.record, NOW + 1000),
      "certificate_expired",
    );
    const tampered = certificate.encoded.slice();
    tampered[tampered.length - 100]! ^= 1;
    await assertCode(
      async () => await verifyDeviceCertificate(provider, tampered, alice.record, NOW),
      "invalid_signature",
    );
    const challenge = randomBytes(32);
    const answer = await signDeviceChallenge(suite, deviceKey.seed, "alice", challenge);
    assert.ok(await verifyDeviceChallenge(certificate, challenge, answer));
    assert.ok(!(await verifyDeviceChallenge(certificate, randomBytes(32), answer)));
    if (suiteId === SUITE_IDS.classical) {
      await fc.assert(
        fc.asyncProperty(mutations(certificate.encoded), async (bytes) => {
          await onlyTypedErrors(() => decodeDeviceCertificateExact(provider, bytes));
          assert.notEqual(
            await onlyTypedErrors(
              async () => await verifyDeviceCertificate(provider, bytes, alice.record, NOW),
            ),
            "ok",
          );
        }),
        { numRuns: 1000 },
      );
    }
  }
});

test("username claims: every identity key signs username, challenge and H(IR)", async () => {
  const alice = await makeIdentity("alice", SUITE_IDS.quantum);
  const challenge = randomBytes(32);
  const signature = await signUsernameClaim(alice.keys, alice.record, challenge);
  assert.ok(await verifyUsernameClaim(alice.record, "alice", challenge, signature));
  assert.ok(!(await verifyUsernameClaim(alice.record, "alice", randomBytes(32), signature)));
  assert.ok(!(await verifyUsernameClaim(alice.record, "alicf", challenge, signature)));
  assert.ok(!(await verifyUsernameClaim(alice.record, "alice", challenge, signature.subarray(1))));
  // A signature by only one of the two keys (the other replaced) fails.
  const partial = signature.slice();
  partial[10]! ^= 1;
  assert.ok(!(await verifyUsernameClaim(alice.record, "alice", challenge, partial)));
  const other = await makeIdentity("alice", SUITE_IDS.quantum);
  assert.ok(!(await verifyUsernameClaim(other.record, "alice", challenge, signature)));
  await fc.assert(
    fc.asyncProperty(mutations(signature), async (bytes) => {
      assert.equal(await verifyUsernameClaim(alice.record, "alice", challenge, bytes), false);
    }),
    { numRuns: 300 },
  );
});

test("identity updates: signed by every current key, same user, greater version", async () => {
  const alice = await makeIdentity("alice", SUITE_IDS.classical);
  const nextKeys = await generateIdentityKeys(provider, "alice", [SUITE_IDS.hybrid]);
  const next = await createIdentityRecord(provider, nextKeys, SUITE_IDS.hybrid, {
    recordVersion: 2,
    created: NOW,
  });
  const signature = await signIdentityUpdate(alice.keys, alice.record, next);
  await verifyIdentityUpdate(alice.record, next, signature);
  const bad = signature.slice();
  bad[0]! ^= 1;
  await assertCode(async () => await verifyIdentityUpdate(alice.record, next, bad), "invalid_signature");
  const sameVersion = await createIdentityRecord(provider, nextKeys, SUITE_IDS.hybrid, {
    recordVersion: 1,
    created: NOW,
  });
  await assertCode(
    async () =>
      await verifyIdentityUpdate(
        alice.record,
        sameVersion,
        await signIdentityUpdate(alice.keys, alice.record, sameVersion),
      ),
    "certificate_mismatch",
  );
});
