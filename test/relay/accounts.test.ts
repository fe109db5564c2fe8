import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { toHex } from "../../src/crypto/index.ts";
import {
  b64,
  buildTestRelay,
  challenge,
  claim,
  errorCode,
  login,
  signUp,
  type TestRelay,
} from "./fixtures/harness.ts";
import { TestIdentity } from "./fixtures/identities.ts";

describe("accounts: claims with proof of possession", () => {
  let relay: TestRelay;
  before(async () => {
    relay = await buildTestRelay();
  });
  after(async () => relay.close());

  const claimWith = async (fields: Record<string, unknown>) =>
    relay.app.inject({ method: "POST", url: "/v1/accounts", payload: fields });

  it("first claim wins; the same identity re-claiming is idempotent; another identity is refused", async () => {
    const alice = await TestIdentity.create("alice");
    const first = await claim(relay.app, alice);
    assert.equal(first.statusCode, 201, first.body);
    assert.deepEqual(first.json(), {
      username: "alice",
      identity_hash: toHex(alice.identityHash),
      created: true,
    });
    const again = await claim(relay.app, alice);
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().created, false);
    const mallory = await claim(relay.app, await TestIdentity.create("alice"));
    assert.equal(mallory.statusCode, 409);
    assert.equal(errorCode(mallory), "username_taken");
    assert.equal(relay.audit.filter((e) => e.type === "account_claimed").length, 1);
  });

  it("normalizes: a fullwidth spelling is the same name; a confusable spelling is taken", async () => {
    await claim(relay.app, await TestIdentity.create("bob"));
    const fullwidth = await relay.app.inject({
      method: "POST",
      url: "/v1/challenges",
      payload: { purpose: "claim", username: "ｂｏｂ" },
    });
    assert.equal(fullwidth.statusCode, 200, "NFKC folds fullwidth to ASCII");
    const lookalike = await claim(relay.app, await TestIdentity.create("b0b"));
    assert.equal(errorCode(lookalike), "username_taken");
    assert.match(lookalike.json().error.message, /too similar/);
  });

  for (const [name, code] of [
    ["аlice", "username_invalid"], // Cyrillic а
    ["al ice", "username_invalid"],
    ["ab", "username_invalid"],
    ["a".repeat(33), "username_invalid"],
    ["1alice", "username_invalid"],
    ["alice..x", "username_invalid"],
    ["alice-", "username_invalid"],
    ["al\u200bice", "username_invalid"], // zero-width space
    ["admin", "username_reserved"],
    ["adm1n", "username_reserved"],
    ["Root", "username_reserved"],
  ] as const) {
    it(`refuses the username ${JSON.stringify(name)} with ${code}`, async () => {
      const response = await relay.app.inject({
        method: "POST",
        url: "/v1/challenges",
        payload: { purpose: "claim", username: name },
      });
      assert.equal(errorCode(response), code);
      assert.equal(response.statusCode, code === "username_reserved" ? 403 : 400);
    });
  }

  it("refuses a bad claim signature and burns the challenge", async () => {
    const carol = await TestIdentity.create("carol");
    const c = await challenge(relay.app, "claim", "carol");
    const forged = await carol.claimSignature(c);
    forged[0]! ^= 1;
    const payload = {
      username: "carol",
      identity_record: b64(carol.record),
      challenge: b64(c),
      signature: b64(forged),
    };
    const bad = await claimWith(payload);
    assert.equal(bad.statusCode, 401);
    assert.equal(errorCode(bad), "signature_invalid");
    const replay = await claimWith({ ...payload, signature: b64(await carol.claimSignature(c)) });
    assert.equal(errorCode(replay), "challenge_invalid", "a used challenge cannot be answered again");
  });

  it("refuses a replayed challenge after a successful claim", async () => {
    const dave = await TestIdentity.create("dave");
    const c = await challenge(relay.app, "claim", "dave");
    const payload = {
      username: "dave",
      identity_record: b64(dave.record),
      challenge: b64(c),
      signature: b64(await dave.claimSignature(c)),
    };
    assert.equal((await claimWith(payload)).statusCode, 201);
    assert.equal(errorCode(await claimWith(payload)), "challenge_invalid");
  });

  it("refuses a challenge issued for another username, purpose, or past its lifetime", async () => {
    const erin = await TestIdentity.create("erin");
    const forOther = await challenge(relay.app, "claim", "frank");
    const r1 = await claimWith({
      username: "erin",
      identity_record: b64(erin.record),
      challenge: b64(forOther),
      signature: b64(await erin.claimSignature(forOther)),
    });
    assert.equal(errorCode(r1), "challenge_invalid");
    const forAuth = await challenge(relay.app, "auth", "erin");
    const r2 = await claimWith({
      username: "erin",
      identity_record: b64(erin.record),
      challenge: b64(forAuth),
      signature: b64(await erin.claimSignature(forAuth)),
    });
    assert.equal(errorCode(r2), "challenge_invalid");
    const stale = await challenge(relay.app, "claim", "erin");
    relay.clock.advance(121_000);
    const r3 = await claimWith({
      username: "erin",
      identity_record: b64(erin.record),
      challenge: b64(stale),
      signature: b64(await erin.claimSignature(stale)),
    });
    assert.equal(errorCode(r3), "challenge_invalid");
  });

  it("refuses an identity record naming another user, a tampered record, and garbage bytes", async () => {
    // heidi's valid record and valid claim signature, offered for the name grace.
    const heidi = await TestIdentity.create("heidi");
    const forGrace = await challenge(relay.app, "claim", "grace");
    const other = await claimWith({
      username: "grace",
      identity_record: b64(heidi.record),
      challenge: b64(forGrace),
      signature: b64(await heidi.claimSignature(forGrace)),
    });
    assert.equal(other.statusCode, 400, other.body);
    assert.equal(errorCode(other), "identity_record_invalid");
    const ivan = await TestIdentity.create("ivan");
    const tampered = Uint8Array.from(ivan.record);
    tampered[15]! ^= 1; // inside the u64 `created` field
    const c = await challenge(relay.app, "claim", "ivan");
    const r = await claimWith({
      username: "ivan",
      identity_record: b64(tampered),
      challenge: b64(c),
      signature: b64(await ivan.claimSignature(c)),
    });
    assert.equal(r.statusCode, 400);
    // The byte is inside the signed body (docs/protocol.md §4.1): the record's own signature fails.
    assert.equal(errorCode(r), "invalid_signature", r.body);
    for (const record of [new Uint8Array(3), new Uint8Array(200), Uint8Array.from([...ivan.record, 0])]) {
      const c2 = await challenge(relay.app, "claim", "ivan");
      const response = await claimWith({
        username: "ivan",
        identity_record: b64(record),
        challenge: b64(c2),
        signature: b64(await ivan.claimSignature(c2)),
      });
      assert.equal(response.statusCode, 400, response.body);
      assert.ok(["unsupported_version", "trailing_bytes"].includes(errorCode(response)!), response.body);
    }
  });

  it("answers malformed, mistyped, oversized and non-base64 bodies with typed 4xx errors", async () => {
    const raw = await relay.app.inject({
      method: "POST",
      url: "/v1/accounts",
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    assert.equal(raw.statusCode, 400);
    assert.equal(errorCode(raw), "malformed_request");
    const empty = await relay.app.inject({
      method: "POST",
      url: "/v1/accounts",
      headers: { "content-type": "application/json" },
      payload: "",
    });
    assert.equal(errorCode(empty), "malformed_request");
    const missing = await claimWith({ username: "x" });
    assert.equal(errorCode(missing), "malformed_request");
    const extra = await claimWith({
      username: "judy",
      identity_record: "AA==",
      challenge: "AA==",
      signature: "AA==",
      admin: true,
    });
    assert.equal(errorCode(extra), "malformed_request");
    const notB64 = await claimWith({
      username: "judy",
      identity_record: "!!!!",
      challenge: "AA==",
      signature: "AA==",
    });
    assert.equal(errorCode(notB64), "malformed_request");
    const huge = await relay.app.inject({
      method: "POST",
      url: "/v1/accounts",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({
        username: "judy",
        identity_record: "A".repeat(200_000),
        challenge: "AA==",
        signature: "AA==",
      }),
    });
    assert.equal(huge.statusCode, 413);
    assert.equal(errorCode(huge), "body_too_large");
    const xml = await relay.app.inject({
      method: "POST",
      url: "/v1/accounts",
      headers: { "content-type": "application/xml" },
      payload: "<a/>",
    });
    assert.equal(xml.statusCode, 415);
    assert.equal(errorCode(xml), "unsupported_media_type");
  });

  it("identity-record updates must be signed by the record they replace", async () => {
    const { user, auth } = await signUp(relay.app, "kate");
    const { next, signature } = await user.successor();
    const forged = await (await TestIdentity.create("kate")).successor();
    const bad = await relay.app.inject({
      method: "PUT",
      url: "/v1/accounts/kate/identity",
      headers: auth,
      payload: { identity_record: b64(next.record), signature: b64(forged.signature) },
    });
    assert.equal(bad.statusCode, 403, bad.body);
    assert.equal(errorCode(bad), "identity_update_unauthorized");
    const tamperedNext = Uint8Array.from(next.record);
    tamperedNext[12]! ^= 1;
    const badRecord = await relay.app.inject({
      method: "PUT",
      url: "/v1/accounts/kate/identity",
      headers: auth,
      payload: { identity_record: b64(tamperedNext), signature: b64(signature) },
    });
    assert.equal(badRecord.statusCode, 400, "the new record's own signatures are checked first");
    assert.equal(errorCode(badRecord), "invalid_signature");
    const good = await relay.app.inject({
      method: "PUT",
      url: "/v1/accounts/kate/identity",
      headers: auth,
      payload: { identity_record: b64(next.record), signature: b64(signature) },
    });
    assert.equal(good.statusCode, 200, good.body);
    // The update revoked every token of the account, the one that made it included.
    const revoked = await relay.app.inject({ method: "GET", url: "/v1/accounts/kate", headers: auth });
    assert.equal(errorCode(revoked), "unauthenticated");
    const renewed = { authorization: `Bearer ${await login(relay.app, next)}` };
    const replay = await relay.app.inject({
      method: "PUT",
      url: "/v1/accounts/kate/identity",
      headers: renewed,
      payload: { identity_record: b64(next.record), signature: b64(signature) },
    });
    assert.equal(errorCode(replay), "identity_update_unauthorized", "same version again is refused");
    const lookup = await relay.app.inject({ method: "GET", url: "/v1/accounts/kate", headers: renewed });
    assert.equal(lookup.json().identity_hash, toHex(next.identityHash));
    const other = await signUp(relay.app, "leo");
    const foreign = await relay.app.inject({
      method: "PUT",
      url: "/v1/accounts/kate/identity",
      headers: other.auth,
      payload: { identity_record: b64(next.record), signature: b64(signature) },
    });
    assert.equal(errorCode(foreign), "identity_update_unauthorized");
    // The old device certificate is bound to the old record, so logging in needs a new one.
    await assert.rejects(login(relay.app, user));
  });

  it("looks up accounts only for authenticated users", async () => {
    const { auth } = await signUp(relay.app, "mike");
    assert.equal((await relay.app.inject({ method: "GET", url: "/v1/accounts/mike" })).statusCode, 401);
    const found = await relay.app.inject({ method: "GET", url: "/v1/accounts/MIKE", headers: auth });
    assert.equal(found.statusCode, 200);
    assert.equal(found.json().username, "mike");
    const missing = await relay.app.inject({ method: "GET", url: "/v1/accounts/nobody", headers: auth });
    assert.equal(errorCode(missing), "account_not_found");
  });
});
