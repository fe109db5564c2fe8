// The relay's per-stage timing of messages (src/relay/message-stages.ts), which the relay benchmark
// reads to say where a message's time goes: one message sent, pushed and acknowledged over WebSockets
// is counted once in each stage.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { b64, buildTestRelay, signUp, type TestRelay } from "./fixtures/harness.ts";
import { testEnvelope } from "./fixtures/identities.ts";
import { Peer } from "./fixtures/processes.ts";

const STAGES = ["check", "commit", "push", "ack", "delete"];

function count(metrics: string, series: string): number {
  const line = metrics.split("\n").find((text) => text.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe("message stage metrics", { timeout: 30_000 }, () => {
  let relay: TestRelay;
  let url: string;
  before(async () => {
    relay = await buildTestRelay();
    await relay.app.listen({ port: 0, host: "127.0.0.1" });
    url = `ws://127.0.0.1:${(relay.app.server.address() as AddressInfo).port}/v1/ws`;
  });
  after(async () => relay.close());

  it("counts a message once in each stage from its send frame to the durable delete of its ack", async () => {
    const alice = await signUp(relay.app, "alice");
    const bob = await signUp(relay.app, "bob");
    const token = (auth: { authorization: string }) => auth.authorization.slice("Bearer ".length);
    const sender = new Peer(url, token(alice.auth));
    const receiver = new Peer(url, token(bob.auth));
    try {
      await sender.waitFor((f) => f.type === "ready");
      await receiver.waitFor((f) => f.type === "ready");
      const before = (await relay.app.inject({ method: "GET", url: "/metrics" })).body;
      sender.send({ type: "send", id: "m1", to: "bob", envelope: b64(testEnvelope("stages")) });
      await sender.waitFor((f) => f.type === "sent");
      const pushed = await receiver.waitFor((f) => f.type === "message");
      receiver.send({ type: "ack", ids: [pushed.id] });
      await receiver.waitFor((f) => f.type === "acked");
      const metrics = (await relay.app.inject({ method: "GET", url: "/metrics" })).body;
      for (const stage of STAGES) {
        const series = `nano_message_stage_seconds_count{stage="${stage}"}`;
        assert.equal(count(metrics, series) - count(before, series), 1, `stage ${stage}`);
      }
    } finally {
      sender.socket.close();
      receiver.socket.close();
    }
  });
});
