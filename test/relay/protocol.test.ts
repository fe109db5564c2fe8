import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type SuiteId, utf8 } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { assembleBundle, decodeBundleExact, encodeBundle } from "../../src/protocol/bundle.ts";
import { maxEnvelopeLength } from "../../src/protocol/envelope.ts";
import { generatePrekey, PREKEY_ROLES } from "../../src/protocol/prekey.ts";
import { selectSuite } from "../../src/protocol/selection.ts";
import { relayVerifier } from "../../src/relay/protocol-verifier.ts";
import { DIRECTORY, receiveMessage, sendMessage, startSession } from "../protocol/_driver.ts";
import {
  b64,
  buildTestRelay,
  challenge,
  claim,
  errorCode,
  fromB64,
  login,
  signUp,
  type TestRelay,
} from "./fixtures/harness.ts";
import { TestIdentity, testEnvelope } from "./fixtures/identities.ts";

/**
 * The real protocol through the relay's HTTP API (docs/protocol.md §4, §6, §9, §14): every check the
 * relay delegates to `relayVerifier` is driven end to end with real objects in each suite, and every
 * hostile variant must get a catalogued 4xx, never a 500.
 */
const SUITES = [1, 2, 3] as const;
const NAMES = { 1: "classical", 2: "hybrid", 3: "quantum" } as const;

type Auth = { authorization: string };
type Response = Awaited<ReturnType<TestRelay["app"]["inject"]>>;

function refused(response: Response, code: string, status?: number): void {
  assert.ok(
    response.statusCode >= 400 && response.statusCode < 500,
    `${response.statusCode} ${response.body}`,
  );
  assert.equal(errorCode(response), code, response.body);
  if (status !== undefined) assert.equal(response.statusCode, status, response.body);
}

describe("the real protocol through the relay, in every suite", () => {
  let relay: TestRelay;
  before(async () => {
    // A relay that admits all three suites, so each can be driven end to end.
    relay = await buildTestRelay({
      security: { minimum_crypto_mode: "classical", require_post_quantum: false },
    });
  });
  after(async () => relay.close());

  const claimWith = (fields: Record<string, unknown>) =>
    relay.app.inject({ method: "POST", url: "/v1/accounts", payload: fields });
  const upload = (auth: Auth, payload: object) =>
    relay.app.inject({ method: "PUT", url: "/v1/prekeys", headers: auth, payload });
  const fetchBundle = (auth: Auth, target: string) =>
    relay.app.inject({ method: "GET", url: `/v1/prekeys/${target}`, headers: auth });
  const send = (auth: Auth, to: string, id: string, envelope: Uint8Array) =>
    relay.app.inject({
      method: "POST",
      url: "/v1/messages",
      headers: auth,
      payload: { to, client_message_id: id, envelope: b64(envelope) },
    });
  const poll = async (auth: Auth) => {
    const response = await relay.app.inject({ method: "GET", url: "/v1/messages", headers: auth });
    const messages = response.json().messages as { id: number; from: string; envelope: string }[];
    if (messages.length > 0) {
      await relay.app.inject({
        method: "POST",
        url: "/v1/messages/ack",
        headers: auth,
        payload: { ids: messages.map((m) => m.id) },
      });
    }
    return messages;
  };

  for (const suite of SUITES) {
    it(`${NAMES[suite]}: claim, device login, prekeys once then last resort, a real session`, async () => {
      const bob = await TestIdentity.create(`bob-${suite}`, { suites: [suite] });
      const alice = await TestIdentity.create(`alice-${suite}`, { suites: [suite] });
      for (const user of [bob, alice]) assert.equal((await claim(relay.app, user)).statusCode, 201);
      const bobAuth = { authorization: `Bearer ${await login(relay.app, bob)}` };
      const aliceAuth = { authorization: `Bearer ${await login(relay.app, alice)}` };

      const base = await bob.bundle();
      const oneTime = await bob.oneTimePrekeys(2);
      const uploaded = await upload(bobAuth, { bundle: b64(base), one_time_prekeys: oneTime.map(b64) });
      assert.equal(uploaded.statusCode, 200, uploaded.body);
      await bob.storeSecrets();

      const handedOut: string[] = [];
      // The last-resort key is the base bundle's ML-KEM prekey (its signed X25519 prekey in classical).
      const decodedBase = await decodeBundleExact(provider, base);
      const lastResort = (decodedBase.pq ?? decodedBase.signedDh)!.encoded;
      let fetched:
        | { bundle: string; one_time_prekey: string | null; last_resort_prekey: string; suite: number }
        | undefined;
      for (let i = 0; i < 3; i++) {
        fetched = (await fetchBundle(aliceAuth, bob.username)).json();
        assert.equal(fetched!.suite, suite);
        assert.deepEqual(fromB64(fetched!.bundle), base);
        assert.deepEqual(fromB64(fetched!.last_resort_prekey), lastResort);
        if (fetched!.one_time_prekey !== null) handedOut.push(fetched!.one_time_prekey);
      }
      assert.deepEqual(handedOut.sort(), oneTime.map(b64).sort(), "each one-time key exactly once");
      assert.equal(fetched!.one_time_prekey, null, "then only the last-resort key");

      // A session over what the relay served: alice assembles the bundle with a one-time key she
      // was handed, the envelope goes through the relay's inspection, bob decrypts it.
      const bundle = (await assembleBundle(provider, base, [fromB64(handedOut[0]!)])).encoded;
      const { selection } = selectSuite(alice.identityRecord, bob.identityRecord);
      await startSession(alice.stores, bundle, selection);
      const first = await sendMessage(alice.stores, bob.username, utf8(`hello in ${NAMES[suite]}`));
      assert.equal(relayVerifier.inspectEnvelope(first).suite, suite);
      assert.equal((await send(aliceAuth, bob.username, "first", first)).statusCode, 201);
      const [delivered] = await poll(bobAuth);
      assert.equal(delivered!.from, alice.username);
      // Bob proves Alice's record against the directory (key transparency is tested on its own).
      DIRECTORY.publish(alice.identityRecord);
      const received = await receiveMessage(bob.stores, alice.username, fromB64(delivered!.envelope));
      assert.equal(new TextDecoder().decode(received.content), `hello in ${NAMES[suite]}`);
      const reply = await sendMessage(bob.stores, alice.username, utf8("and back"));
      assert.equal((await send(bobAuth, alice.username, "reply", reply)).statusCode, 201);
      const [back] = await poll(aliceAuth);
      const opened = await receiveMessage(alice.stores, bob.username, fromB64(back!.envelope));
      assert.equal(new TextDecoder().decode(opened.content), "and back");
    });
  }

  it("a record with every suite: every key must sign the record and the claim", async () => {
    const carol = await TestIdentity.create("carol", { suites: [1, 2, 3] });
    const quantumSignature = provider.suite(3).signature.lengths.signature;

    // The record with its last (ML-DSA-65) signature replaced: signed by only some of its keys.
    const partialRecord = Uint8Array.from(carol.record);
    partialRecord.fill(0, partialRecord.length - quantumSignature);
    const c1 = await challenge(relay.app, "claim", "carol");
    const r1 = await claimWith({
      username: "carol",
      identity_record: b64(partialRecord),
      challenge: b64(c1),
      signature: b64(await carol.claimSignature(c1)),
    });
    refused(r1, "invalid_signature", 400);

    // A claim signed by the classical and hybrid keys but not the quantum key.
    const c2 = await challenge(relay.app, "claim", "carol");
    const partialClaim = await carol.claimSignature(c2);
    partialClaim.fill(0, partialClaim.length - quantumSignature);
    const r2 = await claimWith({
      username: "carol",
      identity_record: b64(carol.record),
      challenge: b64(c2),
      signature: b64(partialClaim),
    });
    refused(r2, "signature_invalid", 401);
    // Only the first signature: the wrong length for this record.
    const c3 = await challenge(relay.app, "claim", "carol");
    const r3 = await claimWith({
      username: "carol",
      identity_record: b64(carol.record),
      challenge: b64(c3),
      signature: b64(
        (await carol.claimSignature(c3)).subarray(0, provider.suite(1).signature.lengths.signature),
      ),
    });
    refused(r3, "signature_invalid", 401);

    // A signature over an earlier challenge answers no other one.
    const old = await challenge(relay.app, "claim", "carol");
    const oldSignature = await carol.claimSignature(old);
    const c4 = await challenge(relay.app, "claim", "carol");
    const r4 = await claimWith({
      username: "carol",
      identity_record: b64(carol.record),
      challenge: b64(c4),
      signature: b64(oldSignature),
    });
    refused(r4, "signature_invalid", 401);

    const c5 = await challenge(relay.app, "claim", "carol");
    const good = await claimWith({
      username: "carol",
      identity_record: b64(carol.record),
      challenge: b64(c5),
      signature: b64(await carol.claimSignature(c5)),
    });
    assert.equal(good.statusCode, 201, good.body);
    // The device key certified by the preferred (quantum) identity key logs in.
    assert.match(await login(relay.app, carol), /^[A-Za-z0-9_-]{43}$/);
  });

  it("refuses a certificate that is not yet valid, and a truncated one", async () => {
    const { user } = await signUp(relay.app, "dora");
    const c = await challenge(relay.app, "auth", "dora");
    const future = await relay.app.inject({
      method: "POST",
      url: "/v1/auth/token",
      payload: {
        username: "dora",
        challenge: b64(c),
        device_certificate: b64(
          await user.deviceCertificate(Date.now() + 7_200_000, { created: Date.now() + 3_600_000 }),
        ),
        signature: b64(await user.authSignature(c)),
      },
    });
    refused(future, "certificate_not_yet_valid", 401);
    const c2 = await challenge(relay.app, "auth", "dora");
    const garbage = await relay.app.inject({
      method: "POST",
      url: "/v1/auth/token",
      payload: {
        username: "dora",
        challenge: b64(c2),
        device_certificate: b64((await user.deviceCertificate(Date.now() + 3_600_000)).subarray(0, 40)),
        signature: b64(await user.authSignature(c2)),
      },
    });
    refused(garbage, "truncated", 400);
  });

  it("refuses hostile bundles: a hybrid bundle without its ML-KEM prekey, one-time keys in the base", async () => {
    const { user, auth } = await signUp(relay.app, "emil");
    const signedDh = (
      await generatePrekey(provider, user.keys, user.identityRecord, 2, PREKEY_ROLES.signedDh)
    ).prekey;
    const pqOneTime = (
      await generatePrekey(provider, user.keys, user.identityRecord, 2, PREKEY_ROLES.pqOneTime)
    ).prekey;
    const oneTimeDh = (
      await generatePrekey(provider, user.keys, user.identityRecord, 2, PREKEY_ROLES.oneTimeDh)
    ).prekey;
    const noPq = encodeBundle(2, user.identityRecord, signedDh, null, null);
    const r1 = await upload(auth, { bundle: b64(noPq) });
    assert.ok(r1.statusCode >= 400 && r1.statusCode < 500, r1.body);
    const withOneTime = encodeBundle(2, user.identityRecord, signedDh, pqOneTime, oneTimeDh);
    refused(await upload(auth, { bundle: b64(withOneTime) }), "prekey_mismatch", 400);
    // A signed (not one-time) prekey offered as a one-time key.
    assert.equal((await upload(auth, { bundle: b64(await user.bundle()) })).statusCode, 200);
    refused(await upload(auth, { one_time_prekeys: [b64(signedDh.encoded)] }), "prekey_mismatch", 400);
  });

  it("inspects envelope headers: version, suite, type, per-suite maximum, truncation", async () => {
    const { auth } = await signUp(relay.app, "finn");
    await signUp(relay.app, "gwen");
    const hybrid = provider.suite(2);
    const valid = testEnvelope("fine");
    assert.equal((await send(auth, "gwen", "ok", valid)).statusCode, 201);

    const version = Uint8Array.from(valid);
    version[0] = 2;
    refused(await send(auth, "gwen", "v2", version), "unsupported_version", 400);
    const suite = Uint8Array.from(valid);
    suite[1] = 0x7f;
    refused(await send(auth, "gwen", "s", suite), "unknown_suite", 400);
    const type = Uint8Array.from(valid);
    type[3] = 9;
    refused(await send(auth, "gwen", "t9", type), "malformed", 400);
    // Quantum has no type-2 envelopes; classical has no KEM-carrying ones.
    refused(await send(auth, "gwen", "q2", testEnvelope("q", { suite: 3 }).fill(2, 3, 4)), "malformed", 400);
    const classicalKem = testEnvelope("c", { suite: 1 });
    classicalKem[3] = 3;
    refused(await send(auth, "gwen", "c3", classicalKem), "malformed", 400);

    // One byte over the hybrid type-2 maximum (§9.3), yet under the relay's own 64 KiB limit.
    const over = new Uint8Array(maxEnvelopeLength(hybrid, 2) + 1);
    over.set(valid.subarray(0, 4));
    refused(await send(auth, "gwen", "big", over), "envelope_size_invalid", 413);
    refused(await send(auth, "gwen", "cut", valid.subarray(0, valid.length - 7)), "truncated", 400);
    refused(await send(auth, "gwen", "tail", Uint8Array.from([...valid, 0])), "trailing_bytes", 400);
    const notBucket = Uint8Array.from(valid);
    // The body length field (after prefix, nonce, header ciphertext) claims a non-bucket size.
    const lengthAt = 4 + 12 + 41 + 16;
    new DataView(notBucket.buffer).setUint32(lengthAt, 300);
    assert.ok(
      (await send(auth, "gwen", "nb", notBucket)).statusCode < 500,
      "a wrong body length is refused without a 500",
    );
  });
});

describe("oversized protocol objects", () => {
  it("refuses records and bundles over the protocol's caps (16 KiB, 32 KiB) with 4xx", async () => {
    const relay = await buildTestRelay();
    try {
      const { user, auth } = await signUp(relay.app, "olga");
      // A valid record followed by junk past the 16 KiB cap: refused before any signature work.
      const bigRecord = new Uint8Array(20_000);
      bigRecord.set(user.record);
      const c = await challenge(relay.app, "claim", "oscar");
      const claimed = await relay.app.inject({
        method: "POST",
        url: "/v1/accounts",
        payload: {
          username: "oscar",
          identity_record: b64(bigRecord),
          challenge: b64(c),
          signature: b64(await user.claimSignature(c)),
        },
      });
      refused(claimed, "malformed", 400);
      const bigBundle = new Uint8Array(40_000);
      bigBundle.set(await user.bundle());
      const uploaded = await relay.app.inject({
        method: "PUT",
        url: "/v1/prekeys",
        headers: auth,
        payload: { bundle: b64(bigBundle) },
      });
      refused(uploaded, "malformed", 400);
      // Past the route's own field limits: refused by the schema, never decoded.
      const hugeRecord = await relay.app.inject({
        method: "POST",
        url: "/v1/accounts",
        payload: {
          username: "oscar",
          identity_record: b64(new Uint8Array(60_000)),
          challenge: b64(c),
          signature: "AA==",
        },
      });
      assert.ok(hugeRecord.statusCode === 400 || hugeRecord.statusCode === 413, hugeRecord.body);
    } finally {
      await relay.close();
    }
  });
});

describe("prekey policy with real bundles", () => {
  it("refuses classical bundles below the minimum and without PQ when post-quantum is required", async () => {
    const strict = await buildTestRelay({ security: { minimum_crypto_mode: "hybrid" } });
    const pqOnly = await buildTestRelay({
      security: { minimum_crypto_mode: "classical", require_post_quantum: true },
    });
    try {
      for (const [relay, code] of [
        [strict, "suite_below_minimum"],
        [pqOnly, "post_quantum_required"],
      ] as const) {
        const { user, auth } = await signUp(relay.app, "hana", { suites: [1, 2], preferred: 2 });
        const put = (bundle: Uint8Array) =>
          relay.app.inject({
            method: "PUT",
            url: "/v1/prekeys",
            headers: auth,
            payload: { bundle: b64(bundle) },
          });
        refused(await put(await user.bundle({ suite: 1 as SuiteId })), code, 400);
        assert.equal((await put(await user.bundle({ suite: 2 as SuiteId }))).statusCode, 200);
        // Classical envelopes are refused by the same floor on a hybrid-minimum relay.
        if (relay === strict) {
          await signUp(relay.app, "ivo");
          const sent = await relay.app.inject({
            method: "POST",
            url: "/v1/messages",
            headers: auth,
            payload: { to: "ivo", client_message_id: "c", envelope: b64(testEnvelope("x", { suite: 1 })) },
          });
          refused(sent, "suite_below_minimum", 400);
        }
      }
    } finally {
      await strict.close();
      await pqOnly.close();
    }
  });
});
