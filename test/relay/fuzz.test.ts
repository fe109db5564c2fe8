import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { ERROR_CATALOGUE } from "../../src/errors/index.ts";
import { buildTestRelay, signUp, type TestRelay } from "./fixtures/harness.ts";

/**
 * Hostile input of any shape gets a typed 4xx answer with a catalogued code: never a 500, never a
 * crash. Bodies are arbitrary JSON values, raw strings and bytes; paths and methods are the real ones.
 */
describe("fuzz: every JSON endpoint answers garbage with a typed 4xx", () => {
  let relay: TestRelay;
  let auth: { authorization: string };
  before(async () => {
    relay = await buildTestRelay();
    auth = (await signUp(relay.app, "alice")).auth;
    await signUp(relay.app, "bob");
  });
  after(async () => relay.close());

  const endpoints: [string, string][] = [
    ["POST", "/v1/challenges"],
    ["POST", "/v1/accounts"],
    ["PUT", "/v1/accounts/alice/identity"],
    ["POST", "/v1/auth/token"],
    ["PUT", "/v1/prekeys"],
    ["POST", "/v1/messages"],
    ["POST", "/v1/messages/ack"],
  ];

  const base64ish = fc.oneof(fc.base64String({ maxLength: 200 }), fc.string({ maxLength: 50 }));
  const plausible = fc.record(
    {
      purpose: fc.constantFrom("claim", "auth", "other"),
      username: fc.oneof(fc.constantFrom("alice", "bob", "ｂｏｂ", "admin"), fc.string({ maxLength: 40 })),
      to: fc.oneof(fc.constant("bob"), fc.string({ maxLength: 40 })),
      client_message_id: fc.string({ maxLength: 70 }),
      envelope: base64ish,
      identity_record: base64ish,
      challenge: base64ish,
      signature: base64ish,
      device_certificate: base64ish,
      bundle: base64ish,
      one_time_prekeys: fc.array(base64ish, { maxLength: 3 }),
      ids: fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    plausible.map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 100 }),
  );

  for (const [method, url] of endpoints) {
    it(`${method} ${url}`, async () => {
      await fc.assert(
        fc.asyncProperty(body, fc.boolean(), async (payload, withAuth) => {
          const response = await relay.app.inject({
            method: method as "POST" | "PUT",
            url,
            headers: { "content-type": "application/json", ...(withAuth ? auth : {}) },
            payload,
          });
          assert.ok(response.statusCode < 500, `${response.statusCode} ${response.body} for ${payload}`);
          if (response.statusCode >= 400) {
            const code = (JSON.parse(response.body) as { error: { code: string } }).error.code;
            assert.ok(code in ERROR_CATALOGUE, `uncatalogued code ${code}`);
          }
        }),
        { numRuns: 150 },
      );
    });
  }

  it("random bytes as attachments and random paths", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.string({ maxLength: 140 }),
        async (bytes, path) => {
          const upload = await relay.app.inject({
            method: "PUT",
            url: `/v1/attachments/${encodeURIComponent(path)}?recipients=bob`,
            headers: { ...auth, "content-type": "application/octet-stream" },
            payload: Buffer.from(bytes),
          });
          assert.ok(
            upload.statusCode < 500 && upload.statusCode >= 400,
            `${upload.statusCode} ${upload.body}`,
          );
          const get = await relay.app.inject({
            method: "GET",
            url: `/v1/prekeys/${encodeURIComponent(path)}`,
            headers: auth,
          });
          assert.ok(get.statusCode < 500, `${get.statusCode} ${get.body}`);
        },
      ),
      { numRuns: 150 },
    );
  });
});
