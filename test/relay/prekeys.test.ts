import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SuiteId } from "../../src/crypto/index.ts";
import { encodeBundle } from "../../src/protocol/bundle.ts";
import { b64, buildTestRelay, errorCode, fromB64, signUp, type TestRelay } from "./fixtures/harness.ts";
import type { TestIdentity } from "./fixtures/identities.ts";

describe("prekeys: upload, fetch once, last resort, policy", () => {
  let relay: TestRelay;
  let bob: { user: TestIdentity; auth: { authorization: string } };
  let alice: { user: TestIdentity; auth: { authorization: string } };
  before(async () => {
    relay = await buildTestRelay({
      security: { key_rotation_days: 30 },
      limits: { rate: { bundle_fetches_per_target_per_minute: 40 } },
    });
    // bob accepts every suite, so he can make (policy-violating) classical bundles and quantum keys.
    bob = await signUp(relay.app, "bob", { suites: [1, 2, 3], preferred: 2 });
    alice = await signUp(relay.app, "alice");
  });
  after(async () => relay.close());

  const upload = (who: typeof bob, payload: object) =>
    relay.app.inject({ method: "PUT", url: "/v1/prekeys", headers: who.auth, payload });
  const fetchBundle = (who: typeof bob, target: string) =>
    relay.app.inject({ method: "GET", url: `/v1/prekeys/${target}`, headers: who.auth });

  it("refuses one-time keys before any bundle and fetches of a user without one", async () => {
    const response = await upload(bob, { one_time_prekeys: (await bob.user.oneTimePrekeys(1)).map(b64) });
    assert.equal(errorCode(response), "prekeys_not_found");
    assert.equal(errorCode(await fetchBundle(alice, "bob")), "prekeys_not_found");
  });

  it("hands each one-time key out exactly once, then the last-resort key", async () => {
    const bundle = await bob.user.bundle();
    const keys = await bob.user.oneTimePrekeys(3);
    const response = await upload(bob, { bundle: b64(bundle), one_time_prekeys: keys.map(b64) });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { one_time_count: 3, one_time_counts: { "2": 3 } });
    const seen = new Set<string>();
    let lastResort = "";
    for (let i = 0; i < 5; i++) {
      const fetched = await fetchBundle(alice, "bob");
      assert.equal(fetched.statusCode, 200);
      const body = fetched.json() as {
        bundle: string;
        one_time_prekey: string | null;
        last_resort_prekey: string;
        suite: number;
      };
      assert.deepEqual(fromB64(body.bundle), bundle);
      assert.equal(body.suite, 2);
      lastResort = body.last_resort_prekey;
      if (body.one_time_prekey !== null) {
        assert.ok(!seen.has(body.one_time_prekey), "a one-time key was handed out twice");
        seen.add(body.one_time_prekey);
      }
    }
    assert.equal(seen.size, 3);
    assert.deepEqual([...seen].sort(), keys.map(b64).sort());
    assert.ok(lastResort.length > 0);
    const count = await relay.app.inject({ method: "GET", url: "/v1/prekeys", headers: bob.auth });
    assert.equal(count.json().one_time_count, 0, "the owner sees the low count and refills");
    const refill = await upload(bob, { one_time_prekeys: (await bob.user.oneTimePrekeys(2)).map(b64) });
    assert.deepEqual(refill.json(), { one_time_count: 2, one_time_counts: { "2": 2 } });
  });

  it("flags a signed prekey older than key_rotation_days", async () => {
    await upload(bob, { bundle: b64(await bob.user.bundle({ created: relay.clock.now() })) });
    const fresh = await relay.app.inject({ method: "GET", url: "/v1/prekeys", headers: bob.auth });
    assert.equal(fresh.json().rotation_due, false);
    // Signed prekeys are valid for 30 days by default (§6.1); this one was signed for longer.
    const old = relay.clock.now() - 31 * 86_400_000;
    const stillValid = await upload(bob, {
      bundle: b64(await bob.user.bundle({ created: old, expires: relay.clock.now() + 86_400_000 })),
    });
    assert.equal(stillValid.statusCode, 200, stillValid.body);
    const stale = await relay.app.inject({ method: "GET", url: "/v1/prekeys", headers: bob.auth });
    assert.equal(stale.json().rotation_due, true);
    assert.equal(stale.json().signed_prekey_age_days, 31);
  });

  it("rejects bundles below the minimum suite or without post-quantum keys", async () => {
    const classical = await upload(bob, { bundle: b64(await bob.user.bundle({ suite: 1 })) });
    assert.equal(classical.statusCode, 400);
    assert.equal(errorCode(classical), "suite_below_minimum");
    const unknown = encodeBundle(9 as SuiteId, bob.user.identityRecord, null, null, null);
    const unknownSuite = await upload(bob, { bundle: b64(unknown) });
    assert.equal(unknownSuite.statusCode, 400);
    assert.equal(errorCode(unknownSuite), "unknown_suite");
  });

  it("rejects prekeys signed by someone else, tampered, expired, or of another suite", async () => {
    // alice's valid bundle, bound to alice's record (H(IR) in every prekey signature, §6.1).
    const foreign = await upload(bob, { bundle: b64(await alice.user.bundle()) });
    assert.equal(foreign.statusCode, 409);
    assert.equal(errorCode(foreign), "stale_identity_record");
    const tampered = await bob.user.bundle();
    tampered[tampered.length - 2]! ^= 1; // inside the last prekey's signature
    const tamperedUpload = await upload(bob, { bundle: b64(tampered) });
    assert.equal(tamperedUpload.statusCode, 400);
    assert.equal(errorCode(tamperedUpload), "invalid_signature");
    const expired = await upload(bob, {
      bundle: b64(
        await bob.user.bundle({
          created: relay.clock.now() - 2 * 86_400_000,
          expires: relay.clock.now() - 1,
        }),
      ),
    });
    assert.equal(expired.statusCode, 400);
    assert.equal(errorCode(expired), "prekey_expired");
    // Quantum one-time keys while bob has only a hybrid bundle: no fetch could ever hand them out.
    const mixed = await upload(bob, { one_time_prekeys: (await bob.user.oneTimePrekeys(1, 3)).map(b64) });
    assert.equal(mixed.statusCode, 400);
    assert.equal(errorCode(mixed), "one_time_prekey_suite_mismatch");
    const foreignKey = await upload(bob, { one_time_prekeys: (await alice.user.oneTimePrekeys(1)).map(b64) });
    assert.equal(errorCode(foreignKey), "invalid_signature");
    const truncated = await upload(bob, { bundle: b64((await bob.user.bundle()).subarray(0, 10)) });
    assert.equal(truncated.statusCode, 400);
    assert.equal(errorCode(truncated), "truncated");
  });

  it("bounds uploads: empty body, too many keys, non-base64", async () => {
    assert.equal(errorCode(await upload(bob, {})), "malformed_request");
    const many = await upload(bob, { one_time_prekeys: Array.from({ length: 201 }, () => "AA==") });
    assert.equal(errorCode(many), "malformed_request");
    assert.equal(errorCode(await upload(bob, { bundle: "not base64!" })), "malformed_request");
  });

  it("past the per-target rate, serves the bundle without a one-time key instead of refusing", async () => {
    const carol = await signUp(relay.app, "carol");
    const upload60 = await upload(bob, { one_time_prekeys: (await bob.user.oneTimePrekeys(60)).map(b64) });
    assert.equal(upload60.statusCode, 200, upload60.body);
    let oneTime = 0;
    for (let i = 0; i < 60; i++) {
      const response = await fetchBundle(i % 2 === 0 ? carol : alice, "bob");
      // Never 429 for the target's sake: that would lock innocent requesters out of first contact.
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(typeof response.json().last_resort_prekey, "string");
      if (response.json().one_time_prekey !== null) oneTime++;
    }
    assert.ok(oneTime > 0 && oneTime <= 40, `${oneTime} one-time keys handed out`);
  });
});
