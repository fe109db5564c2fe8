import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testEnvelope } from "../relay/fixtures/identities.ts";
import { http, signUpOver } from "../relay/fixtures/processes.ts";
import { PrivateRedis } from "../support/services.ts";
import { TestCluster } from "./_cluster.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const LIMIT = 6;

/**
 * Rate limits are the cluster's, not each relay's: a sender spreading its sends over three relays gets
 * the allowance once. With Redis down each relay falls back to its in-memory insurance limiter: still
 * limited (per relay), never open.
 */
describe("cluster: shared rate limits with in-memory insurance", () => {
  let redis: PrivateRedis;
  let cluster: TestCluster;
  before(async () => {
    redis = await PrivateRedis.start();
    cluster = await TestCluster.create({
      relays: 3,
      redisUrl: redis.url,
      overrides: { limits: { rate: { sends_per_minute: LIMIT } } },
    });
    await cluster.start();
    await cluster.ready();
  });
  after(async () => {
    await cluster.stop();
    await redis.kill();
  });

  const send = (url: string, token: string, id: string) =>
    http(
      url,
      "POST",
      "/v1/messages",
      { to: "bob", client_message_id: id, envelope: b64(testEnvelope(id)) },
      token,
    );

  it("a sender spreading sends over three relays is limited once, across all of them", async () => {
    const urls = cluster.relays.map((relay) => relay.url);
    const alice = await signUpOver(urls[0]!, "alice");
    await signUpOver(urls[1]!, "bob");
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 3; i++)
      statuses.push((await send(urls[i % 3]!, alice.token, `a${i}`)).status);
    assert.deepEqual(statuses, [...Array(LIMIT).fill(201), 429, 429, 429]);
  });

  it("with Redis down each relay still limits on its own (insurance), never lets everything through", async () => {
    const url = cluster.relays[2]!.url;
    const carol = await signUpOver(url, "carol");
    await redis.kill();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) statuses.push((await send(url, carol.token, `c${i}`)).status);
    assert.deepEqual(statuses, [...Array(LIMIT).fill(201), 429, 429]);
    await redis.restart();
    await cluster.ready();
  });
});
