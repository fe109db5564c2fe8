import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { envelopeMarker, testEnvelope } from "../relay/fixtures/identities.ts";
import { http, Peer, signUpOver } from "../relay/fixtures/processes.ts";
import { TestCluster } from "./_cluster.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/**
 * Three relays on one PostgreSQL and one Redis: a message sent through one relay is pushed at once to
 * the recipient connected to another (a Redis wake-up, not the safety poll: the poll is set to an hour
 * here), and a second login of the same device closes the first connection on whichever relay holds it.
 */
describe("cluster: wake-ups and one connection per device across relays", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.create({ relays: 3, overrides: { cluster: { safety_poll_seconds: 3600 } } });
    await cluster.start();
    await cluster.ready();
  });
  after(() => cluster.stop());

  it("readiness says the Redis subscription is live", async () => {
    const answer = await http(cluster.relays[0]!.url, "GET", "/readyz");
    assert.equal(answer.status, 200);
    assert.equal(answer.json.redis, "subscribed");
    assert.equal(answer.json.degraded, false);
  });

  it("a send through relay 0 reaches a recipient connected to relay 1 without a poll", async () => {
    const [r0, r1, r2] = cluster.relays as [
      (typeof cluster.relays)[0],
      (typeof cluster.relays)[0],
      (typeof cluster.relays)[0],
    ];
    const alice = await signUpOver(r0.url, "alice");
    const bob = await signUpOver(r2.url, "bob");
    const peer = new Peer(r1.wsUrl, bob.token);
    await peer.waitFor((f) => f.type === "ready");
    for (let i = 0; i < 5; i++) {
      const sent = await http(
        r0.url,
        "POST",
        "/v1/messages",
        { to: "bob", client_message_id: `w${i}`, envelope: b64(testEnvelope(`wake ${i}`)) },
        alice.token,
      );
      assert.equal(sent.status, 201, JSON.stringify(sent.json));
      const frame = await peer.waitFor(
        (f) =>
          f.type === "message" &&
          envelopeMarker(new Uint8Array(Buffer.from(String(f.envelope), "base64"))) === `wake ${i}`,
        5000,
      );
      assert.equal(frame.from, "alice");
      assert.equal(frame.id, i + 1, "per-mailbox sequence numbers");
    }
    peer.close();
  });

  it("a new login on relay 2 closes the device's older connection on relay 1 (4409)", async () => {
    const [, r1, r2] = cluster.relays as [
      (typeof cluster.relays)[0],
      (typeof cluster.relays)[0],
      (typeof cluster.relays)[0],
    ];
    const carol = await signUpOver(r1.url, "carol");
    const first = new Peer(r1.wsUrl, carol.token);
    await first.waitFor((f) => f.type === "ready");
    const second = new Peer(r2.wsUrl, carol.token);
    await second.waitFor((f) => f.type === "ready");
    assert.equal(await first.closed, 4409);
    // The newer one stays: a late or repeated announcement of an older login never closes it.
    const third = new Peer(r2.wsUrl, carol.token);
    await third.waitFor((f) => f.type === "ready");
    assert.equal(await second.closed, 4409);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(third.closeCode, null);
    third.close();
  });
});
