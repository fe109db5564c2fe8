import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { olderRelays } from "../../src/cli/relay/migrate-postgres.ts";
import { createRedisClient, type RedisClient } from "../../src/relay/cluster/redis-clients.ts";
import { testConfig } from "../relay/fixtures/harness.ts";
import { REDIS_URL, randomName } from "../support/services.ts";

/**
 * `nano-relay migrate --contract` on PostgreSQL waits for the cluster: a contract step N runs only when
 * every live relay's presence record (docs/cluster.md) announces code that ships N or more.
 */
describe("contract steps wait for older cluster relays", () => {
  const prefix = randomName("contract");
  let redis: RedisClient;
  const config = testConfig({ cluster: { redis_url: REDIS_URL, key_prefix: prefix } });
  const announce = (node: string, schema: number | undefined, at = Date.now()) =>
    redis.hSet(
      `${prefix}:relays`,
      node,
      JSON.stringify({
        node,
        api_url: `http://${node}`,
        connections: 0,
        pending_writes: 0,
        at,
        ...(schema === undefined ? {} : { schema }),
      }),
    );
  before(async () => {
    redis = createRedisClient(REDIS_URL, "contract-presence-test");
    await redis.connect();
  });
  after(async () => {
    await redis.del(`${prefix}:relays`);
    redis.destroy();
  });

  it("names the relays older than the step, and none once every live one is new enough", async () => {
    await announce("a", 4);
    await announce("b", 3);
    await announce("c", undefined); // a relay from before presence carried its schema
    await announce("gone", 1, Date.now() - 10 * 60_000); // died long ago: not a live relay
    const why = await olderRelays(config, 4);
    assert.match(why ?? "", /http:\/\/b \(knows schema 3\)/);
    assert.match(why ?? "", /http:\/\/c/);
    assert.doesNotMatch(why ?? "", /http:\/\/a|gone/);
    await announce("b", 4);
    await announce("c", 5);
    assert.equal(await olderRelays(config, 4), null);
  });

  it("refuses when the cluster's relays cannot be seen", async () => {
    assert.match((await olderRelays(testConfig({}), 4)) ?? "", /no Redis/);
    // Nothing listens on port 1: the answer is a refusal, not a wait for Redis to come back.
    const down = testConfig({ cluster: { redis_url: "redis://127.0.0.1:1", key_prefix: prefix } });
    assert.match((await olderRelays(down, 4)) ?? "", /Redis did not answer/);
  });
});
