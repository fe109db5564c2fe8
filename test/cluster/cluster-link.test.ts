// What a relay misses while its subscription to a user's channel is still on its way: a wake-up or a
// newer login elsewhere, published between a connection's arrival and the moment Redis registered the
// SSUBSCRIBE. Two ClusterLinks (two relays' worth) on the machine's Redis under a random key prefix;
// each step is ordered by the test, so the window is hit every time instead of once in a while.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { ClusterLink } from "../../src/relay/cluster/cluster-link.ts";
import { DeliveryHub, type PushTarget } from "../../src/relay/delivery-hub.ts";
import { RelayMetrics } from "../../src/relay/metrics.ts";
import { testConfig } from "../relay/fixtures/harness.ts";
import { PrivateRedis, REDIS_URL, randomName } from "../support/services.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connection that records what the relay asked of it. */
class Recorder implements PushTarget {
  notified = 0;
  closed: { code: number; reason: string } | null = null;
  notify(): void {
    this.notified++;
  }
  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
  }
  drain(code: number, reason: string): Promise<void> {
    this.close(code, reason);
    return Promise.resolve();
  }
  idle(): Promise<void> {
    return Promise.resolve();
  }
  lowPrekeys(): void {}
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(25);
  }
  assert.fail(`${what}: not within 10 s`);
}

describe("cluster link: nothing published before a subscription took effect is lost", () => {
  const prefix = randomName("link");
  const relays: { hub: DeliveryHub; link: ClusterLink }[] = [];
  before(async () => {
    // The safety poll is an hour: a re-read can only come from the subscription itself.
    const config = testConfig({
      cluster: { redis_url: REDIS_URL, key_prefix: prefix, safety_poll_seconds: 3600 },
    });
    for (let i = 0; i < 2; i++) {
      const hub = new DeliveryHub();
      const link = new ClusterLink({
        url: REDIS_URL,
        config,
        hub,
        log: pino({ level: "silent" }),
        metrics: new RelayMetrics(),
      });
      await link.start();
      relays.push({ hub, link });
    }
    await until(() => relays.every((r) => r.link.health.redis === "subscribed"), "both links subscribed");
  });
  after(async () => {
    for (const relay of relays) await relay.link.close();
  });

  it("a user's first connection re-reads once its channel subscription is live", async () => {
    const [a] = relays as [(typeof relays)[0]];
    const target = new Recorder();
    // A wake-up published now, before the SSUBSCRIBE below reached Redis, reaches no one.
    a.hub.add("ivy", target);
    await until(() => target.notified > 0, "a re-read after the subscription");
    assert.equal(target.closed, null);
  });

  it("a newer login announced before the subscription took effect still closes the older connection", async () => {
    const [a, b] = relays as [(typeof relays)[0], (typeof relays)[0]];
    const older = new Recorder();
    const newer = new Recorder();
    // Relay A took the older connection's generation, but its subscription to jack's channel is not
    // live yet when relay B's newer login is announced: A does not hear it.
    await a.link.claimDevice("jack", older);
    b.hub.add("jack", newer);
    await b.link.claimDevice("jack", newer);
    a.hub.add("jack", older);
    await until(() => older.closed !== null, "the older connection closed");
    assert.deepEqual(older.closed, { code: 4409, reason: "session_replaced" });
    await sleep(200);
    assert.equal(newer.closed, null, "the newer one stays");
  });

  it("a token revoked before the subscription took effect still ends its session", async () => {
    const [a, b] = relays as [(typeof relays)[0], (typeof relays)[0]];
    // The store's answer: kate's token was deleted (relay B revoked it) after relay A authenticated the
    // connection, and B announced it before A's SSUBSCRIBE reached Redis, so A never hears it.
    const revoked = new Set(["kate-token"]);
    a.link.tokenAlive = async (tokenId) => !revoked.has(tokenId);
    b.link.announceSessionsEnded("kate", "token_revoked");
    await sleep(100);
    const session = new Recorder();
    const bystander = new Recorder();
    a.hub.add("kate", session, {
      tokenId: "kate-token",
      expiresAt: Date.now() + 60_000,
      authenticatedAt: Date.now(),
    });
    a.hub.add("kate", bystander, {
      tokenId: "kate-other-token",
      expiresAt: Date.now() + 60_000,
      authenticatedAt: Date.now(),
    });
    await until(() => session.closed !== null, "the revoked token's session closed");
    assert.deepEqual(session.closed, { code: 4401, reason: "token_revoked" });
    assert.equal(bystander.closed, null, "a live token's session stays");
    a.link.tokenAlive = null;
  });
});

describe("cluster link: reconnections do not multiply listeners", () => {
  it("an invalidation is handled once after the subscriber reconnected three times", async () => {
    const redis = await PrivateRedis.start();
    const config = testConfig({
      cluster: { redis_url: redis.url, key_prefix: "relisten", safety_poll_seconds: 3600 },
    });
    const link = new ClusterLink({
      url: redis.url,
      config,
      hub: new DeliveryHub(),
      log: pino({ level: "silent" }),
      metrics: new RelayMetrics(),
    });
    const seen: string[] = [];
    link.addCache({ invalidate: (username) => seen.push(username), setLive: () => {} });
    try {
      await link.start();
      await until(() => link.health.redis === "subscribed", "subscribed");
      const subscriberIds = async () =>
        [...(await redis.command("CLIENT LIST TYPE pubsub")).matchAll(/id=(\d+)/g)].map((m) => m[1]);
      for (let i = 0; i < 3; i++) {
        const before = await subscriberIds();
        assert.match(await redis.command("CLIENT KILL TYPE pubsub"), /^:1/);
        // A new subscriber connection, subscribed again to the invalidation channel.
        for (let j = 0; j < 400; j++) {
          const now = await subscriberIds();
          const numsub = await redis.command("PUBSUB NUMSUB relisten:invalidate");
          if (now.length === 1 && !before.includes(now[0]) && /:1\r\n$/.test(numsub)) break;
          await sleep(25);
        }
      }
      await until(() => link.health.redis === "subscribed", "resubscribed");
      link.announceInvalidation("kim");
      await until(() => seen.length > 0, "the invalidation arrived");
      await sleep(300);
      assert.deepEqual(seen, ["kim"]);
    } finally {
      await link.close();
      await redis.kill();
    }
  });
});
