import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { NanoClient } from "../../src/client/index.ts";
import type { Relay } from "./_harness.ts";
import { PASSPHRASE, withRelay } from "./_harness.ts";

/**
 * The SDK's relay channel against a real relay process: sends and acknowledgements as frames on one
 * WebSocket per open client, pipelined, with every durability and ordering promise of the outbox.
 * What went over HTTP is read from the relay's own request counters (/metrics).
 */
const ARGON2ID = { memoryKiB: 19456, passes: 2, parallelism: 1 };
const text = (recipient: string, body: string) => ({ recipient, text: body, file: null, cryptoMode: null });

async function users(relay: Relay, dir: string, names: readonly string[]): Promise<NanoClient[]> {
  return Promise.all(
    names.map(async (name) => {
      const client = await NanoClient.create({
        home: join(dir, name),
        mode: "hybrid",
        passphrase: PASSPHRASE,
        relay: relay.url,
        argon2id: ARGON2ID,
      });
      await client.claimUsername(name);
      return client;
    }),
  );
}

/** Sum of a counter over the label sets that contain every one of `labels`. */
function counter(metrics: Map<string, number>, name: string, ...labels: string[]): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    const named = key === name || key.startsWith(`${name}{`);
    if (named && labels.every((label) => key.includes(label))) sum += value;
  }
  return sum;
}

const POSTED = ["nano_http_requests_total", 'method="POST"', 'route="/v1/messages"'] as const;

/** Receives until `count` messages arrived (bounded by the caller's test timeout). */
async function receiveAll(
  client: NanoClient,
  count: number,
  onEach: (text: string, id: string) => Promise<void> = async () => {},
): Promise<string[]> {
  const texts: string[] = [];
  const controller = new AbortController();
  await client.receive({
    // Nothing expected: one look at the relay, no watch.
    watch: count > 0,
    saveDir: null,
    signal: controller.signal,
    onMessage: async (message) => {
      texts.push(message.text);
      await onEach(message.text, message.messageId);
      if (texts.length >= count) controller.abort();
    },
  });
  return texts;
}

async function closeAll(clients: readonly NanoClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close()));
}

test("64 concurrent sends go pipelined over the WebSocket: all arrive, once, in order; acks are batched frames sent after the hand-over", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await users(relay, dir, ["alice", "bob"]);
    try {
      assert.equal((await alice!.send(text("bob", "m0"))).queued, false);
      const sent = await Promise.all(
        Array.from({ length: 64 }, (_, i) => alice!.send(text("bob", `m${i + 1}`))),
      );
      assert.ok(sent.every((result) => !result.queued));
      assert.equal(await alice!.outbox.size(), 0);
      let metrics = await relay.metrics();
      assert.equal(counter(metrics, ...POSTED), 0, "no send went over HTTP");
      assert.equal(counter(metrics, "nano_websocket_frames_total", 'type="send"'), 65);

      const bobLink = await bob!.context.link();
      let checkedBeforeAck = false;
      const texts = await receiveAll(bob!, 65, async (_text, id) => {
        if (checkedBeforeAck) return;
        // Handed over after the local commit and BEFORE the acknowledgement: still at the relay.
        const stored = await bobLink.api.fetchMessages(0);
        assert.ok(stored.some((message) => String(message.id) === id));
        checkedBeforeAck = true;
      });
      assert.deepEqual(
        texts,
        Array.from({ length: 65 }, (_, i) => `m${i}`),
      );
      metrics = await relay.metrics();
      const ackFrames = counter(metrics, "nano_websocket_frames_total", 'type="ack"');
      assert.ok(ackFrames >= 1 && ackFrames < 65, `${ackFrames} ack frames for 65 messages`);
      assert.equal(counter(metrics, "nano_http_requests_total", 'route="/v1/messages/ack"'), 0);
      assert.equal(counter(metrics, "nano_messages_acknowledged_total"), 65);
      assert.deepEqual(await receiveAll(bob!, 0), [], "everything was acknowledged");
    } finally {
      await closeAll([alice!, bob!]);
    }
  }));

test("relay SIGKILLed mid-pipeline and restarted: nothing lost, nothing duplicated, order kept", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await users(relay, dir, ["alice", "bob"]);
    try {
      await alice!.send(text("bob", "m0"));
      const total = 120;
      let next = 1;
      let acknowledged = 0;
      let queued = 0;
      let killed: Promise<void> | null = null;
      const loops = Array.from({ length: 16 }, async () => {
        while (next <= total) {
          const n = next++;
          const result = await alice!.send(text("bob", `m${n}`));
          if (result.queued) queued++;
          else acknowledged++;
          // Killed while sends are on the wire; it stays down until every send was made.
          if (acknowledged >= 40 && killed === null) killed = relay.kill();
        }
      });
      await Promise.all(loops);
      await killed;
      assert.ok(queued > 0, "some sends were made while the relay was down");
      await relay.start(); // same port, same database
      // The next command is the retry: it delivers what the crash left in the outbox.
      await alice!.receive({ watch: false, saveDir: null, onMessage: () => {} });
      assert.equal(await alice!.outbox.size(), 0);
      const texts = await receiveAll(bob!, total + 1);
      assert.deepEqual(
        texts,
        Array.from({ length: total + 1 }, (_, i) => `m${i}`),
      );
      assert.deepEqual(await receiveAll(bob!, 0), [], "each message once");
    } finally {
      await closeAll([alice!, bob!]);
    }
  }));

test("an error frame fails its entry with the relay's code (mailbox_full) while the others proceed", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob, carol] = await users(relay, dir, ["alice", "bob", "carol"]);
    try {
      await alice!.send(text("bob", "b1"));
      await alice!.send(text("carol", "c1"));
      // bob's mailbox holds 3: b2 and b3 fit, b4 is refused; carol's c2 goes through meanwhile.
      const results = await Promise.all([
        alice!.send(text("bob", "b2")),
        alice!.send(text("bob", "b3")),
        alice!.send(text("carol", "c2")),
        alice!.send(text("bob", "b4")),
      ]);
      assert.deepEqual(
        results.map((result) => result.queued),
        [false, false, false, true],
      );
      const pending = await alice!.outbox.pending();
      assert.deepEqual(
        pending.map((entry) => entry.lastError),
        ["mailbox_full"],
      );
      assert.deepEqual(await receiveAll(carol!, 2), ["c1", "c2"]);
      assert.deepEqual(await receiveAll(bob!, 3), ["b1", "b2", "b3"]);
      // Room again: the next send to bob retries b4 first, in order.
      assert.equal((await alice!.send(text("bob", "b5"))).queued, false);
      assert.equal(await alice!.outbox.size(), 0);
      assert.deepEqual(await receiveAll(bob!, 2), ["b4", "b5"]);
    } finally {
      await closeAll([alice!, bob!, carol!]);
    }
  }, "[limits]\nmailbox_max_messages = 3\n"));

test("a token revoked mid-stream: the channel logs in again, reconnects and goes on", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await users(relay, dir, ["alice", "bob"]);
    try {
      for (let n = 1; n <= 5; n++) await alice!.send(text("bob", `m${n}`));
      const link = await alice!.context.link();
      const token = await link.api.token();
      const revoked = await fetch(`${relay.url}/v1/auth/token`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(revoked.status, 204);
      for (let n = 6; n <= 10; n++) await alice!.send(text("bob", `m${n}`));
      // A send that raced the 4401 close is queued and goes out with the next command.
      await alice!.receive({ watch: false, saveDir: null, onMessage: () => {} });
      assert.equal(await alice!.outbox.size(), 0);
      assert.notEqual(await link.api.token(), token, "logged in again");
      const metrics = await relay.metrics();
      assert.equal(counter(metrics, ...POSTED), 0, "the sends stayed on the WebSocket");
      assert.deepEqual(
        await receiveAll(bob!, 10),
        Array.from({ length: 10 }, (_, i) => `m${i + 1}`),
      );
    } finally {
      await closeAll([alice!, bob!]);
    }
  }));

/** An HTTP proxy to the relay that refuses every WebSocket upgrade (like a proxy without WS support). */
async function refusingProxy(relayPort: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((incoming, outgoing) => {
    const upstream = request(
      {
        host: "127.0.0.1",
        port: relayPort,
        path: incoming.url,
        method: incoming.method,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on("error", () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  server.on("upgrade", (_incoming, socket) => {
    socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test("the relay refuses the WebSocket upgrade: sends and acks fall back to HTTP", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await users(relay, dir, ["alice", "bob"]);
    await alice!.close();
    const proxy = await refusingProxy(relay.port);
    const behind = await NanoClient.open({
      home: join(dir, "alice"),
      passphrase: PASSPHRASE,
      relay: proxy.url,
    });
    try {
      const results = [];
      for (const n of [1, 2, 3]) results.push(await behind.send(text("bob", `m${n}`)));
      assert.deepEqual(
        results.map((result) => result.queued),
        [false, false, false],
      );
      const metrics = await relay.metrics();
      assert.equal(counter(metrics, ...POSTED), 3);
      assert.equal(counter(metrics, "nano_websocket_frames_total", 'type="send"'), 0);
      assert.deepEqual(await receiveAll(bob!, 3), ["m1", "m2", "m3"]);
    } finally {
      await behind.close();
      await bob!.close();
      await proxy.close();
    }
  }));
