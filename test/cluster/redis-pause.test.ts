// Redis that stops answering without closing its connections (a frozen host, a network that drops
// packets: here redis-server under SIGSTOP) is the Redis failure a relay cannot see from the socket.
// The promise of docs/cluster.md holds for it too: relays keep serving from PostgreSQL, deliver by
// polling, say so in /readyz, and pick up again when Redis answers. The Redis here is the test's own.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { envelopeMarker, testEnvelope } from "../relay/fixtures/identities.ts";
import { http, Peer, signUpOver } from "../relay/fixtures/processes.ts";
import type { PrivateRedis } from "../support/services.ts";
import { clusterOnPrivateRedis, type TestCluster } from "./_cluster.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("cluster: Redis frozen mid-traffic", () => {
  let redis: PrivateRedis;
  let cluster: TestCluster;
  before(async () => {
    ({ redis, cluster } = await clusterOnPrivateRedis());
  });
  after(async () => {
    redis.resume();
    await cluster.stop();
    await redis.kill();
  });

  it("sends are stored and delivered across relays while Redis answers nothing, and after it thaws", async () => {
    const [r0, r1] = cluster.relays as [(typeof cluster.relays)[0], (typeof cluster.relays)[0]];
    const alice = await signUpOver(r0.url, "alice");
    const bob = await signUpOver(r1.url, "bob");
    const peer = new Peer(r1.wsUrl, bob.token);
    await peer.waitFor((f) => f.type === "ready");
    const send = (id: string) =>
      http(
        r0.url,
        "POST",
        "/v1/messages",
        { to: "bob", client_message_id: id, envelope: b64(testEnvelope(id)) },
        alice.token,
      );
    const delivered = (id: string) =>
      peer.waitFor(
        (f) =>
          f.type === "message" &&
          envelopeMarker(new Uint8Array(Buffer.from(String(f.envelope), "base64"))) === id,
        30_000,
      );
    assert.equal((await send("before")).status, 201);
    await delivered("before");
    // An idle subscription outlives the socket timeout that cuts a frozen one: the pings keep it alive.
    await sleep(6500);
    for (const relay of cluster.relays)
      assert.equal(
        (await http(relay.url, "GET", "/readyz")).json.redis,
        "subscribed",
        "still subscribed when idle",
      );

    redis.pause();
    const frozen = await within(send("frozen"), "a send through relay 0 while Redis is frozen");
    assert.equal(frozen.status, 201, JSON.stringify(frozen.json));
    await within(delivered("frozen"), "its delivery on relay 1", 30_000);
    let readiness: Record<string, unknown> | null = null;
    for (let i = 0; i < 400 && readiness === null; i++) {
      const answer = await within(http(r1.url, "GET", "/readyz"), "readiness while Redis is frozen");
      if (answer.status === 503) readiness = answer.json;
      else await sleep(50);
    }
    assert.equal(readiness?.redis, "down", "readiness says Redis is gone");

    redis.resume();
    await cluster.ready(30_000);
    assert.equal((await send("after")).status, 201);
    await within(delivered("after"), "a delivery after Redis thawed");
    peer.close();
  });
});
