// The relay's signature checks off the event loop (src/relay/verify): the worker pool and the inline
// slices give exactly what the protocol's verifier gives, typed errors included, stay bounded, and the
// inline mode really yields between keys.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NanoError } from "../../../src/errors/index.ts";
import { RelayBusyError } from "../../../src/relay/limits/busy.ts";
import { RelayMetrics } from "../../../src/relay/metrics.ts";
import { relayVerifier } from "../../../src/relay/protocol-verifier.ts";
import { InlineVerifier } from "../../../src/relay/verify/inline-verifier.ts";
import { type AsyncVerifier, createVerification } from "../../../src/relay/verify/verification.ts";
import { WorkerVerifier } from "../../../src/relay/verify/worker-verifier.ts";
import { testConfig } from "../fixtures/harness.ts";
import { TestIdentity } from "../fixtures/identities.ts";

const dave = await TestIdentity.create("dave");
const keys = await dave.oneTimePrekeys(40);
const upload = {
  bundle: await dave.bundle(),
  oneTimePrekeys: keys,
  identityRecord: dave.record,
  now: Date.now(),
};

async function code(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    return NanoError.is(error) ? error.code : String(error);
  }
  return "ok";
}

for (const [name, make] of [
  ["worker pool", () => new WorkerVerifier({ workers: 2, queue: 8 })],
  ["inline slices", () => new InlineVerifier(relayVerifier, 8)],
] as const) {
  describe(`verification: ${name}`, () => {
    let verify: AsyncVerifier;
    before(() => {
      verify = make();
    });
    after(() => verify.close());

    it("gives the protocol verifier's results, an upload split in slices included", async () => {
      assert.deepEqual(
        await verify.inspectPrekeyUpload(upload),
        await relayVerifier.inspectPrekeyUpload(upload),
      );
      assert.deepEqual(
        await verify.verifyIdentityRecord(dave.record),
        await relayVerifier.verifyIdentityRecord(dave.record),
      );
      const certificate = await dave.deviceCertificate(Date.now() + 60_000);
      const input = { certificate, identityRecord: dave.record, username: "dave", now: Date.now() };
      assert.deepEqual(
        await verify.verifyDeviceCertificate(input),
        await relayVerifier.verifyDeviceCertificate(input),
      );
    });

    it("keeps the protocol's typed errors, and the first bad key in order is the one reported", async () => {
      const broken = keys.map((key) => Uint8Array.from(key));
      broken[25]![broken[25]!.length - 1]! ^= 1;
      broken[33] = broken[33]!.subarray(0, 10);
      const expected = await code(
        Promise.resolve().then(() =>
          relayVerifier.inspectPrekeyUpload({ ...upload, oneTimePrekeys: broken }),
        ),
      );
      assert.notEqual(expected, "ok");
      assert.equal(await code(verify.inspectPrekeyUpload({ ...upload, oneTimePrekeys: broken })), expected);
      assert.equal(
        await code(verify.verifyIdentityRecord(new Uint8Array(3))),
        await code(Promise.resolve().then(() => relayVerifier.verifyIdentityRecord(new Uint8Array(3)))),
      );
    });

    it("admits at most `queue` verifications at once: the next gets relay_busy", async () => {
      const admitted = Array.from({ length: 8 }, () => verify.inspectPrekeyUpload(upload));
      await assert.rejects(verify.verifyIdentityRecord(dave.record), RelayBusyError);
      assert.equal(verify.pending, 8);
      await Promise.all(admitted);
      assert.equal(verify.pending, 0);
      await verify.verifyIdentityRecord(dave.record);
    });
  });
}

describe("verification: inline slices yield to the event loop between keys", () => {
  it("lets other callbacks run while an upload is checked", async () => {
    const verify = new InlineVerifier(relayVerifier, 8);
    let turns = 0;
    let checking = true;
    const spin = () => {
      if (!checking) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    await verify.inspectPrekeyUpload(upload);
    checking = false;
    assert.ok(turns >= keys.length / 2, `${turns} turns of the event loop during ${keys.length} keys`);
  });
});

describe("verification: which one the relay builds", () => {
  it("the worker pool for the protocol's verifier, inline for another or with verify_workers = 0", async () => {
    const metrics = new RelayMetrics();
    const pooled = createVerification(relayVerifier, testConfig({ limits: { verify_workers: 2 } }), metrics);
    assert.ok(pooled instanceof WorkerVerifier);
    await pooled.close();
    const inline = createVerification(
      relayVerifier,
      testConfig({ limits: { verify_workers: 0 } }),
      new RelayMetrics(),
    );
    assert.ok(inline instanceof InlineVerifier);
    const other = createVerification({ ...relayVerifier }, testConfig(), new RelayMetrics());
    assert.ok(other instanceof InlineVerifier);
    await assert.rejects(pooled.verifyIdentityRecord(dave.record), (error: unknown) =>
      NanoError.is(error, "relay_draining"),
    );
  });
});
