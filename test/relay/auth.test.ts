import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { relayVerifier } from "../../src/relay/protocol-verifier.ts";
import {
  b64,
  buildTestRelay,
  challenge,
  claim,
  errorCode,
  login,
  type TestRelay,
} from "./fixtures/harness.ts";
import { TestIdentity } from "./fixtures/identities.ts";

describe("auth: device-key challenge-response and tokens", () => {
  let relay: TestRelay;
  let alice: TestIdentity;
  before(async () => {
    relay = await buildTestRelay({ security: { token_lifetime_seconds: 60 } });
    alice = await TestIdentity.create("alice");
    assert.equal((await claim(relay.app, alice)).statusCode, 201);
  });
  after(async () => relay.close());

  const tokenRequest = async (fields: Partial<Record<string, string>>, user = alice) => {
    const c = await challenge(relay.app, "auth", user.username);
    return relay.app.inject({
      method: "POST",
      url: "/v1/auth/token",
      payload: {
        username: user.username,
        challenge: b64(c),
        device_certificate: b64(await user.deviceCertificate(Date.now() + 3_600_000)),
        signature: b64(await user.authSignature(c)),
        ...fields,
      },
    });
  };
  const me = (token: string) =>
    relay.app.inject({ method: "GET", url: "/v1/prekeys", headers: { authorization: `Bearer ${token}` } });

  it("issues a token that authenticates requests", async () => {
    const token = await login(relay.app, alice);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await me(token)).statusCode, 200);
    assert.ok(relay.audit.some((e) => e.type === "login" && e.username === "alice"));
  });

  it("refuses a response signed by the identity key instead of the device key", async () => {
    const c = await challenge(relay.app, "auth", "alice");
    const response = await relay.app.inject({
      method: "POST",
      url: "/v1/auth/token",
      payload: {
        username: "alice",
        challenge: b64(c),
        device_certificate: b64(await alice.deviceCertificate(Date.now() + 3_600_000)),
        signature: b64(await alice.authSignature(c, alice.identitySigningKey().seed)),
      },
    });
    assert.equal(response.statusCode, 401);
    assert.equal(errorCode(response), "signature_invalid");
  });

  it("refuses a certificate that makes the identity key a device key", async () => {
    const c = await challenge(relay.app, "auth", "alice");
    const response = await relay.app.inject({
      method: "POST",
      url: "/v1/auth/token",
      payload: {
        username: "alice",
        challenge: b64(c),
        device_certificate: b64(
          await alice.deviceCertificate(Date.now() + 3_600_000, {
            devicePublicKey: alice.identitySigningKey().publicKey,
          }),
        ),
        signature: b64(await alice.authSignature(c, alice.identitySigningKey().seed)),
      },
    });
    // docs/protocol.md §4.3: the device key must differ from every identity key of the record.
    assert.equal(response.statusCode, 401);
    assert.equal(errorCode(response), "certificate_mismatch");
  });

  it("refuses a certificate from another identity, an expired one, and a bad signature", async () => {
    const mallory = await TestIdentity.create("alice");
    const c = await challenge(relay.app, "auth", "alice");
    const foreign = await relay.app.inject({
      method: "POST",
      url: "/v1/auth/token",
      payload: {
        username: "alice",
        challenge: b64(c),
        device_certificate: b64(await mallory.deviceCertificate(Date.now() + 3_600_000)),
        signature: b64(await mallory.authSignature(c)),
      },
    });
    // The certificate's identity-key hash names mallory's key, not the one in alice's record.
    assert.equal(foreign.statusCode, 401);
    assert.equal(errorCode(foreign), "certificate_mismatch");
    const expired = await tokenRequest({
      device_certificate: b64(await alice.deviceCertificate(Date.now() - 1)),
    });
    assert.equal(expired.statusCode, 401);
    assert.equal(errorCode(expired), "certificate_expired");
    const forgedCertificate = await alice.deviceCertificate(Date.now() + 3_600_000);
    forgedCertificate[forgedCertificate.length - 1]! ^= 1;
    const forged = await tokenRequest({ device_certificate: b64(forgedCertificate) });
    assert.equal(forged.statusCode, 400);
    assert.equal(errorCode(forged), "invalid_signature");
    const bad = await tokenRequest({ signature: b64(new Uint8Array(64)) });
    assert.equal(errorCode(bad), "signature_invalid");
    const wrongLength = await tokenRequest({ signature: b64(new Uint8Array(3)) });
    assert.equal(errorCode(wrongLength), "signature_invalid");
  });

  it("refuses a replayed challenge-response", async () => {
    const c = await challenge(relay.app, "auth", "alice");
    const payload = {
      username: "alice",
      challenge: b64(c),
      device_certificate: b64(await alice.deviceCertificate(Date.now() + 3_600_000)),
      signature: b64(await alice.authSignature(c)),
    };
    assert.equal(
      (await relay.app.inject({ method: "POST", url: "/v1/auth/token", payload })).statusCode,
      200,
    );
    const replay = await relay.app.inject({ method: "POST", url: "/v1/auth/token", payload });
    assert.equal(replay.statusCode, 401);
    assert.equal(errorCode(replay), "challenge_invalid");
  });

  it("answers unknown users like bad signatures (no username oracle)", async () => {
    const ghost = await TestIdentity.create("ghost");
    const response = await tokenRequest({}, ghost);
    assert.equal(errorCode(response), "signature_invalid");
  });

  it("expires tokens (automatic logoff) and revokes them on logout", async () => {
    const token = await login(relay.app, alice);
    relay.clock.advance(61_000);
    const expired = await me(token);
    assert.equal(expired.statusCode, 401);
    assert.equal(errorCode(expired), "token_expired");
    const fresh = await login(relay.app, alice);
    const logout = await relay.app.inject({
      method: "DELETE",
      url: "/v1/auth/token",
      headers: { authorization: `Bearer ${fresh}` },
    });
    assert.equal(logout.statusCode, 204);
    assert.equal(errorCode(await me(fresh)), "unauthenticated");
  });

  it("caps a token's lifetime at the device certificate's expiry", async () => {
    const certExpiry = relay.clock.now() + 5_000;
    const c = await challenge(relay.app, "auth", "alice");
    const response = await relay.app.inject({
      method: "POST",
      url: "/v1/auth/token",
      payload: {
        username: "alice",
        challenge: b64(c),
        device_certificate: b64(await alice.deviceCertificate(certExpiry)),
        signature: b64(await alice.authSignature(c)),
      },
    });
    assert.equal(response.json().expires_at, certExpiry);
    relay.clock.advance(6_000);
    assert.equal(errorCode(await me(response.json().token)), "token_expired");
  });

  it("refuses missing, malformed and forged bearer tokens", async () => {
    for (const authorization of [
      undefined,
      "Basic abc",
      "Bearer",
      "Bearer short",
      `Bearer ${"A".repeat(43)}`,
      `Bearer ${"A".repeat(44)}`,
    ]) {
      const response = await relay.app.inject({
        method: "GET",
        url: "/v1/prekeys",
        ...(authorization === undefined ? {} : { headers: { authorization } }),
      });
      assert.equal(response.statusCode, 401, String(authorization));
      assert.equal(errorCode(response), "unauthenticated");
    }
    const metrics = await relay.app.inject({ method: "GET", url: "/metrics" });
    assert.match(metrics.body, /nano_auth_failures_total\{reason="unauthenticated"\} [1-9]/);
  });

  it("runs the protocol's real verifier with real hybrid (ML-DSA-65 + Ed25519) device signatures", async () => {
    assert.equal(relay.context.verifier, relayVerifier);
    const signature = await alice.authSignature(new Uint8Array(32));
    assert.equal(signature.length, alice.suite.signature.lengths.signature);
    assert.ok(signature.length > 3000, "a composite signature, not a bare Ed25519 one");
  });
});
