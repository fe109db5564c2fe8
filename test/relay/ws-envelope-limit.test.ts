// An envelope above the relay's configured limit but within the protocol's (64 KiB) gets the typed
// `envelope_too_large` on both transports: over the WebSocket as an `error` frame for its id, with the
// sends pipelined around it answered as usual, instead of a 1009 close that failed them all.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { MAX_ENVELOPE_BYTES } from "../../src/protocol/envelope.ts";
import { b64, buildTestRelay, errorCode, signUp, type TestRelay } from "./fixtures/harness.ts";
import { testEnvelope } from "./fixtures/identities.ts";
import { Peer } from "./fixtures/processes.ts";

const SMALL = testEnvelope("small");
/** Well above the configured limit, within the protocol's. */
const LARGE = testEnvelope(new Uint8Array(30_000));

describe("envelopes over the configured limit", { timeout: 30_000 }, () => {
  let relay: TestRelay;
  let url: string;
  before(async () => {
    relay = await buildTestRelay({ limits: { max_envelope_bytes: SMALL.length + 600 } });
    await relay.app.listen({ port: 0, host: "127.0.0.1" });
    url = `ws://127.0.0.1:${(relay.app.server.address() as AddressInfo).port}/v1/ws`;
  });
  after(async () => relay.close());

  it("are answered envelope_too_large by id over the WebSocket; pipelined sends around them succeed", async () => {
    assert.ok(LARGE.length <= MAX_ENVELOPE_BYTES && LARGE.length > 8 * SMALL.length);
    const alice = await signUp(relay.app, "alice");
    await signUp(relay.app, "bob");
    const peer = new Peer(url, alice.auth.authorization.slice("Bearer ".length));
    await peer.waitFor((frame) => frame.type === "ready");
    peer.send({ type: "send", id: "before", to: "bob", envelope: b64(SMALL) });
    peer.send({ type: "send", id: "large", to: "bob", envelope: b64(LARGE) });
    peer.send({ type: "send", id: "after", to: "bob", envelope: b64(testEnvelope("after")) });
    const refused = await peer.waitFor((frame) => frame.id === "large");
    assert.equal(refused.type, "error");
    assert.equal(refused.code, "envelope_too_large");
    assert.equal((await peer.waitFor((frame) => frame.id === "before")).type, "sent");
    assert.equal((await peer.waitFor((frame) => frame.id === "after")).type, "sent");
    assert.equal(peer.closeCode, null, "the connection stays open");
    peer.close();
  });

  it("are answered envelope_too_large over HTTP too, not body_too_large", async () => {
    const carol = await signUp(relay.app, "carol");
    const response = await relay.app.inject({
      method: "POST",
      url: "/v1/messages",
      headers: carol.auth,
      payload: { to: "bob", client_message_id: "large-http", envelope: b64(LARGE) },
    });
    assert.equal(response.statusCode, 413);
    assert.equal(errorCode(response), "envelope_too_large");
  });
});
