// Per-suite bundles (docs/protocol.md §5, §6.4, §11.3; docs/api.md): one identity accepting several
// suites keeps a real protocol bundle per suite, and a fetch of suite S pairs S's bundle with one-time
// keys of S only, so a suite the initiator did not choose never loses a one-time key.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { decodeBundleExact } from "../../src/protocol/bundle.ts";
import { selectSuite } from "../../src/protocol/selection.ts";
import { b64, buildTestRelay, errorCode, signUp, type TestRelay } from "./fixtures/harness.ts";
import type { TestIdentity } from "./fixtures/identities.ts";

type Who = { user: TestIdentity; auth: { authorization: string } };
interface Fetched {
  suite: number;
  bundle: string;
  one_time_prekey: string | null;
  last_resort_prekey: string;
  transparency: unknown;
}

describe("prekeys per suite: one identity, several suites", () => {
  let relay: TestRelay;
  let dave: Who; // quantum-preferring: accepts {hybrid, quantum}
  let erin: Who; // hybrid initiator
  let hybridKeys: string[];
  let quantumKeys: string[];
  before(async () => {
    // The relay must accept quantum bundles too (the default floor is hybrid).
    relay = await buildTestRelay({
      security: { minimum_crypto_mode: "quantum" },
      limits: { rate: { bundle_fetches_per_target_per_minute: 100 } },
    });
    dave = await signUp(relay.app, "dave", { suites: [2, 3], preferred: 3 });
    erin = await signUp(relay.app, "erin");
  });
  after(async () => relay.close());

  const upload = (who: Who, payload: object) =>
    relay.app.inject({ method: "PUT", url: "/v1/prekeys", headers: who.auth, payload });
  const fetchBundle = (who: Who, target: string, query = "") =>
    relay.app.inject({ method: "GET", url: `/v1/prekeys/${target}${query}`, headers: who.auth });

  it("stores each suite's bundle and one-time keys under that suite", async () => {
    quantumKeys = (await dave.user.oneTimePrekeys(2, 3)).map(b64);
    hybridKeys = (await dave.user.oneTimePrekeys(2, 2)).map(b64);
    const quantum = await upload(dave, {
      bundle: b64(await dave.user.bundle({ suite: 3 })),
      one_time_prekeys: quantumKeys,
    });
    assert.equal(quantum.statusCode, 200, quantum.body);
    assert.deepEqual(quantum.json(), { one_time_count: 2, one_time_counts: { "3": 2 } });
    const hybrid = await upload(dave, { bundle: b64(await dave.user.bundle({ suite: 2 })) });
    assert.deepEqual(hybrid.json(), { one_time_count: 0, one_time_counts: { "2": 0 } });
    // Keys of both suites in one upload, each under its own suite.
    const both = await upload(dave, {
      one_time_prekeys: [...hybridKeys, b64((await dave.user.oneTimePrekeys(1, 3))[0]!)],
    });
    assert.equal(both.statusCode, 200, both.body);
    assert.deepEqual(both.json(), { one_time_count: 5, one_time_counts: { "2": 2, "3": 3 } });
    quantumKeys = [];
    const count = await relay.app.inject({ method: "GET", url: "/v1/prekeys", headers: dave.auth });
    const body = count.json() as {
      suite: number;
      one_time_count: number;
      has_bundle: boolean;
      suites: unknown[];
    };
    assert.equal(body.has_bundle, true);
    assert.equal(body.suite, 2, "top-level fields describe the highest-ranked suite present (hybrid)");
    assert.equal(body.one_time_count, 2);
    assert.deepEqual(
      (body.suites as { suite: number; one_time_count: number }[]).map((s) => [s.suite, s.one_time_count]),
      [
        [2, 2],
        [3, 3],
      ],
    );
  });

  it("serves the suite the initiator's chooseSuite picked, with a one-time key of that suite", async () => {
    const chosen = selectSuite(erin.user.identityRecord, dave.user.identityRecord).suite.id;
    assert.equal(chosen, 2, "a hybrid initiator and a quantum-preferring owner meet in hybrid");
    const fetched = await fetchBundle(erin, "dave", `?suite=${chosen}`);
    assert.equal(fetched.statusCode, 200, fetched.body);
    const body = fetched.json() as Fetched;
    assert.equal(body.suite, 2);
    assert.equal((await decodeBundleExact(provider, Buffer.from(body.bundle, "base64"))).suite.id, 2);
    assert.ok(body.one_time_prekey !== null && hybridKeys.includes(body.one_time_prekey));
    assert.ok("transparency" in body, "the key-transparency proof still comes with the bundle");
    const quantum = (await fetchBundle(erin, "dave", "?suite=3")).json() as Fetched;
    assert.equal((await decodeBundleExact(provider, Buffer.from(quantum.bundle, "base64"))).suite.id, 3);
    assert.ok(quantum.one_time_prekey !== null && !hybridKeys.includes(quantum.one_time_prekey));
    assert.deepEqual(quantum.transparency, body.transparency, "one identity, one binding");
  });

  it("never burns another suite's one-time key once a suite is exhausted", async () => {
    for (let i = 0; i < 4; i++) await fetchBundle(erin, "dave", "?suite=3");
    const exhausted = (await fetchBundle(erin, "dave", "?suite=3")).json() as Fetched;
    assert.equal(exhausted.one_time_prekey, null);
    assert.ok(exhausted.last_resort_prekey.length > 0);
    const count = await relay.app.inject({ method: "GET", url: "/v1/prekeys", headers: dave.auth });
    const suites = (count.json() as { suites: { suite: number; one_time_count: number }[] }).suites;
    assert.deepEqual(
      suites.map((s) => [s.suite, s.one_time_count]),
      [
        [2, 1],
        [3, 0],
      ],
    );
  });

  it("without ?suite= serves the highest-ranked bundle present (today's behaviour)", async () => {
    const body = (await fetchBundle(erin, "dave")).json() as Fetched;
    assert.equal(body.suite, 2);
    assert.ok(body.one_time_prekey !== null && hybridKeys.includes(body.one_time_prekey));
  });

  it("refuses absent, unknown and malformed suites, and one-time keys of a suite without a bundle", async () => {
    const absent = await fetchBundle(erin, "dave", "?suite=1");
    assert.equal(absent.statusCode, 404);
    assert.equal(errorCode(absent), "prekeys_not_found");
    assert.equal(errorCode(await fetchBundle(erin, "dave", "?suite=9")), "unknown_suite");
    assert.equal(errorCode(await fetchBundle(erin, "dave", "?suite=abc")), "malformed_request");
    assert.equal(errorCode(await fetchBundle(erin, "dave", "?suite=-1")), "malformed_request");
    assert.equal(errorCode(await fetchBundle(erin, "dave", "?suite=99999999")), "malformed_request");
    // erin has a hybrid bundle only after this upload; quantum keys stay refused (and unstored).
    await upload(erin, { bundle: b64(await erin.user.bundle()) });
    const erinQuantum = await signUp(relay.app, "frank", { suites: [2, 3], preferred: 2 });
    await upload(erinQuantum, { bundle: b64(await erinQuantum.user.bundle({ suite: 2 })) });
    const refused = await upload(erinQuantum, {
      one_time_prekeys: [
        ...(await erinQuantum.user.oneTimePrekeys(1, 2)),
        ...(await erinQuantum.user.oneTimePrekeys(1, 3)),
      ].map(b64),
    });
    assert.equal(refused.statusCode, 400);
    assert.equal(errorCode(refused), "one_time_prekey_suite_mismatch");
    const count = await relay.app.inject({ method: "GET", url: "/v1/prekeys", headers: erinQuantum.auth });
    assert.equal(count.json().one_time_count, 0, "a refused upload stores none of its keys");
  });

  it("an identity update deletes every suite's prekeys (only the owner's)", async () => {
    const before = await relay.app.inject({ method: "GET", url: "/v1/prekeys", headers: dave.auth });
    assert.equal((before.json() as { suites: unknown[] }).suites.length, 2);
    const { next, signature } = await dave.user.successor();
    const updated = await relay.app.inject({
      method: "PUT",
      url: "/v1/accounts/dave/identity",
      headers: dave.auth,
      payload: { identity_record: b64(next.record), signature: b64(signature) },
    });
    assert.equal(updated.statusCode, 200, updated.body);
    assert.deepEqual(await relay.store.prekeys.listBundles("dave"), []);
    assert.equal(await relay.store.prekeys.countOneTimePrekeys("dave", 2), 0);
    assert.equal(await relay.store.prekeys.countOneTimePrekeys("dave", 3), 0);
    assert.equal((await relay.store.prekeys.listBundles("erin")).length, 1);
  });
});
