// One live connection per device across the cluster (docs/cluster.md) when Redis is not well: Redis
// needs no persistence, so it may come back empty (every generation counter gone) and a login may
// happen while it is down. Either way, once Redis answers again, the newest login is the one left
// open, on whichever relay. The Redis here is the test's own.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Peer, signUpOver } from "../relay/fixtures/processes.ts";
import type { PrivateRedis } from "../support/services.ts";
import { clusterOnPrivateRedis, type TestCluster } from "./_cluster.ts";

function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function open(url: string, token: string): Promise<Peer> {
  const peer = new Peer(url, token);
  await peer.waitFor((f) => f.type === "ready");
  return peer;
}

describe("cluster: one connection per device through Redis faults", () => {
  let redis: PrivateRedis;
  let cluster: TestCluster;
  before(async () => {
    ({ redis, cluster } = await clusterOnPrivateRedis());
  });
  after(async () => {
    await cluster.stop();
    await redis.kill();
  });

  it("after Redis restarted empty, a new login on relay 1 closes the older connection on relay 0", async () => {
    const [r0, r1] = cluster.relays as [(typeof cluster.relays)[0], (typeof cluster.relays)[0]];
    const gina = await signUpOver(r0.url, "gina");
    // Two logins before the restart: the one kept holds the device's second generation.
    const first = await open(r0.wsUrl, gina.token);
    const older = await open(r0.wsUrl, gina.token);
    assert.equal(await within(first.closed, "first replaced"), 4409);
    await redis.kill();
    await redis.restart();
    await cluster.ready();
    const newer = await open(r1.wsUrl, gina.token);
    assert.equal(await within(older.closed, "the older connection on relay 0 closed"), 4409);
    assert.equal(newer.closeCode, null, "the newest login stays");
    newer.close();
  });

  it("a login made while Redis was down closes the older connection on the other relay once Redis is back", async () => {
    const [r0, r1] = cluster.relays as [(typeof cluster.relays)[0], (typeof cluster.relays)[0]];
    const hugo = await signUpOver(r0.url, "hugo");
    const older = await open(r0.wsUrl, hugo.token);
    await redis.kill();
    const newer = await open(r1.wsUrl, hugo.token);
    await redis.restart();
    await cluster.ready();
    assert.equal(await within(older.closed, "the older connection on relay 0 closed"), 4409);
    // The newer one is not closed by the older one's re-announcement, whatever order they arrive in.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(newer.closeCode, null, "the newest login stays");
    newer.close();
  });
});
