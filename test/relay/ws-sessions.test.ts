// A WebSocket session lives no longer than the token that opened it (docs/api.md, close code 4401):
// it ends at the token's expiry (injectable clock: the sweeper and the next frame both catch it), on
// DELETE /v1/auth/token of THAT token (other sessions stay), and on an identity update.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { sweepOnce } from "../../src/relay/sweeper.ts";
import { b64, buildTestRelay, login, signUp, type TestRelay } from "./fixtures/harness.ts";
import { Peer } from "./fixtures/processes.ts";

const LIFETIME_S = 600;

/** A peer plus the close reason (the fixture keeps only the code). */
function connect(
  url: string,
  token: string,
): { peer: Peer; closed: Promise<{ code: number; reason: string }> } {
  const peer = new Peer(url, token);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    peer.socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { peer, closed };
}

describe("websocket sessions end with their token", { timeout: 30_000 }, () => {
  let relay: TestRelay;
  let url: string;
  before(async () => {
    relay = await buildTestRelay({ security: { token_lifetime_seconds: LIFETIME_S } });
    await relay.app.listen({ port: 0, host: "127.0.0.1" });
    url = `ws://127.0.0.1:${(relay.app.server.address() as AddressInfo).port}/v1/ws`;
  });
  after(async () => relay.close());

  const tokenOf = (auth: { authorization: string }) => auth.authorization.slice("Bearer ".length);

  it("closes with 4401 token_expired once the clock passes the expiry (sweeper and next frame)", async () => {
    const alice = await signUp(relay.app, "alice");
    const bob = await signUp(relay.app, "bob");
    const swept = connect(url, tokenOf(alice.auth));
    const framed = connect(url, tokenOf(bob.auth));
    await swept.peer.waitFor((f) => f.type === "ready");
    await framed.peer.waitFor((f) => f.type === "ready");
    await sweepOnce(relay.context);
    assert.equal(swept.peer.closeCode, null, "a sweep before expiry ends nothing");
    relay.clock.advance(LIFETIME_S * 1000 + 1);
    // bob's session: the next frame finds the token expired before doing anything.
    framed.peer.send({ type: "ack", ids: [1] });
    assert.deepEqual(await framed.closed, { code: 4401, reason: "token_expired" });
    assert.ok(framed.peer.frames.some((f) => f.type === "error" && f.code === "token_expired"));
    assert.ok(!framed.peer.frames.some((f) => f.type === "acked"), "the frame was not acted on");
    // alice's session is idle: the sweeper ends it.
    await sweepOnce(relay.context);
    assert.deepEqual(await swept.closed, { code: 4401, reason: "token_expired" });
    relay.clock.advance(-(LIFETIME_S * 1000 + 1));
  });

  it("closes the revoked token's session with 4401 token_revoked and keeps the user's others", async () => {
    const carol = await signUp(relay.app, "carol");
    const other = await login(relay.app, carol.user);
    const revoked = connect(url, tokenOf(carol.auth));
    const kept = connect(url, other);
    await revoked.peer.waitFor((f) => f.type === "ready");
    await kept.peer.waitFor((f) => f.type === "ready");
    const response = await relay.app.inject({ method: "DELETE", url: "/v1/auth/token", headers: carol.auth });
    assert.equal(response.statusCode, 204);
    assert.deepEqual(await revoked.closed, { code: 4401, reason: "token_revoked" });
    kept.peer.send({ type: "ack", ids: [1], ref: "still-here" });
    const acked = await kept.peer.waitFor((f) => f.type === "acked");
    assert.equal(acked.ref, "still-here");
    assert.equal(kept.peer.closeCode, null);
    kept.peer.socket.close();
    await kept.closed;
  });

  it("closes every session of a user whose identity record is updated", async () => {
    const dave = await signUp(relay.app, "dave");
    const erin = await signUp(relay.app, "erin");
    const first = connect(url, tokenOf(dave.auth));
    const second = connect(url, await login(relay.app, dave.user));
    const bystander = connect(url, tokenOf(erin.auth));
    for (const session of [first, second, bystander]) await session.peer.waitFor((f) => f.type === "ready");
    const { next, signature } = await dave.user.successor();
    const updated = await relay.app.inject({
      method: "PUT",
      url: "/v1/accounts/dave/identity",
      headers: dave.auth,
      payload: { identity_record: b64(next.record), signature: b64(signature) },
    });
    assert.equal(updated.statusCode, 200, updated.body);
    assert.deepEqual(await first.closed, { code: 4401, reason: "identity_updated" });
    assert.deepEqual(await second.closed, { code: 4401, reason: "identity_updated" });
    assert.equal(bystander.peer.closeCode, null, "other users' sessions are untouched");
    bystander.peer.socket.close();
    await bystander.closed;
  });
});
