import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tempDir, testConfig } from "./fixtures/harness.ts";
import { testEnvelope } from "./fixtures/identities.ts";
import { http, Peer, RelayProcess, signUpOver } from "./fixtures/processes.ts";

/**
 * The drain a rolling deploy relies on (docs/relay.md "Shutdown"): after SIGTERM the relay leaves
 * rotation (/readyz 503) but keeps serving for drain_delay_seconds — Kubernetes and load balancers
 * take that long to stop sending clients — then stops accepting and closes its WebSockets with 1012
 * in batches spread over drain_close_period_seconds, answering everything each socket had sent.
 * The delays only give the test room on a loaded machine; nothing here measures time.
 */
const envelope = () => Buffer.from(testEnvelope("drain")).toString("base64");

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("drain: delay, then 1012 in batches", () => {
  it("serves through the drain delay with readiness off, then closes sockets batch by batch with 1012", async () => {
    const dir = tempDir("drain-delay");
    const relay = new RelayProcess(
      testConfig(
        { server: { drain_delay_seconds: 10, drain_close_period_seconds: 8, shutdown_grace_seconds: 30 } },
        dir,
      ),
      dir,
    );
    await relay.start();
    try {
      const alice = await signUpOver(relay.url, "alice");
      await signUpOver(relay.url, "bob");
      const peers: Peer[] = [];
      for (let i = 0; i < 10; i++) {
        const peer = new Peer(relay.wsUrl, alice.token);
        await peer.waitFor((f) => f.type === "ready");
        peers.push(peer);
      }
      relay.kill("SIGTERM");
      await until(async () => (await http(relay.url, "GET", "/readyz")).status === 503, "readiness off");
      const ready = await http(relay.url, "GET", "/readyz");
      assert.equal(ready.json.draining, true);

      // Still serving: an HTTP send is stored and a new WebSocket is accepted and served.
      const posted = await http(
        relay.url,
        "POST",
        "/v1/messages",
        { to: "bob", client_message_id: "during-delay", envelope: envelope() },
        alice.token,
      );
      assert.equal(posted.status, 201, JSON.stringify(posted.json));
      const late = new Peer(relay.wsUrl, alice.token);
      await late.waitFor((f) => f.type === "ready");
      late.send({ type: "send", id: "late-1", to: "bob", envelope: envelope() });
      await late.waitFor((f) => f.type === "sent" && f.id === "late-1");
      peers.push(late);

      // The first batch closes with 1012 while the last one (the newest socket) still serves.
      const first = await Promise.race(peers.map((peer) => peer.closed));
      assert.equal(first, 1012);
      assert.equal(late.closeCode, null, "every socket was closed at once, not in batches");
      late.send({ type: "send", id: "late-2", to: "bob", envelope: envelope() });
      await late.waitFor((f) => f.type === "sent" && f.id === "late-2");

      for (const peer of peers) assert.equal(await peer.closed, 1012);
      await relay.exited();
      assert.equal(relay.exitCode, 0, relay.output);
      assert.deepEqual(
        peers.flatMap((peer) => peer.frames.filter((f) => f.type === "error")),
        [],
        "no send was refused",
      );
    } finally {
      await relay.stop();
    }
  });
});
