import assert from "node:assert/strict";
import { test } from "node:test";
import { type DelayProxy, startDelayProxy } from "../../bench/_e2e-proxy.ts";
import { NanoClient } from "../../src/client/index.ts";
import { PASSPHRASE, User, withRelay } from "./_harness.ts";

/**
 * The SDK's per-message cost in relay requests (docs/performance.md "Where the time goes"), counted
 * by a loopback proxy that sees every HTTP request line from the client to the relay. Sends travel as
 * frames on the client's one WebSocket (its upgrade is the `GET /v1/ws` line), so a send on an open
 * session costs no HTTP request at all.
 */
function delta(after: Map<string, number>, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [route, count] of after) {
    const added = count - (before.get(route) ?? 0);
    if (added > 0) out[route] = added;
  }
  return out;
}

const text = (recipient: string, body: string) => ({ recipient, text: body, file: null, cryptoMode: null });

async function sendThroughProxy(home: string, proxy: DelayProxy): Promise<void> {
  const open = () =>
    NanoClient.open({ home, passphrase: PASSPHRASE, relay: `http://127.0.0.1:${proxy.port}` });
  const client = await open();
  try {
    const first = await client.send(text("bob", "first"));
    assert.equal(first.newSession, true);
    assert.equal(proxy.requests.get("POST /v1/auth/token"), 1);
    assert.equal(proxy.requests.get("GET /v1/ws"), 1, "one WebSocket, opened by the first send");
    for (const n of [2, 3, 4]) {
      const before = new Map(proxy.requests);
      const sent = await client.send(text("bob", `message ${n}`));
      assert.equal(sent.queued, false);
      // No login, no peer-identity request, no POST: the send went as a frame on the open socket.
      assert.deepEqual(delta(proxy.requests, before), {});
    }
    // Concurrent sends are pipelined on the same socket; none re-posts another's message.
    const before = new Map(proxy.requests);
    const concurrent = await Promise.all([5, 6, 7, 8].map((n) => client.send(text("bob", `message ${n}`))));
    assert.deepEqual(
      concurrent.map((sent) => sent.queued),
      [false, false, false, false],
    );
    assert.deepEqual(delta(proxy.requests, before), {});
    assert.equal(await client.outbox.size(), 0);
  } finally {
    await client.close();
  }
  // A newly opened client has checked nothing yet: its first send on the existing session asks the
  // relay for bob's record (and logs in, and opens its socket), the next one does not.
  const reopened = await open();
  try {
    let before = new Map(proxy.requests);
    await reopened.send(text("bob", "message 9"));
    assert.equal(delta(proxy.requests, before)["GET /v1/accounts/bob"], 1);
    before = new Map(proxy.requests);
    await reopened.send(text("bob", "message 10"));
    assert.deepEqual(delta(proxy.requests, before), {});
  } finally {
    await reopened.close();
  }
}

test("an open client logs in once, opens one WebSocket, and sends on an existing session without HTTP", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await Promise.all([alice.setUp(relay, "hybrid"), bob.setUp(relay, "hybrid")]);
    const proxy = await startDelayProxy(relay.port, 0);
    try {
      await sendThroughProxy(alice.home, proxy);
    } finally {
      await proxy.close();
    }
    const received = (await bob.receive()).map((m) => m.text);
    assert.deepEqual(received.slice(0, 4), ["first", "message 2", "message 3", "message 4"]);
    assert.deepEqual([...received.slice(4, 8)].sort(), ["message 5", "message 6", "message 7", "message 8"]);
    assert.deepEqual(received.slice(8), ["message 9", "message 10"]);
  }));
