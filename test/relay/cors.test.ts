// Cross-origin API access for local copies of the web app (`[web] allowed_origins`, docs/web.md): a
// listed origin gets its own origin back (never a wildcard) with Date exposed, and its preflight is
// answered before any route or guard; every other origin gets no CORS header at all, so the browser
// refuses to hand it the answer; a relay with no list sends none. Malformed origins in the config are
// refused at start.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { relayConfigSchema } from "../../src/relay/config/schema.ts";
import { buildTestRelay, type TestRelay } from "./fixtures/harness.ts";

const COPY = "http://127.0.0.1:8000";

describe("CORS for local copies of the web app", () => {
  let relay: TestRelay;
  let plain: TestRelay;
  before(async () => {
    relay = await buildTestRelay({ web: { allowed_origins: [COPY] } });
    plain = await buildTestRelay({});
  });
  after(async () => {
    await relay?.close();
    await plain?.close();
  });

  it("a listed origin: its own origin back, Date exposed, on answers and typed errors alike", async () => {
    for (const url of ["/healthz", "/v1/prekeys", "/v1/nothing"]) {
      const response = await relay.app.inject({ method: "GET", url, headers: { origin: COPY } });
      assert.equal(response.headers["access-control-allow-origin"], COPY, url);
      assert.equal(response.headers["access-control-expose-headers"], "date", url);
      assert.match(String(response.headers.vary), /origin/i, url);
    }
  });

  it("a listed origin's preflight is 204 with the methods and headers the client uses", async () => {
    const response = await relay.app.inject({
      method: "OPTIONS",
      url: "/v1/attachments/ab",
      headers: {
        origin: COPY,
        "access-control-request-method": "PUT",
        "access-control-request-headers": "authorization",
      },
    });
    assert.equal(response.statusCode, 204);
    assert.equal(response.headers["access-control-allow-origin"], COPY);
    assert.match(String(response.headers["access-control-allow-methods"]), /PUT/);
    assert.match(String(response.headers["access-control-allow-headers"]), /authorization/);
  });

  it("any other origin — a lookalike, another port, null, a suffix — gets no CORS header; nor does a relay with no list", async () => {
    for (const origin of [
      "http://127.0.0.1:8001",
      "http://127.0.0.1:8000.evil.example",
      "null",
      "https://127.0.0.1:8000",
      `${COPY}/`,
    ]) {
      const response = await relay.app.inject({ method: "GET", url: "/healthz", headers: { origin } });
      assert.equal(response.headers["access-control-allow-origin"], undefined, origin);
      const preflight = await relay.app.inject({
        method: "OPTIONS",
        url: "/v1/messages",
        headers: { origin, "access-control-request-method": "POST" },
      });
      assert.notEqual(preflight.statusCode, 204, origin);
      assert.equal(preflight.headers["access-control-allow-origin"], undefined, origin);
    }
    const response = await plain.app.inject({ method: "GET", url: "/healthz", headers: { origin: COPY } });
    assert.equal(response.headers["access-control-allow-origin"], undefined);
  });

  it("the config refuses what is not an origin: paths, trailing slashes, other schemes, wildcards", () => {
    for (const bad of [
      "http://127.0.0.1:8000/",
      "http://x.example/app",
      "file:///tmp",
      "*",
      "ftp://x.example",
      "x.example",
    ]) {
      const parsed = relayConfigSchema.safeParse({ web: { allowed_origins: [bad] } });
      assert.equal(parsed.success, false, bad);
    }
    assert.equal(
      relayConfigSchema.safeParse({ web: { allowed_origins: [COPY, "https://app.example"] } }).success,
      true,
    );
  });
});
