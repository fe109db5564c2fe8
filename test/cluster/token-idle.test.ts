// Automatic logoff (security.token_idle_timeout_seconds) in a cluster: a load balancer spreads one
// client's requests over the relays, so no relay sees all of a token's uses. A token in use through
// relay 0 must not be logged off by relay 1, which saw it last a while ago (neither by the next request
// that reaches relay 1 nor by relay 1's sweeper); and a token nobody uses is still logged off.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { http, signUpOver } from "../relay/fixtures/processes.ts";
import { TestCluster } from "./_cluster.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const IDLE_S = 3;

describe("cluster: automatic logoff sees uses on every relay", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.create({
      relays: 2,
      overrides: {
        security: { token_idle_timeout_seconds: IDLE_S },
        limits: { sweep_interval_seconds: 0.5 },
      },
    });
    await cluster.start();
    await cluster.ready();
  });
  after(() => cluster.stop());

  const use = (relay: number, token: string) =>
    http(cluster.relays[relay]!.url, "GET", "/v1/prekeys", undefined, token);

  it("a token used through relay 0 all along is not logged off by relay 1", async () => {
    const alice = await signUpOver(cluster.relays[0]!.url, "alice");
    assert.equal((await use(1, alice.token)).status, 200, "relay 1 sees the token once");
    // Used through relay 0 only, every 400 ms, for twice the idle timeout.
    const until = Date.now() + IDLE_S * 2000;
    while (Date.now() < until) {
      const answer = await use(0, alice.token);
      assert.equal(answer.status, 200, `still logged in through relay 0: ${JSON.stringify(answer.json)}`);
      await sleep(400);
    }
    const back = await use(1, alice.token);
    assert.equal(back.status, 200, `relay 1 accepts a token in use elsewhere: ${JSON.stringify(back.json)}`);
  });

  it("a token nobody uses is still logged off", async () => {
    const bob = await signUpOver(cluster.relays[0]!.url, "bob");
    assert.equal((await use(1, bob.token)).status, 200);
    await sleep(IDLE_S * 1000 + 1500);
    for (const relay of [0, 1]) assert.equal((await use(relay, bob.token)).status, 401, `relay ${relay}`);
  });
});
