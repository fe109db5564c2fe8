import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { randomBytes, SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";
import { assembleBundle, decodeBundleExact, encodeBundle } from "../../src/protocol/bundle.ts";
import { createDevice, signDeviceChallenge } from "../../src/protocol/device-certificate.ts";
import { createIdentityRecord, generateIdentityKeys } from "../../src/protocol/identity-record.ts";
import { generatePrekey, PREKEY_ROLES } from "../../src/protocol/prekey.ts";
import { createRelayVerifier } from "../../src/protocol/relay-verifier.ts";
import { SELECTION } from "../../src/protocol/selection.ts";
import { signIdentityUpdate, signUsernameClaim } from "../../src/protocol/username-claim.ts";
import { receiveMessage, sendMessage, startSession } from "./_driver.ts";
import { ALL_SUITES, assertCode, mutations, NOW } from "./_fixtures.ts";
import { makeParty } from "./_parties.ts";

const relayVerifier = createRelayVerifier(provider);

test("relay flow: register, certify a device, log in, update the identity", async () => {
  const alice = await makeParty("alice", SUITE_IDS.quantum);
  const identity = await relayVerifier.verifyIdentityRecord(alice.record.encoded);
  assert.equal(identity.username, "alice");
  assert.deepEqual(identity.suites, [SUITE_IDS.hybrid, SUITE_IDS.quantum]);
  const challenge = randomBytes(32);
  const claim = await signUsernameClaim(alice.keys, alice.record, challenge);
  const input = {
    identity,
    identityRecord: alice.record.encoded,
    username: "alice",
    challenge,
    signature: claim,
  };
  assert.equal(await relayVerifier.verifyUsernameClaim(input), true);
  assert.equal(await relayVerifier.verifyUsernameClaim({ ...input, username: "bob" }), false);
  const { deviceKey, certificate } = await createDevice(
    provider,
    alice.keys,
    provider.suite(SUITE_IDS.hybrid),
    {
      created: NOW - 1,
    },
  );
  const device = await relayVerifier.verifyDeviceCertificate({
    certificate: certificate.encoded,
    identityRecord: alice.record.encoded,
    username: "alice",
    now: NOW,
  });
  const login = randomBytes(32);
  const answer = await signDeviceChallenge(provider.suite(SUITE_IDS.hybrid), deviceKey.seed, "alice", login);
  assert.equal(
    await relayVerifier.verifyChallengeResponse({
      device,
      username: "alice",
      challenge: login,
      signature: answer,
    }),
    true,
  );
  assert.equal(
    await relayVerifier.verifyChallengeResponse({
      device,
      username: "alicf",
      challenge: login,
      signature: answer,
    }),
    false,
  );
  assert.equal(
    await relayVerifier.verifyChallengeResponse({
      device,
      username: "alice",
      challenge: login,
      signature: answer.subarray(3),
    }),
    false,
  );
  const nextKeys = await generateIdentityKeys(provider, "alice", [SUITE_IDS.hybrid]);
  const next = await createIdentityRecord(provider, nextKeys, SUITE_IDS.hybrid, {
    recordVersion: 2,
    created: NOW,
  });
  const updated = await relayVerifier.verifyIdentityUpdate({
    current: alice.record.encoded,
    next: next.encoded,
    signature: await signIdentityUpdate(alice.keys, alice.record, next),
  });
  assert.equal(updated.version, 2);
});

for (const suiteId of ALL_SUITES) {
  test(`suite ${suiteId}: base bundle upload, one-time prekeys, assembled bundle starts a session`, async () => {
    const bob = await makeParty("bob", suiteId, [suiteId]);
    const suite = provider.suite(suiteId);
    const make = async (role: (typeof PREKEY_ROLES)[keyof typeof PREKEY_ROLES]) => {
      const secret = await generatePrekey(provider, bob.keys, bob.record, suiteId, role, {
        created: NOW - 1000,
      });
      void bob.stores.putPrekey(secret);
      return secret.prekey;
    };
    const signedDh = suite.agreement ? await make(PREKEY_ROLES.signedDh) : null;
    const lastResort = suite.ratchetKem ? await make(PREKEY_ROLES.pqLastResort) : null;
    const base = encodeBundle(suiteId, bob.record, signedDh, lastResort, null);
    const oneTime = [
      ...(suite.ratchetKem ? [(await make(PREKEY_ROLES.pqOneTime)).encoded] : []),
      ...(suite.agreement ? [(await make(PREKEY_ROLES.oneTimeDh)).encoded] : []),
    ];
    const inspection = await relayVerifier.inspectPrekeyUpload({
      bundle: base,
      oneTimePrekeys: oneTime,
      identityRecord: bob.record.encoded,
      now: NOW,
    });
    assert.equal(inspection.bundle?.postQuantum, suite.ratchetKem !== null);
    assert.equal(inspection.oneTimePrekeys.length, oneTime.length);
    assert.equal(new Set(inspection.oneTimePrekeys.map((p) => p.id)).size, oneTime.length);
    // A base bundle may not carry one-time keys; one-time keys may not be signed prekeys.
    const full = (await assembleBundle(provider, base, oneTime, NOW)).encoded;
    if (oneTime.length > 0) {
      await assertCode(
        async () =>
          await relayVerifier.inspectPrekeyUpload({
            bundle: full,
            oneTimePrekeys: [],
            identityRecord: bob.record.encoded,
            now: NOW,
          }),
        "prekey_mismatch",
      );
    }
    for (const [name, bundle] of [
      ["carol", base],
      ["dave", full],
    ] as const) {
      const a = await makeParty(name, suiteId, [suiteId]);
      await startSession(a.stores, bundle, SELECTION.default, { now: NOW });
      const envelope = await sendMessage(a.stores, "bob", utf8("via the relay"), { now: NOW });
      assert.equal(relayVerifier.inspectEnvelope(envelope).suite, suiteId);
      const got = await receiveMessage(bob.stores, name, envelope, { now: NOW });
      assert.equal(new TextDecoder().decode(got.content), "via the relay");
    }
    assert.equal((await decodeBundleExact(provider, full, NOW)).oneTimeDh !== null, suite.agreement !== null);
  });
}

test("relay verifier: hostile inputs give typed errors or false, never anything else", async () => {
  const bob = await makeParty("bob", SUITE_IDS.classical, [SUITE_IDS.classical]);
  const prekey = await generatePrekey(
    provider,
    bob.keys,
    bob.record,
    SUITE_IDS.classical,
    PREKEY_ROLES.oneTimeDh,
    {
      created: NOW - 1,
    },
  );
  const { certificate } = await createDevice(provider, bob.keys, provider.suite(SUITE_IDS.classical), {
    created: NOW - 1,
  });
  const typed = async (run: () => unknown) => {
    try {
      await run();
    } catch (error) {
      assert.ok(NanoError.is(error), String(error));
    }
  };
  await fc.assert(
    fc.asyncProperty(mutations(prekey.prekey.encoded), mutations(certificate.encoded), async (p, c) => {
      await typed(
        async () =>
          await relayVerifier.inspectPrekeyUpload({
            bundle: null,
            oneTimePrekeys: [p],
            identityRecord: bob.record.encoded,
            now: NOW,
          }),
      );
      await typed(
        async () =>
          await relayVerifier.verifyDeviceCertificate({
            certificate: c,
            identityRecord: bob.record.encoded,
            username: "bob",
            now: NOW,
          }),
      );
      await typed(() => relayVerifier.inspectEnvelope(p));
    }),
    { numRuns: 800 },
  );
});
