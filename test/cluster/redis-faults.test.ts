import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testEnvelope } from "../relay/fixtures/identities.ts";
import { http, signUpOver } from "../relay/fixtures/processes.ts";
import { PrivateRedis } from "../support/services.ts";
import { TestCluster } from "./_cluster.ts";
import { runTraffic } from "./_traffic.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Redis is a signal, never a copy (docs/cluster.md): three relays under continuous traffic while
 * their pub/sub connections are killed (`CLIENT KILL TYPE pubsub`) and while Redis itself is killed
 * and restarted empty. The relays report the outage in /readyz, keep serving from PostgreSQL by
 * polling, resubscribe, catch up from their cursors, and nothing acknowledged is lost or duplicated.
 * The safety poll is set to an hour, so catching up cannot be its doing. The Redis here is the test's
 * own (killing the shared one would break every other test on the machine).
 */
describe("cluster: Redis faults under load", () => {
  let redis: PrivateRedis;
  let cluster: TestCluster;
  before(async () => {
    redis = await PrivateRedis.start();
    cluster = await TestCluster.create({
      relays: 3,
      redisUrl: redis.url,
      overrides: { cluster: { safety_poll_seconds: 3600, health_interval_seconds: 1 } },
    });
    await cluster.start();
    await cluster.ready();
  });
  after(async () => {
    await cluster.stop();
    await redis.kill();
  });

  it("CLIENT KILL TYPE pubsub and a Redis restart lose and duplicate nothing", {
    timeout: 200_000,
  }, async () => {
    const readiness: unknown[] = [];
    let pubsubKills = "";
    const report = await runTraffic({
      relays: cluster.relays,
      up: new Set([0, 1, 2]),
      databaseUrl: cluster.database.url,
      senders: 3,
      recipients: 3,
      perSender: 300,
      deadlineMs: 150_000,
      faults: async (progress) => {
        while (progress() < 0.2) await sleep(5);
        pubsubKills = await redis.command("CLIENT KILL TYPE pubsub");
        // Resubscribed (node-redis reconnects the subscriber and re-issues every SSUBSCRIBE).
        await cluster.ready();
        while (progress() < 0.4) await sleep(5);
        await redis.kill();
        // While Redis is down: not ready, degraded, still serving (the traffic goes on meanwhile).
        for (;;) {
          const answer = await http(cluster.relays[1]!.url, "GET", "/readyz");
          if (answer.status === 503) {
            readiness.push(answer.json);
            break;
          }
          await sleep(20);
        }
        // Sends go on while Redis is down; it comes back (empty) with most of the traffic still to come.
        const deadline = Date.now() + 30_000;
        while (progress() < 0.55 && Date.now() < deadline) await sleep(5);
        assert.ok(progress() >= 0.55, "sends are acknowledged while Redis is down");
        await redis.restart();
        await cluster.ready();
      },
    });
    process.stdout.write(
      `# redis faults: ${JSON.stringify({ ...report, pubsubKills: pubsubKills.trim() })}\n`,
    );
    assert.match(pubsubKills, /^:[1-9]/, "the relays' subscriber connections were killed");
    assert.deepEqual(readiness[0], {
      ready: false,
      store: "writable",
      draining: false,
      websocket_connections: (readiness[0] as { websocket_connections: number }).websocket_connections,
      redis: "down",
      node: (readiness[0] as { node: string }).node,
      degraded: true,
    });
    assert.deepEqual(report.errors.slice(0, 5), []);
    assert.equal(report.acknowledged, report.total);
    assert.equal(report.delivered, report.total, "no acknowledged message was lost");
    assert.equal(report.duplicatesAfterAck, 0);
    assert.deepEqual(report.orderViolations.slice(0, 5), []);
    assert.equal(report.leftInMailboxes, 0);
    // After the restart every relay is subscribed again and wake-ups flow (not polls: an hour).
    for (const relay of cluster.relays) {
      const answer = await http(relay.url, "GET", "/readyz");
      assert.equal(answer.json.redis, "subscribed");
    }
  });

  it("a relay starting while Redis is down starts degraded, serves, and becomes ready when Redis returns", {
    timeout: 60_000,
  }, async () => {
    const relay = cluster.relays[0]!;
    await relay.stop();
    await redis.kill();
    await relay.start();
    const answer = await http(relay.url, "GET", "/readyz");
    assert.equal(answer.status, 503);
    assert.equal(answer.json.redis, "down");
    const zoe = await signUpOver(relay.url, "zoe");
    const sent = await http(
      relay.url,
      "POST",
      "/v1/messages",
      {
        to: "zoe",
        client_message_id: "solo",
        envelope: Buffer.from(testEnvelope("degraded")).toString("base64"),
      },
      zoe.token,
    );
    assert.equal(sent.status, 201, "sends are stored without Redis");
    await redis.restart();
    await cluster.ready();
  });
});
