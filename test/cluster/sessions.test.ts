// A push session lives no longer than its token (docs/api.md, close code 4401) on whichever relay
// holds it: a token revoked through one relay, or every token of an account whose identity record was
// replaced through one relay (what a user does after a suspected key compromise), must end the
// sessions those tokens opened on the other relays too, not only on the relay that took the request.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testEnvelope } from "../relay/fixtures/identities.ts";
import { http, Peer, signUpOver } from "../relay/fixtures/processes.ts";
import type { PrivateRedis } from "../support/services.ts";
import { clusterOnPrivateRedis, TestCluster } from "./_cluster.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/** A peer plus the close code and reason (the fixture keeps only the code). */
function connect(
  url: string,
  token: string,
): { peer: Peer; closed: Promise<{ code: number; reason: string }> } {
  const peer = new Peer(url, token);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    peer.socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { peer, closed };
}

/** The close, or a failure naming what did not happen (never the test runner's 10-minute timeout). */
function within<T>(promise: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Logs in again (a second token of the same account). */
async function login(base: string, user: Awaited<ReturnType<typeof signUpOver>>["user"]): Promise<string> {
  const issued = await http(base, "POST", "/v1/challenges", { purpose: "auth", username: user.username });
  const challenge = new Uint8Array(Buffer.from(String(issued.json.challenge), "base64"));
  const token = await http(base, "POST", "/v1/auth/token", {
    username: user.username,
    challenge: b64(challenge),
    device_certificate: b64(await user.deviceCertificate(Date.now() + 86_400_000)),
    signature: b64(await user.authSignature(challenge)),
  });
  assert.equal(token.status, 200, JSON.stringify(token.json));
  return String(token.json.token);
}

describe("cluster: sessions end with their token on every relay", () => {
  let cluster: TestCluster;
  before(async () => {
    // The safety poll is an hour: nothing here may depend on it.
    cluster = await TestCluster.create({ relays: 3, overrides: { cluster: { safety_poll_seconds: 3600 } } });
    await cluster.start();
    await cluster.ready();
  });
  after(() => cluster.stop());

  it("a token revoked through relay 0 ends its session on relay 1 (4401 token_revoked)", async () => {
    const [r0, r1] = cluster.relays as [(typeof cluster.relays)[0], (typeof cluster.relays)[0]];
    const alice = await signUpOver(r0.url, "alice");
    await signUpOver(r0.url, "bob");
    const session = connect(r1.wsUrl, alice.token);
    await session.peer.waitFor((f) => f.type === "ready");
    const revoked = await http(r0.url, "DELETE", "/v1/auth/token", undefined, alice.token);
    assert.equal(revoked.status, 204);
    assert.deepEqual(await within(session.closed, "session on relay 1 closed"), {
      code: 4401,
      reason: "token_revoked",
    });
    // And what the stolen session would have done next is refused everywhere.
    const sent = await http(
      r1.url,
      "POST",
      "/v1/messages",
      { to: "bob", client_message_id: "after-revoke", envelope: b64(testEnvelope("x")) },
      alice.token,
    );
    assert.equal(sent.status, 401);
  });

  it("an identity replaced through relay 0 ends the account's session on relay 1", async () => {
    const [r0, r1] = cluster.relays as [(typeof cluster.relays)[0], (typeof cluster.relays)[0]];
    const dave = await signUpOver(r0.url, "dave");
    const erin = await signUpOver(r0.url, "erin");
    // One connection per device across the cluster: dave's one session is on relay 1, and the
    // update goes through relay 0 with a second token (a token is not a connection).
    const session = connect(r1.wsUrl, dave.token);
    await session.peer.waitFor((f) => f.type === "ready");
    const bystander = connect(r1.wsUrl, erin.token);
    await bystander.peer.waitFor((f) => f.type === "ready");
    const { next, signature } = await dave.user.successor();
    const updated = await http(
      r0.url,
      "PUT",
      "/v1/accounts/dave/identity",
      { identity_record: b64(next.record), signature: b64(signature) },
      await login(r0.url, dave.user),
    );
    assert.equal(updated.status, 200, JSON.stringify(updated.json));
    assert.deepEqual(await within(session.closed, "session on relay 1 closed"), {
      code: 4401,
      reason: "identity_updated",
    });
    assert.equal(bystander.peer.closeCode, null, "other users' sessions are untouched");
    bystander.peer.close();
  });
});

/**
 * A revocation announced while Redis was down reaches no relay: each relay checks its sessions' tokens
 * against PostgreSQL when its subscription comes back. The Redis here is the test's own.
 */
describe("cluster: a revocation made while Redis is down", () => {
  let redis: PrivateRedis;
  let cluster: TestCluster;
  before(async () => {
    ({ redis, cluster } = await clusterOnPrivateRedis());
  });
  after(async () => {
    await cluster.stop();
    await redis.kill();
  });

  it("ends the session on the other relay once Redis is back", async () => {
    const [r0, r1] = cluster.relays as [(typeof cluster.relays)[0], (typeof cluster.relays)[0]];
    const frank = await signUpOver(r0.url, "frank");
    const session = connect(r1.wsUrl, frank.token);
    await session.peer.waitFor((f) => f.type === "ready");
    await redis.kill();
    const revoked = await http(r0.url, "DELETE", "/v1/auth/token", undefined, frank.token);
    assert.equal(revoked.status, 204);
    await redis.restart();
    assert.deepEqual(await within(session.closed, "session on relay 1 closed after Redis returned", 30_000), {
      code: 4401,
      reason: "token_revoked",
    });
  });
});
