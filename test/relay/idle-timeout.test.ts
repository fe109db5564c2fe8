// Automatic logoff (security.token_idle_timeout_seconds; docs/compliance.md, HIPAA 164.312(a)(2)(iii)):
// a token unused for the timeout stops working on HTTP, and the sweeper closes its WebSocket session;
// use — a request, or any frame from the session — keeps it alive. Injectable clock, real sockets.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { sweepOnce } from "../../src/relay/sweeper.ts";
import { buildTestRelay, errorCode, signUp, type TestRelay } from "./fixtures/harness.ts";
import { Peer } from "./fixtures/processes.ts";

const IDLE_S = 60;

describe("token idle timeout", { timeout: 30_000 }, () => {
  let relay: TestRelay;
  let url: string;
  before(async () => {
    relay = await buildTestRelay({
      security: { token_lifetime_seconds: 3600, token_idle_timeout_seconds: IDLE_S },
    });
    await relay.app.listen({ port: 0, host: "127.0.0.1" });
    url = `ws://127.0.0.1:${(relay.app.server.address() as AddressInfo).port}/v1/ws`;
  });
  after(async () => relay.close());

  const inbox = (headers: { authorization: string }) =>
    relay.app.inject({ method: "GET", url: "/v1/messages", headers });

  it("HTTP: use keeps a token alive past the timeout; a token idle for it is refused and deleted", async () => {
    const alice = await signUp(relay.app, "alice");
    assert.equal((await inbox(alice.auth)).statusCode, 200);
    for (let i = 0; i < 3; i++) {
      relay.clock.advance((IDLE_S - 10) * 1000);
      assert.equal((await inbox(alice.auth)).statusCode, 200, "used within the timeout each time");
    }
    relay.clock.advance(IDLE_S * 1000);
    const idle = await inbox(alice.auth);
    assert.equal(idle.statusCode, 401);
    assert.equal(errorCode(idle), "token_expired");
    assert.match(idle.body, /idle timeout/);
    const gone = await inbox(alice.auth);
    assert.equal(errorCode(gone), "unauthenticated", "the idle token was deleted, not just refused once");
  });

  it("WebSocket: frames keep the session; an idle one is closed by the sweeper with 4401 token_idle", async () => {
    const bob = await signUp(relay.app, "bob");
    const token = bob.auth.authorization.slice("Bearer ".length);
    const peer = new Peer(url, token);
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      peer.socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    await peer.waitFor((f) => f.type === "ready");
    relay.clock.advance((IDLE_S - 10) * 1000);
    peer.send({ type: "ack", ids: [1], ref: "busy" });
    await peer.waitFor((f) => f.type === "acked" && f.ref === "busy");
    relay.clock.advance((IDLE_S - 10) * 1000);
    await sweepOnce(relay.context);
    assert.equal(peer.closeCode, null, "the frame 50 s ago was use: not idle yet");
    relay.clock.advance(IDLE_S * 1000);
    await sweepOnce(relay.context);
    assert.deepEqual(await closed, { code: 4401, reason: "token_idle" });
    assert.equal(errorCode(await inbox(bob.auth)), "unauthenticated", "and its token is gone");
  });
});
