import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { blake2b, randomBytes, toHex } from "../../src/crypto/index.ts";
import { blobPath, REFETCH_GRACE_MS } from "../../src/relay/routes/attachments.ts";
import { sweepOnce } from "../../src/relay/sweeper.ts";
import { buildTestRelay, errorCode, signUp, type TestRelay } from "./fixtures/harness.ts";

type Auth = { authorization: string };

describe("attachments: streamed, hash-addressed, quota, TTL", () => {
  let relay: TestRelay;
  let alice: Auth;
  let bob: Auth;
  let carol: Auth;
  let mallory: Auth;
  before(async () => {
    relay = await buildTestRelay({
      limits: { attachment_max_bytes: 200_000, attachment_quota_bytes: 300_000, attachment_ttl_days: 1 },
    });
    alice = (await signUp(relay.app, "alice")).auth;
    bob = (await signUp(relay.app, "bob")).auth;
    carol = (await signUp(relay.app, "carol")).auth;
    mallory = (await signUp(relay.app, "mallory")).auth;
  });
  after(async () => relay.close());

  const upload = (who: Auth, blob: Uint8Array, recipients = "bob,carol", hash = toHex(blake2b(blob))) =>
    relay.app.inject({
      method: "PUT",
      url: `/v1/attachments/${hash}?recipients=${recipients}`,
      headers: { ...who, "content-type": "application/octet-stream" },
      payload: Buffer.from(blob),
    });
  const download = (who: Auth, hash: string) =>
    relay.app.inject({ method: "GET", url: `/v1/attachments/${hash}`, headers: who });

  it("uploads, serves recipients only, and deletes a grace period after every recipient fetched", async () => {
    const blob = randomBytes(150_000);
    const hash = toHex(blake2b(blob));
    const response = await upload(alice, blob);
    assert.equal(response.statusCode, 201, response.body);
    assert.deepEqual(response.json(), { hash, size: blob.length });
    assert.ok(existsSync(blobPath(relay.context, hash)));
    assert.equal(errorCode(await download(mallory, hash)), "attachment_not_found", "not a recipient");
    const first = await download(bob, hash);
    assert.equal(first.statusCode, 200);
    assert.deepEqual(new Uint8Array(first.rawPayload), blob);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(existsSync(blobPath(relay.context, hash)), "carol has not fetched yet");
    assert.equal((await download(carol, hash)).statusCode, 200);
    // The last fetch's bookkeeping runs when its response finished: wait for it, bounded.
    for (let i = 0; i < 100; i++) {
      const expiresAt = (await relay.store.attachments.get(hash))?.expiresAt ?? 0;
      if (expiresAt <= relay.clock.now() + REFETCH_GRACE_MS) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // A client that crashed before committing the message fetches again within the grace period.
    const again = await download(bob, hash);
    assert.equal(again.statusCode, 200);
    assert.deepEqual(new Uint8Array(again.rawPayload), blob);
    assert.equal(errorCode(await download(mallory, hash)), "attachment_not_found", "still recipients only");
    assert.ok(existsSync(blobPath(relay.context, hash)), "kept for the grace period");
  });

  it("a blob every recipient fetched is gone, file and all, once the grace period passed", async () => {
    const fresh = await buildTestRelay({ security: { token_lifetime_seconds: 604_800 } });
    try {
      const dave = (await signUp(fresh.app, "dave")).auth;
      const erin = (await signUp(fresh.app, "erin")).auth;
      const blob = randomBytes(5000);
      const hash = toHex(blake2b(blob));
      const put = await fresh.app.inject({
        method: "PUT",
        url: `/v1/attachments/${hash}?recipients=erin`,
        headers: { ...dave, "content-type": "application/octet-stream" },
        payload: Buffer.from(blob),
      });
      assert.equal(put.statusCode, 201);
      const get = () => fresh.app.inject({ method: "GET", url: `/v1/attachments/${hash}`, headers: erin });
      assert.equal((await get()).statusCode, 200);
      for (let i = 0; i < 100; i++) {
        const expiresAt = (await fresh.store.attachments.get(hash))?.expiresAt ?? 0;
        if (expiresAt <= fresh.clock.now() + REFETCH_GRACE_MS) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      fresh.clock.advance(REFETCH_GRACE_MS - 60_000);
      assert.equal((await get()).statusCode, 200, "within the grace period");
      fresh.clock.advance(60_001);
      assert.equal(errorCode(await get()), "attachment_not_found");
      assert.equal((await sweepOnce(fresh.context)).attachments, 1);
      assert.ok(!existsSync(blobPath(fresh.context, hash)));
      assert.equal(await fresh.store.attachments.usage("dave"), 0);
    } finally {
      await fresh.close();
    }
  });

  it("verifies the BLAKE2b-512 address on upload", async () => {
    const blob = randomBytes(1000);
    const wrong = toHex(blake2b(randomBytes(10)));
    const response = await upload(alice, blob, "bob", wrong);
    assert.equal(response.statusCode, 400);
    assert.equal(errorCode(response), "blob_hash_mismatch");
    assert.ok(!existsSync(blobPath(relay.context, wrong)));
    const badHash = await upload(alice, blob, "bob", "ABC");
    assert.equal(errorCode(badHash), "malformed_request");
  });

  it("caps size and the per-account quota", async () => {
    const big = randomBytes(200_001);
    const tooBig = await upload(carol, big);
    assert.equal(tooBig.statusCode, 413);
    assert.equal(errorCode(tooBig), "attachment_too_large");
    assert.equal((await upload(carol, randomBytes(180_000), "bob")).statusCode, 201);
    const overQuota = await upload(carol, randomBytes(180_000), "bob");
    assert.equal(overQuota.statusCode, 507);
    assert.equal(errorCode(overQuota), "attachment_quota_exceeded");
  });

  it("requires recipients that exist, authentication, and the octet-stream type", async () => {
    const blob = randomBytes(100);
    assert.equal(errorCode(await upload(alice, blob, "")), "malformed_request");
    assert.equal(errorCode(await upload(alice, blob, "nobody")), "account_not_found");
    assert.equal(errorCode(await upload(alice, blob, "bad%20name")), "username_invalid");
    const anonymous = await relay.app.inject({
      method: "PUT",
      url: `/v1/attachments/${toHex(blake2b(blob))}?recipients=bob`,
      headers: { "content-type": "application/octet-stream" },
      payload: Buffer.from(blob),
    });
    assert.equal(errorCode(anonymous), "unauthenticated");
    const json = await relay.app.inject({
      method: "PUT",
      url: `/v1/attachments/${toHex(blake2b(blob))}?recipients=bob`,
      headers: alice,
      payload: { blob: "x" },
    });
    assert.equal(json.statusCode, 415);
  });

  it("only the uploader adds recipients: a re-upload of someone else's bytes is refused and charged nowhere", async () => {
    const blob = randomBytes(20_000);
    const hash = toHex(blake2b(blob));
    assert.equal((await upload(bob, blob, "carol")).statusCode, 201);
    // mallory has the ciphertext (say, from a leak) and tries to make herself a recipient.
    const hijack = await upload(mallory, blob, "mallory");
    assert.equal(hijack.statusCode, 403, hijack.body);
    assert.equal(errorCode(hijack), "attachment_not_owner");
    assert.equal(errorCode(await download(mallory, hash)), "attachment_not_found");
    assert.equal(await relay.store.attachments.usage("mallory"), 0, "nothing charged to mallory");
    assert.equal(await relay.store.attachments.isRecipient(hash, "mallory"), false);
    assert.equal((await relay.store.attachments.get(hash))?.owner, "bob");
    assert.ok(existsSync(blobPath(relay.context, hash)), "the owner's blob is kept");
    // The owner's own retry still adds recipients, without charging the quota twice.
    assert.equal((await upload(bob, blob, "alice")).statusCode, 201);
    assert.equal((await download(alice, hash)).statusCode, 200);
    assert.equal(await relay.store.attachments.usage("bob"), 20_000);
    assert.equal((await download(carol, hash)).statusCode, 200, "carol still a recipient");
  });

  it("expires attachments after the TTL and frees the quota", async () => {
    const fresh = await buildTestRelay({
      security: { token_lifetime_seconds: 604_800 },
      limits: { attachment_ttl_days: 1 },
    });
    try {
      const dave = (await signUp(fresh.app, "dave")).auth;
      const erin = (await signUp(fresh.app, "erin")).auth;
      const blob = randomBytes(5000);
      const hash = toHex(blake2b(blob));
      const response = await fresh.app.inject({
        method: "PUT",
        url: `/v1/attachments/${hash}?recipients=erin`,
        headers: { ...dave, "content-type": "application/octet-stream" },
        payload: Buffer.from(blob),
      });
      assert.equal(response.statusCode, 201);
      fresh.clock.advance(86_400_001);
      assert.equal((await sweepOnce(fresh.context)).attachments, 1);
      const gone = await fresh.app.inject({ method: "GET", url: `/v1/attachments/${hash}`, headers: erin });
      assert.equal(errorCode(gone), "attachment_not_found");
      assert.equal(await fresh.store.attachments.usage("dave"), 0);
      assert.ok(!existsSync(blobPath(fresh.context, hash)));
    } finally {
      await fresh.close();
    }
  });
});
