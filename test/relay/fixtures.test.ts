import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { decodeBundleExact } from "../../src/protocol/bundle.ts";
import { createDevice, decodeDeviceCertificateExact } from "../../src/protocol/device-certificate.ts";
import { decodeEnvelope, ENVELOPE_TYPES, maxEnvelopeLength } from "../../src/protocol/envelope.ts";
import { relayVerifier } from "../../src/relay/protocol-verifier.ts";
import { envelopeMarker, TestIdentity, testEnvelope } from "./fixtures/identities.ts";

/**
 * The relay's test fixtures must produce exactly what src/protocol produces: if the protocol's
 * formats change, these fail before the relay's tests start testing a stale format.
 */
describe("relay test fixtures are real protocol objects", () => {
  it("certificates match createDevice's encoding for the same inputs", async () => {
    const user = await TestIdentity.create("fixture", { suites: [1, 2, 3], preferred: 2 });
    const created = Date.now() - 10_000;
    const expires = created + 86_400_000;
    const reference = await createDevice(provider, user.keys, user.suite, { created, expires, deviceId: 7 });
    const ours = decodeDeviceCertificateExact(
      provider,
      await user.deviceCertificate(expires, {
        devicePublicKey: reference.deviceKey.publicKey,
        created,
        deviceId: 7,
      }),
    );
    const body = (encoded: Uint8Array, signature: Uint8Array) =>
      encoded.subarray(0, encoded.length - signature.length);
    assert.deepEqual(
      body(ours.encoded, ours.signature),
      body(reference.certificate.encoded, reference.certificate.signature),
    );
  });

  it("bundles are base bundles of the right shape in every suite", async () => {
    for (const suite of [1, 2, 3] as const) {
      const user = await TestIdentity.create(`b${suite}`, { suites: [suite] });
      const bundle = await decodeBundleExact(provider, await user.bundle());
      assert.equal(bundle.suite.id, suite);
      assert.equal(bundle.signedDh !== null, provider.suite(suite).agreement !== null);
      assert.equal(bundle.pq?.lastResort ?? null, provider.suite(suite).ratchetKem ? true : null);
      assert.equal(bundle.oneTimeDh, null);
      const inspected = await relayVerifier.inspectPrekeyUpload({
        bundle: await user.bundle(),
        oneTimePrekeys: await user.oneTimePrekeys(1),
        identityRecord: user.record,
        now: Date.now(),
      });
      assert.equal(inspected.bundle?.postQuantum, suite !== 1);
    }
  });

  it("envelopes have the suite's real sizes (docs/protocol.md §9.3) and read back", () => {
    // Overheads from the §9.3 table: classical and hybrid type 2, quantum type 3.
    for (const [suite, overhead, type] of [
      [1, 93, ENVELOPE_TYPES.message],
      [2, 93, ENVELOPE_TYPES.message],
      [3, 2333, ENVELOPE_TYPES.messageKem],
    ] as const) {
      const small = testEnvelope("marker", { suite });
      assert.equal(small.length, overhead + 256);
      assert.equal(decodeEnvelope(provider, small).type, type);
      assert.equal(envelopeMarker(small), "marker");
      const largest = testEnvelope(new Uint8Array(32_764), { suite });
      assert.equal(largest.length, maxEnvelopeLength(provider.suite(suite), type));
    }
    assert.deepEqual(testEnvelope("same"), testEnvelope("same"));
    assert.notDeepEqual(testEnvelope("one"), testEnvelope("two"));
  });
});
