// The CSP of a build for a local copy (docs/web.md "Run from a local copy"): connect-src gains exactly
// the relay's API and WebSocket origins and nothing else changes; anything but an http(s) origin — a
// wildcard, a keyword, a path, another scheme, a source list smuggled in with spaces or semicolons —
// is refused, so a build option can never loosen the policy beyond one named relay.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CONTENT_SECURITY_POLICY_META,
  contentSecurityPolicyMeta,
  relayConnectSources,
} from "../../src/web/security-policy.ts";

test("a relay adds its http(s) and ws(s) origins to connect-src, and only there", () => {
  assert.equal(contentSecurityPolicyMeta([]), CONTENT_SECURITY_POLICY_META);
  const policy = contentSecurityPolicyMeta(["https://relay.example:8443"]);
  assert.equal(
    policy,
    CONTENT_SECURITY_POLICY_META.replace(
      "connect-src 'self'",
      "connect-src 'self' https://relay.example:8443 wss://relay.example:8443",
    ),
  );
  assert.deepEqual(relayConnectSources("http://127.0.0.1:8080"), [
    "http://127.0.0.1:8080",
    "ws://127.0.0.1:8080",
  ]);
});

test("anything but an origin is refused", () => {
  for (const bad of [
    "*",
    "'unsafe-eval'",
    "https:",
    "https://relay.example/",
    "https://relay.example/path",
    "https://relay.example; script-src *",
    "https://relay.example *",
    "wss://relay.example",
    "javascript:alert(1)",
    "https://user:pw@relay.example",
    "",
  ]) {
    assert.throws(() => contentSecurityPolicyMeta([bad]), TypeError, bad);
  }
});
