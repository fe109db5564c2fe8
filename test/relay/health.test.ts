import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { REDACTED_PATHS } from "../../src/relay/logger.ts";
import { b64, buildTestRelay, errorCode, signUp, type TestRelay } from "./fixtures/harness.ts";
import { testEnvelope } from "./fixtures/identities.ts";

describe("health, readiness, metrics, logs", () => {
  let relay: TestRelay;
  before(async () => {
    relay = await buildTestRelay({}, { logLevel: "debug" });
  });
  after(async () => relay.close());

  it("/healthz is alive and /readyz checks the store and draining; work is refused only once refusing", async () => {
    assert.equal((await relay.app.inject({ method: "GET", url: "/healthz" })).json().status, "alive");
    const ready = await relay.app.inject({ method: "GET", url: "/readyz" });
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.json().store, "writable");
    relay.context.draining = true;
    try {
      const draining = await relay.app.inject({ method: "GET", url: "/readyz" });
      assert.equal(draining.statusCode, 503);
      assert.equal(draining.json().draining, true);
      // The drain delay: out of rotation, still serving.
      const served = await relay.app.inject({
        method: "POST",
        url: "/v1/challenges",
        payload: { purpose: "auth", username: "x" },
      });
      assert.notEqual(errorCode(served), "relay_draining");
      relay.context.refusing = true;
      const refused = await relay.app.inject({
        method: "POST",
        url: "/v1/challenges",
        payload: { purpose: "auth", username: "x" },
      });
      assert.equal(refused.statusCode, 503);
      assert.equal(errorCode(refused), "relay_draining");
    } finally {
      relay.context.draining = false;
      relay.context.refusing = false;
    }
  });

  it("/metrics exposes requests, latency, messages, queues, connections, limits and auth failures", async () => {
    const { auth } = await signUp(relay.app, "alice");
    await signUp(relay.app, "bob");
    await relay.app.inject({
      method: "POST",
      url: "/v1/messages",
      headers: auth,
      payload: { to: "bob", client_message_id: "m1", envelope: b64(testEnvelope("secret body")) },
    });
    const response = await relay.app.inject({ method: "GET", url: "/metrics" });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /text\/plain/);
    for (const name of [
      "nano_http_requests_total",
      "nano_http_request_duration_seconds_bucket",
      "nano_messages_stored_total 1",
      "nano_messages_delivered_total",
      "nano_messages_expired_total",
      "nano_queue_messages 1",
      "nano_queue_bytes",
      "nano_websocket_connections",
      "nano_rate_limit_hits_total",
      "nano_auth_failures_total",
      "nano_group_commit_pending",
    ]) {
      assert.ok(response.body.includes(name), `missing ${name}`);
    }
    assert.match(response.body, /route="\/v1\/messages"/, "labels use route patterns");
    assert.ok(!response.body.includes("alice"), "no usernames in metrics");
  });

  it("answers unknown routes with route_not_found", async () => {
    const response = await relay.app.inject({ method: "GET", url: "/v2/nothing" });
    assert.equal(response.statusCode, 404);
    assert.equal(errorCode(response), "route_not_found");
  });

  it("never logs tokens, keys, signatures, envelopes or usernames (by default)", async () => {
    const { auth, user } = await signUp(relay.app, "carol");
    await relay.app.inject({
      method: "POST",
      url: "/v1/messages",
      headers: auth,
      payload: { to: "alice", client_message_id: "m2", envelope: b64(testEnvelope("TOP-SECRET-BODY")) },
    });
    await relay.app.inject({ method: "GET", url: "/v1/prekeys/alice", headers: auth });
    relay.context.log.info(
      { token: "tok-123", req: { headers: { authorization: "Bearer tok-456" } }, envelope: "ENV" },
      "probe",
    );
    const logs = relay.logLines.join("");
    assert.ok(logs.length > 0, "debug logging produced lines");
    const token = auth.authorization.slice("Bearer ".length);
    for (const secret of [
      token,
      "TOP-SECRET",
      b64(testEnvelope("TOP-SECRET-BODY")),
      // The envelope's header nonce and ciphertext, in either encoding, and the identity record.
      b64(testEnvelope("TOP-SECRET-BODY").subarray(3, 63)),
      Buffer.from(testEnvelope("TOP-SECRET-BODY").subarray(4, 36)).toString("hex"),
      b64(user.record.subarray(0, 60)),
      Buffer.from(user.identityHash).toString("base64").slice(0, 40),
      "tok-123",
      "tok-456",
      "carol",
    ]) {
      assert.ok(!logs.includes(secret), `log contains ${secret}`);
    }
    assert.ok(logs.includes("[redacted]"));
    assert.ok(REDACTED_PATHS.includes("req.headers.authorization"));
  });
});

describe("compliance.log_usernames", () => {
  for (const logUsernames of [false, true]) {
    it(`${logUsernames ? "names" : "does not name"} the user in failed-login log lines when ${logUsernames}`, async () => {
      const relay = await buildTestRelay({ compliance: { log_usernames: logUsernames } });
      try {
        await signUp(relay.app, "quentin");
        const c = await relay.app.inject({
          method: "POST",
          url: "/v1/challenges",
          payload: { purpose: "auth", username: "quentin" },
        });
        const failed = await relay.app.inject({
          method: "POST",
          url: "/v1/auth/token",
          payload: {
            username: "quentin",
            challenge: c.json().challenge,
            device_certificate: "AAAA",
            signature: "AAAA",
          },
        });
        assert.equal(failed.statusCode, 400);
        const lines = relay.logLines.filter((line) => line.includes("authentication failed"));
        assert.equal(lines.length, 1);
        assert.equal(lines[0]!.includes("quentin"), logUsernames);
      } finally {
        await relay.close();
      }
    });
  }
});
