import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { blake2b, toHex } from "../../src/crypto/index.ts";
import { envelopeMarker, TestIdentity, testEnvelope } from "../relay/fixtures/identities.ts";
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

  it("nano-relay status --config shows the whole cluster: every relay ready, PostgreSQL and Redis up", async () => {
    // Presence records are refreshed by each relay's health loop; wait for the first round.
    let report: {
      relays: { state: string; url: string }[];
      postgres: { up: boolean };
      redis: { up: boolean };
    } | null = null;
    for (let i = 0; i < 100; i++) {
      const status = cluster.cli("status", "--json");
      report = JSON.parse(status.stdout) as typeof report;
      if (report!.relays.length === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(report!.postgres.up, true);
    assert.equal(report!.redis.up, true);
    assert.deepEqual(
      report!.relays.map((r) => r.state),
      ["ready", "ready", "ready"],
    );
    assert.deepEqual(report!.relays.map((r) => r.url).sort(), cluster.relays.map((r) => r.url).sort());
  });

  it("a challenge from one relay is answered at another, once (challenges are shared in PostgreSQL)", async () => {
    const [r0, r1, r2] = cluster.relays as [
      (typeof cluster.relays)[0],
      (typeof cluster.relays)[0],
      (typeof cluster.relays)[0],
    ];
    const dave = await TestIdentity.create("dave");
    const issued = await http(r0.url, "POST", "/v1/challenges", { purpose: "claim", username: "dave" });
    const challenge = new Uint8Array(Buffer.from(String(issued.json.challenge), "base64"));
    const claim = {
      username: "dave",
      identity_record: b64(dave.record),
      challenge: b64(challenge),
      signature: b64(await dave.claimSignature(challenge)),
    };
    const claimed = await http(r1.url, "POST", "/v1/accounts", claim);
    assert.equal(claimed.status, 201, JSON.stringify(claimed.json));
    const replayed = await http(r2.url, "POST", "/v1/accounts", claim);
    assert.equal(replayed.status, 401, JSON.stringify(replayed.json));
    assert.equal(
      (replayed.json.error as { code: string }).code,
      "challenge_invalid",
      "used once, across the cluster",
    );
  });

  it("an attachment uploaded through one relay is downloaded through another (a shared blob folder)", async () => {
    const [r0, r1] = cluster.relays as [(typeof cluster.relays)[0], (typeof cluster.relays)[0]];
    const erin = await signUpOver(r0.url, "erin");
    const frank = await signUpOver(r1.url, "frank");
    const blob = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    const hash = toHex(blake2b(blob));
    const put = await fetch(`${r0.url}/v1/attachments/${hash}?recipients=frank`, {
      method: "PUT",
      headers: { authorization: `Bearer ${erin.token}`, "content-type": "application/octet-stream" },
      body: blob,
    });
    assert.equal(put.status, 201, await put.text());
    const got = await fetch(`${r1.url}/v1/attachments/${hash}`, {
      headers: { authorization: `Bearer ${frank.token}` },
    });
    assert.equal(got.status, 200);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), blob);
  });
});
