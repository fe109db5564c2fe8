// `nano-relay status` is what an operator runs when something is wrong, so it must answer when Redis is
// the thing that is wrong: it reports Redis down and exits 1, instead of waiting for Redis for ever.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PrivateRedis } from "../support/services.ts";
import { TestCluster } from "./_cluster.ts";

describe("nano-relay status with Redis down", () => {
  let redis: PrivateRedis;
  let cluster: TestCluster;
  before(async () => {
    // A Redis that existed and is gone: its port is closed.
    redis = await PrivateRedis.start();
    await redis.kill();
    cluster = await TestCluster.create({ relays: 0, redisUrl: redis.url });
  });
  after(() => cluster.stop());

  it("reports Redis down and exits 1 within seconds", () => {
    const status = cluster.cli("status", "--json");
    assert.equal(status.status, 1, `exit ${status.status}: ${status.stderr}`);
    const report = JSON.parse(status.stdout) as { redis: { up: boolean }; postgres: { up: boolean } };
    assert.equal(report.redis.up, false);
    assert.equal(report.postgres.up, true);
  });
});
