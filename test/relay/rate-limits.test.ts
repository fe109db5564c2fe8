// The login limit (limits.rate.auth_per_minute, per address and username) and the per-requester
// bundle-fetch limit (limits.rate.bundle_fetches_per_minute): both refuse with 429 rate_limited and a
// Retry-After, count failed attempts too, and a refused fetch consumes no one-time prekey.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { b64, buildTestRelay, claim, errorCode, fromB64, type TestRelay } from "./fixtures/harness.ts";
import { TestIdentity } from "./fixtures/identities.ts";

const AUTH_PER_MINUTE = 3;
const FETCHES_PER_MINUTE = 4;

function assertLimited(response: LightMyRequestResponse): void {
  assert.equal(response.statusCode, 429, response.body);
  assert.equal(errorCode(response), "rate_limited");
  assert.ok(Number(response.headers["retry-after"]) >= 1);
}

describe("rate limits: logins and bundle fetches per requester", () => {
  let relay: TestRelay;
  before(async () => {
    relay = await buildTestRelay({
      limits: {
        rate: {
          auth_per_minute: AUTH_PER_MINUTE,
          bundle_fetches_per_minute: FETCHES_PER_MINUTE,
          bundle_fetches_per_target_per_minute: 1000,
        },
      },
    });
  });
  after(async () => relay.close());

  // Every request names its client address (inject's remoteAddress; behind_tls_proxy is off), so each
  // scenario spends only its own addresses' budgets. `auth_per_minute` counts login challenges per
  // address AND login attempts per (address, username).
  let spare = 0;
  const freshAddress = () => `10.9.${Math.floor(spare / 250)}.${(spare++ % 250) + 1}`;

  const authChallenge = async (username: string, address = freshAddress()) =>
    relay.app.inject({
      method: "POST",
      url: "/v1/challenges",
      remoteAddress: address,
      payload: { purpose: "auth", username },
    });

  const attemptLogin = async (user: TestIdentity, address: string, forged = false) => {
    const issued = await authChallenge(user.username);
    assert.equal(issued.statusCode, 200, issued.body);
    const c = fromB64((issued.json() as { challenge: string }).challenge);
    const signature = await user.authSignature(c);
    if (forged) signature[signature.length - 1]! ^= 1;
    return relay.app.inject({
      method: "POST",
      url: "/v1/auth/token",
      remoteAddress: address,
      payload: {
        username: user.username,
        challenge: b64(c),
        device_certificate: b64(await user.deviceCertificate(Date.now() + 86_400_000)),
        signature: b64(signature),
      },
    });
  };

  const account = async (
    username: string,
  ): Promise<{ user: TestIdentity; auth: { authorization: string } }> => {
    const user = await TestIdentity.create(username);
    assert.equal((await claim(relay.app, user)).statusCode, 201);
    const response = await attemptLogin(user, freshAddress());
    assert.equal(response.statusCode, 200, response.body);
    return { user, auth: { authorization: `Bearer ${(response.json() as { token: string }).token}` } };
  };

  it("refuses the login after auth_per_minute attempts for one address and username", async () => {
    const alice = await TestIdentity.create("alice");
    const bob = await TestIdentity.create("bob");
    for (const user of [alice, bob]) assert.equal((await claim(relay.app, user)).statusCode, 201);
    const address = "10.1.0.1";
    for (let i = 0; i < AUTH_PER_MINUTE; i++)
      assert.equal((await attemptLogin(alice, address)).statusCode, 200);
    // A correct answer is refused too: the limit is checked before any verification.
    assertLimited(await attemptLogin(alice, address));
    // Keyed per (address, username): bob from the same address, and alice elsewhere, still log in.
    assert.equal((await attemptLogin(bob, address)).statusCode, 200);
    assert.equal((await attemptLogin(alice, "10.1.0.2")).statusCode, 200);
  });

  it("counts failed logins: guessing signatures exhausts the limit for that address", async () => {
    const carol = await TestIdentity.create("carol");
    assert.equal((await claim(relay.app, carol)).statusCode, 201);
    const address = "10.2.0.1";
    for (let i = 0; i < AUTH_PER_MINUTE; i++) {
      const forged = await attemptLogin(carol, address, true);
      assert.equal(forged.statusCode, 401, forged.body);
    }
    assertLimited(await attemptLogin(carol, address));
  });

  it("limits login challenges per address", async () => {
    const address = "10.3.0.1";
    for (let i = 0; i < AUTH_PER_MINUTE; i++)
      assert.equal((await authChallenge("alice", address)).statusCode, 200);
    assertLimited(await authChallenge("alice", address));
    assertLimited(await authChallenge("bob", address));
  });

  it("limits bundle fetches per requester across targets, without burning one-time keys", async () => {
    const dave = await account("dave");
    const erin = await account("erin");
    const frank = await account("frank");
    const gina = await account("gina");
    for (const owner of [dave, erin]) {
      const upload = await relay.app.inject({
        method: "PUT",
        url: "/v1/prekeys",
        headers: owner.auth,
        payload: {
          bundle: b64(await owner.user.bundle()),
          one_time_prekeys: (await owner.user.oneTimePrekeys(10)).map(b64),
        },
      });
      assert.equal(upload.statusCode, 200, upload.body);
    }
    const fetch = (who: typeof frank, target: string) =>
      relay.app.inject({ method: "GET", url: `/v1/prekeys/${target}`, headers: who.auth });
    // Alternating targets: a per-target limit (1000 here) is not what stops frank.
    for (let i = 0; i < FETCHES_PER_MINUTE; i++) {
      assert.equal((await fetch(frank, i % 2 === 0 ? "dave" : "erin")).statusCode, 200);
    }
    const count = async (owner: typeof dave) =>
      (await relay.app.inject({ method: "GET", url: "/v1/prekeys", headers: owner.auth })).json()
        .one_time_count;
    const daveBefore = await count(dave);
    assertLimited(await fetch(frank, "dave"));
    assertLimited(await fetch(frank, "erin"));
    assert.equal(await count(dave), daveBefore, "a refused fetch consumed no one-time key");
    // Another requester is unaffected.
    assert.equal((await fetch(gina, "dave")).statusCode, 200);
    assert.equal(await count(dave), daveBefore - 1);
  });
});
