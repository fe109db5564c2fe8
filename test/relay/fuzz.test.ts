import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { ERROR_CATALOGUE } from "../../src/errors/index.ts";
import { b64, buildTestRelay, challenge, signUp, type TestRelay } from "./fixtures/harness.ts";
import { type TestIdentity, testEnvelope } from "./fixtures/identities.ts";

/**
 * Hostile input of any shape gets a typed 4xx answer with a catalogued code: never a 500, never a
 * crash. Bodies are arbitrary JSON values, raw strings and bytes; paths and methods are the real ones.
 */
describe("fuzz: every JSON endpoint answers garbage with a typed 4xx", () => {
  let relay: TestRelay;
  let auth: { authorization: string };
  let alice: TestIdentity;
  before(async () => {
    relay = await buildTestRelay();
    ({ user: alice, auth } = await signUp(relay.app, "alice"));
    await signUp(relay.app, "bob");
  });
  after(async () => relay.close());

  const endpoints: [string, string][] = [
    ["POST", "/v1/challenges"],
    ["POST", "/v1/accounts"],
    ["PUT", "/v1/accounts/alice/identity"],
    ["DELETE", "/v1/accounts/alice"],
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

  /** Real protocol objects with bytes flipped, cut, extended or spliced: the verifier's hostile input. */
  const mutate = (bytes: Uint8Array) =>
    fc.oneof(
      fc
        .record({ at: fc.nat(bytes.length - 1), xor: fc.integer({ min: 1, max: 255 }) })
        .map(({ at, xor }) => {
          const copy = Uint8Array.from(bytes);
          copy[at]! ^= xor;
          return copy;
        }),
      fc.nat(bytes.length - 1).map((end) => bytes.slice(0, end)),
      fc.uint8Array({ minLength: 1, maxLength: 8 }).map((tail) => Uint8Array.from([...bytes, ...tail])),
      fc
        .record({ at: fc.nat(bytes.length - 1), junk: fc.uint8Array({ minLength: 1, maxLength: 16 }) })
        .map(({ at, junk }) => Uint8Array.from([...bytes.subarray(0, at), ...junk, ...bytes.subarray(at)])),
    );

  it("mutated real identity records, claims, certificates, bundles and envelopes", async () => {
    const record = alice.record;
    const bundle = await alice.bundle();
    const oneTime = (await alice.oneTimePrekeys(1))[0]!;
    const certificate = await alice.deviceCertificate(Date.now() + 3_600_000);
    const envelope = testEnvelope("fuzz");
    const cases = fc.oneof(
      mutate(record).map((bytes) => ({ kind: "record" as const, bytes })),
      mutate(certificate).map((bytes) => ({ kind: "certificate" as const, bytes })),
      mutate(bundle).map((bytes) => ({ kind: "bundle" as const, bytes })),
      mutate(oneTime).map((bytes) => ({ kind: "one-time" as const, bytes })),
      mutate(envelope).map((bytes) => ({ kind: "envelope" as const, bytes })),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ kind, bytes }) => {
        let response: Awaited<ReturnType<typeof relay.app.inject>>;
        if (kind === "record") {
          const c = await challenge(relay.app, "claim", "zed");
          response = await relay.app.inject({
            method: "POST",
            url: "/v1/accounts",
            payload: {
              username: "zed",
              identity_record: b64(bytes),
              challenge: b64(c),
              signature: b64(bytes),
            },
          });
        } else if (kind === "certificate") {
          const c = await challenge(relay.app, "auth", "alice");
          response = await relay.app.inject({
            method: "POST",
            url: "/v1/auth/token",
            payload: {
              username: "alice",
              challenge: b64(c),
              device_certificate: b64(bytes),
              signature: b64(await alice.authSignature(c)),
            },
          });
        } else if (kind === "bundle" || kind === "one-time") {
          response = await relay.app.inject({
            method: "PUT",
            url: "/v1/prekeys",
            headers: auth,
            payload: kind === "bundle" ? { bundle: b64(bytes) } : { one_time_prekeys: [b64(bytes)] },
          });
        } else {
          response = await relay.app.inject({
            method: "POST",
            url: "/v1/messages",
            headers: auth,
            payload: { to: "bob", client_message_id: "fuzz", envelope: b64(bytes) },
          });
        }
        assert.ok(response.statusCode < 500, `${kind}: ${response.statusCode} ${response.body}`);
        // A mutation may still decode (a flipped bit inside an envelope's ciphertext is opaque to the
        // relay), but a mutated signed object never verifies.
        if (kind !== "envelope") {
          assert.ok(response.statusCode >= 400, `${kind} mutation accepted: ${response.body}`);
          const code = (JSON.parse(response.body) as { error: { code: string } }).error.code;
          assert.ok(code in ERROR_CATALOGUE, `uncatalogued code ${code}`);
        }
      }),
      { numRuns: 300 },
    );
  });

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
