import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sweepOnce } from "../../src/relay/sweeper.ts";
import { b64, buildTestRelay, errorCode, fromB64, signUp, type TestRelay } from "./fixtures/harness.ts";
import { testEnvelope } from "./fixtures/identities.ts";

type Auth = { authorization: string };

/** Real hybrid envelopes come in padding buckets: 512-byte content is the largest this relay accepts. */
const AT_LIMIT = testEnvelope(new Uint8Array(300));
const OVER_LIMIT = testEnvelope(new Uint8Array(600));

describe("mailboxes over HTTP: send, poll, acknowledge", () => {
  let relay: TestRelay;
  let alice: Auth;
  let bob: Auth;
  let carol: Auth;
  before(async () => {
    relay = await buildTestRelay({
      // Tokens outlive the simulated day of the TTL test.
      security: { token_lifetime_seconds: 604_800 },
      limits: { max_envelope_bytes: AT_LIMIT.length, mailbox_max_messages: 5, message_ttl_days: 1 },
    });
    alice = (await signUp(relay.app, "alice")).auth;
    bob = (await signUp(relay.app, "bob")).auth;
    carol = (await signUp(relay.app, "carol")).auth;
  });
  after(async () => relay.close());

  const send = (from: Auth, to: string, id: string, envelope: Uint8Array = testEnvelope(id)) =>
    relay.app.inject({
      method: "POST",
      url: "/v1/messages",
      headers: from,
      payload: { to, client_message_id: id, envelope: b64(envelope) },
    });
  const poll = async (who: Auth, after = 0) => {
    const response = await relay.app.inject({
      method: "GET",
      url: `/v1/messages?after=${after}`,
      headers: who,
    });
    assert.equal(response.statusCode, 200, response.body);
    return (response.json() as { messages: { id: number; from: string; envelope: string }[] }).messages;
  };
  const ack = (who: Auth, ids: number[]) =>
    relay.app.inject({ method: "POST", url: "/v1/messages/ack", headers: who, payload: { ids } });
  const drain = async (who: Auth) => {
    const ids = (await poll(who)).map((m) => m.id);
    if (ids.length > 0) await ack(who, ids);
  };

  it("stores, delivers in per-sender order, and deletes only on the recipient's ack", async () => {
    const ids: number[] = [];
    for (const id of ["a1", "a2", "a3"]) {
      const response = await send(alice, "bob", id);
      assert.equal(response.statusCode, 201, response.body);
      ids.push(response.json().server_id);
    }
    const messages = await poll(bob);
    assert.deepEqual(
      messages.map((m) => m.id),
      ids,
    );
    assert.deepEqual(fromB64(messages[0]!.envelope), testEnvelope("a1"));
    assert.equal(messages[0]!.from, "alice");
    assert.deepEqual(
      (await poll(bob, ids[0])).map((m) => m.id),
      ids.slice(1),
    );
    const foreign = await ack(carol, ids);
    assert.equal(foreign.json().deleted, 0, "only the recipient can delete");
    assert.equal((await ack(bob, [ids[0]!])).json().deleted, 1);
    assert.equal((await poll(bob)).length, 2);
    await ack(bob, ids);
    assert.equal((await poll(bob)).length, 0);
  });

  it("is idempotent per client message id, even after delivery and ack", async () => {
    const first = await send(alice, "bob", "idem-1");
    assert.equal(first.statusCode, 201);
    const retry = await send(alice, "bob", "idem-1");
    assert.equal(retry.statusCode, 200);
    assert.deepEqual(retry.json(), { server_id: first.json().server_id, duplicate: true });
    await drain(bob);
    const late = await send(alice, "bob", "idem-1");
    assert.equal(late.json().server_id, first.json().server_id);
    assert.equal((await poll(bob)).length, 0, "a late retry is not delivered again");
    const conflict = await send(alice, "bob", "idem-1", testEnvelope("other content"));
    assert.equal(conflict.statusCode, 409);
    assert.equal(errorCode(conflict), "client_message_id_conflict");
  });

  it("refuses oversized envelopes with envelope_too_large and absurd bodies with body_too_large", async () => {
    assert.ok(OVER_LIMIT.length > AT_LIMIT.length);
    const atLimit = await send(alice, "bob", "size-ok", AT_LIMIT);
    assert.equal(atLimit.statusCode, 201, atLimit.body);
    const over = await send(alice, "bob", "size-over", OVER_LIMIT);
    assert.equal(over.statusCode, 413);
    assert.equal(errorCode(over), "envelope_too_large");
    const absurd = await relay.app.inject({
      method: "POST",
      url: "/v1/messages",
      headers: { ...alice, "content-type": "application/json" },
      payload: JSON.stringify({ to: "bob", client_message_id: "x", envelope: "A".repeat(100_000) }),
    });
    assert.equal(absurd.statusCode, 413);
    assert.equal(errorCode(absurd), "body_too_large");
    await drain(bob);
  });

  it("refuses envelopes below the minimum suite, with a bad header, or to nobody", async () => {
    assert.equal(
      errorCode(await send(alice, "bob", "classical", testEnvelope("x", { suite: 1 }))),
      "suite_below_minimum",
    );
    const v9 = testEnvelope("x");
    v9[0] = 9;
    assert.equal(errorCode(await send(alice, "bob", "v9", v9)), "unsupported_version");
    const suite9 = testEnvelope("x");
    suite9[2] = 9;
    assert.equal(errorCode(await send(alice, "bob", "suite9", suite9)), "unknown_suite");
    const whole = testEnvelope("x");
    assert.equal(errorCode(await send(alice, "bob", "short", whole.subarray(0, 2))), "truncated");
    const cut = await send(alice, "bob", "cut", whole.subarray(0, whole.length - 1));
    assert.equal(cut.statusCode, 400);
    assert.equal(errorCode(cut), "truncated");
    const nobody = await send(alice, "nobody", "n1");
    assert.equal(nobody.statusCode, 404);
    assert.equal(errorCode(nobody), "account_not_found");
  });

  it("refuses malformed requests with malformed_request", async () => {
    const cases: [string, string][] = [
      ["{", "application/json"],
      ['{"to":"bob"}', "application/json"],
      ['{"to":"bob","client_message_id":"bad id!","envelope":"AQAC"}', "application/json"],
      ['{"to":"bob","client_message_id":"ok","envelope":"%%%%"}', "application/json"],
      ['{"to":"bob","client_message_id":"ok","envelope":"AQAC","extra":1}', "application/json"],
      ['["array"]', "application/json"],
    ];
    for (const [payload, type] of cases) {
      const response = await relay.app.inject({
        method: "POST",
        url: "/v1/messages",
        headers: { ...alice, "content-type": type },
        payload,
      });
      assert.equal(response.statusCode, 400, payload);
      assert.equal(errorCode(response), "malformed_request", payload);
    }
    const binary = await relay.app.inject({
      method: "POST",
      url: "/v1/messages",
      headers: { ...alice, "content-type": "application/octet-stream" },
      payload: Buffer.from([0, 1, 2, 255]),
    });
    assert.equal(errorCode(binary), "unsupported_media_type");
    const badQuery = await relay.app.inject({ method: "GET", url: "/v1/messages?after=-1", headers: bob });
    assert.equal(errorCode(badQuery), "malformed_request");
    const badAck = await relay.app.inject({
      method: "POST",
      url: "/v1/messages/ack",
      headers: bob,
      payload: { ids: ["x"] },
    });
    assert.equal(errorCode(badAck), "malformed_request");
    const unauth = await relay.app.inject({
      method: "POST",
      url: "/v1/messages",
      payload: { to: "bob", client_message_id: "x", envelope: "AQAC" },
    });
    assert.equal(errorCode(unauth), "unauthenticated");
  });

  it("enforces the per-recipient quota with mailbox_full to the sender", async () => {
    for (let i = 0; i < 5; i++) assert.equal((await send(alice, "carol", `q${i}`)).statusCode, 201);
    const full = await send(alice, "carol", "q5");
    assert.equal(full.statusCode, 507);
    assert.equal(errorCode(full), "mailbox_full");
    assert.equal((await poll(carol)).length, 5, "nothing was dropped or over-stored");
    await drain(carol);
    assert.equal(
      (await send(alice, "carol", "q5")).statusCode,
      201,
      "the same id succeeds once there is room",
    );
    await drain(carol);
  });

  it("expires messages after the TTL through the sweeper (injectable clock)", async () => {
    const sent = await send(alice, "bob", "ttl-1");
    assert.equal(sent.statusCode, 201);
    relay.clock.advance(86_400_000 - 1000);
    assert.equal((await sweepOnce(relay.context)).messages, 0);
    assert.equal((await poll(bob)).length, 1);
    relay.clock.advance(2000);
    assert.equal((await poll(bob)).length, 0, "expired messages are not delivered");
    assert.equal((await sweepOnce(relay.context)).messages, 1);
    const metrics = await relay.app.inject({ method: "GET", url: "/metrics" });
    assert.match(metrics.body, /nano_messages_expired_total 1/);
  });

  it("rate-limits sends per sender with 429 and Retry-After", async () => {
    const limited = await buildTestRelay({ limits: { rate: { sends_per_minute: 3 } } });
    try {
      const dave = (await signUp(limited.app, "dave")).auth;
      await signUp(limited.app, "erin");
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const response = await limited.app.inject({
          method: "POST",
          url: "/v1/messages",
          headers: dave,
          payload: { to: "erin", client_message_id: `r${i}`, envelope: b64(testEnvelope("x")) },
        });
        codes.push(response.statusCode);
        if (response.statusCode === 429) {
          assert.equal(errorCode(response), "rate_limited");
          assert.ok(Number(response.headers["retry-after"]) >= 1);
        }
      }
      assert.deepEqual(codes, [201, 201, 201, 429, 429]);
    } finally {
      await limited.close();
    }
  });

  it("caps one poll answer by bytes when envelopes may be large", async () => {
    const big = await buildTestRelay({ limits: { max_envelope_bytes: 4 * 1024 * 1024 } });
    try {
      const erin = (await signUp(big.app, "erin")).auth;
      const frank = (await signUp(big.app, "frank")).auth;
      for (const id of ["p1", "p2", "p3"]) {
        const sent = await big.app.inject({
          method: "POST",
          url: "/v1/messages",
          headers: erin,
          payload: { to: "frank", client_message_id: id, envelope: b64(testEnvelope(id)) },
        });
        assert.equal(sent.statusCode, 201);
      }
      const first = await big.app.inject({ method: "GET", url: "/v1/messages?limit=100", headers: frank });
      const page = first.json().messages as { id: number }[];
      assert.equal(page.length, 2, "8 MiB budget / 4 MiB envelopes");
      const rest = await big.app.inject({
        method: "GET",
        url: `/v1/messages?after=${page[1]!.id}`,
        headers: frank,
      });
      assert.equal(rest.json().messages.length, 1);
    } finally {
      await big.close();
    }
  });

  it("keys per-address limits on X-Forwarded-For only behind a TLS proxy", async () => {
    for (const proxied of [false, true]) {
      const relay2 = await buildTestRelay({
        server: { behind_tls_proxy: proxied },
        limits: { rate: { claims_per_hour: 2 } },
      });
      try {
        const codes: number[] = [];
        for (let i = 0; i < 3; i++) {
          const response = await relay2.app.inject({
            method: "POST",
            url: "/v1/challenges",
            headers: { "x-forwarded-for": `203.0.113.${i}` },
            payload: { purpose: "claim", username: `user${i}` },
          });
          codes.push(response.statusCode);
        }
        assert.deepEqual(codes, proxied ? [200, 200, 200] : [200, 200, 429]);
      } finally {
        await relay2.close();
      }
    }
  });
});
