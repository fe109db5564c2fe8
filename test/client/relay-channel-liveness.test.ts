import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import type { WebSocket as WsSocket } from "ws";
import { CHANNEL_LIMITS } from "../../src/client/transport/relay-channel.ts";
import { NanoError } from "../../src/errors/index.ts";
import { collect, sendReady, until, withFakeRelay } from "./_fake-relay.ts";

/**
 * Nothing the relay channel owes waits forever (docs/sdk.md "Transport"): an unanswered frame or ping
 * ends the socket after a deadline (injected short here; 15 s by default) and everything owed rejects
 * with `relay_unreachable` together; a relay that keeps dropping connections is met with a growing
 * backoff; and frames held back by the outstanding cap never overtake the written ones on a reconnect.
 * The `timeout`s only bound a test that would otherwise hang; nothing here measures time.
 */
const CLOSER = new URL("./fixtures/channel-closer.ts", import.meta.url).pathname;
const envelope = new Uint8Array([1, 2, 3]);
const isUnreachable = (error: unknown) => NanoError.is(error, "relay_unreachable");
const sent = (socket: WsSocket, id: unknown) =>
  socket.send(JSON.stringify({ type: "sent", id, server_id: 7, duplicate: false }));

test("a send and an ack the relay never answers reject relay_unreachable at the deadline; the next send reconnects", {
  timeout: 20_000,
}, () => {
  let connections = 0;
  return withFakeRelay(
    (socket, frame) => {
      if (connections > 1) sent(socket, frame.id); // the first connection is silent
    },
    async (channel) => {
      const seen = collect(channel);
      const results = await Promise.allSettled([channel.send("bob", "m1", envelope), channel.ack([1, 2])]);
      assert.ok(results.every((result) => result.status === "rejected" && isUnreachable(result.reason)));
      assert.ok(seen.errors.some(isUnreachable), "the listeners hear why the socket ended");
      assert.equal(channel.outstanding, 0);
      seen.stop();
      assert.deepEqual(await channel.send("bob", "m2", envelope), { serverId: 7, duplicate: false });
    },
    {
      channel: { answerTimeoutMs: 50 },
      onConnect: (socket) => {
        connections++;
        sendReady(socket);
      },
    },
  );
});

test("answers that keep coming keep the connection: the deadline is per frame, not per connection", {
  timeout: 20_000,
}, () => {
  let connections = 0;
  let owed: unknown = null;
  return withFakeRelay(
    // Answers each send when the next one arrives, so one frame is always outstanding.
    (socket, frame) => {
      if (owed !== null) sent(socket, owed);
      owed = frame.id;
    },
    async (channel) => {
      const answers: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        answers.push(channel.send("bob", `m${i}`, envelope));
        await new Promise((resolve) => setTimeout(resolve, 60)); // 600 ms in all, twice the deadline
      }
      channel.send("bob", "last", envelope).catch(() => {});
      await Promise.all(answers);
      assert.equal(connections, 1);
    },
    {
      channel: { answerTimeoutMs: 300 },
      onConnect: (socket) => {
        connections++;
        sendReady(socket);
      },
    },
  );
});

test("a relay that stops answering pings is terminated and a listening channel reconnects; one that answers is kept", {
  timeout: 30_000,
}, async () => {
  let connections = 0;
  await withFakeRelay(
    () => {},
    async (channel) => {
      const seen = collect(channel);
      await until(() => seen.readies >= 2, "a second connection after the unanswered ping");
      assert.ok(seen.errors.some(isUnreachable));
      seen.stop();
    },
    {
      autoPong: false,
      channel: { pingIntervalMs: 10, answerTimeoutMs: 40, reconnect: { baseMs: 1 } },
      onConnect: (socket) => {
        connections++;
        sendReady(socket);
      },
    },
  );
  assert.ok(connections >= 2);

  let pings = 0;
  connections = 0;
  await withFakeRelay(
    () => {},
    async (channel) => {
      const seen = collect(channel);
      await until(() => pings >= 10, "ten pings answered");
      assert.equal(seen.readies, 1);
      assert.equal(connections, 1, "answered pings keep the one connection");
      assert.deepEqual(seen.errors, []);
      seen.stop();
    },
    {
      channel: { pingIntervalMs: 5, answerTimeoutMs: 1_000 },
      onConnect: (socket) => {
        connections++;
        socket.on("ping", () => pings++);
        sendReady(socket);
      },
    },
  );
});

test("close() leaves nothing that keeps the process alive, even with a relay that answers nothing", {
  timeout: 20_000,
}, async () => {
  let child: ReturnType<typeof spawn> | undefined;
  let output = "";
  let exited = false;
  await withFakeRelay(
    () => {},
    async (_channel, _auth, url) => {
      // A child with the default 15 s deadlines: it must exit at once after close().
      child = spawn(process.execPath, [CLOSER, url], { stdio: ["ignore", "pipe", "inherit"] });
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.on("exit", () => {
        exited = true;
      });
      await until(() => exited, "the child exits after close()");
    },
    {
      autoPong: false,
      onConnect: (socket) => {
        sendReady(socket);
        socket.pause(); // reads nothing more: not the send, not the close frame
      },
    },
  ).finally(() => child?.kill());
  assert.equal(output, "rejected closed\n");
});

test("a relay that accepts and drops every connection gets a growing backoff; one that stays up resets it", {
  timeout: 30_000,
}, async () => {
  let connections = 0;
  await withFakeRelay(
    () => {},
    async (channel) => {
      const seen = collect(channel);
      await until(() => connections >= 6, "six connections");
      // Reset on every `ready`, the exponent would stay at 1 and the relay see ~4 logins a second.
      assert.ok(channel.reconnectAttempts >= 5, `backoff exponent ${channel.reconnectAttempts}`);
      seen.stop();
    },
    {
      channel: { reconnect: { baseMs: 1, maxMs: 20 } },
      onConnect: (socket) => {
        connections++;
        sendReady(socket);
        socket.close(1001, "going away");
      },
    },
  );

  connections = 0;
  await withFakeRelay(
    () => {},
    async (channel) => {
      const seen = collect(channel);
      await until(
        () => connections === 4 && channel.reconnectAttempts === 0,
        "the fourth connection counts as stable",
      );
      assert.equal(seen.readies, 4);
      seen.stop();
    },
    {
      channel: { reconnect: { baseMs: 1, maxMs: 20 }, stableAfterMs: 30 },
      onConnect: (socket) => {
        connections++;
        sendReady(socket);
        if (connections <= 3) socket.close(1001, "going away");
      },
    },
  );
});

test("a socket that closes rejects the frames held back by the outstanding cap too, so none overtakes a written one", {
  timeout: 20_000,
}, () => {
  const cap = CHANNEL_LIMITS.maxOutstanding;
  let connections = 0;
  const later: unknown[] = [];
  let written = 0;
  return withFakeRelay(
    (socket, frame) => {
      if (connections > 1) {
        later.push(frame.id);
        sent(socket, frame.id);
      } else if (++written === cap) socket.close(1001, "going away"); // the cap is on the wire, unanswered
    },
    async (channel) => {
      const ids = Array.from({ length: cap + 2 }, (_, i) => `m${i}`);
      const results = await Promise.allSettled(ids.map((id) => channel.send("bob", id, envelope)));
      assert.ok(results.every((result) => result.status === "rejected" && isUnreachable(result.reason)));
      // The outbox resends in order: m0 first.
      await channel.send("bob", "m0", envelope);
      assert.deepEqual(later, ["m0"], "the two held back were not written on the new socket ahead of m0");
    },
    {
      onConnect: (socket) => {
        connections++;
        sendReady(socket);
      },
    },
  );
});

test("a paused channel (a slow consumer) is not ended for answers it cannot read; the deadlines start afresh on resume", {
  timeout: 20_000,
}, () => {
  let connections = 0;
  return withFakeRelay(
    (socket, frame) => sent(socket, frame.id),
    async (channel) => {
      const seen = collect(channel);
      await until(() => seen.readies === 1, "connected");
      channel.pause();
      let settled = false;
      const answer = channel.send("bob", "m1", envelope).finally(() => {
        settled = true;
      });
      // Ten deadlines and ten pings pass unread.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(settled, false, "the answer waits, unread");
      channel.resume();
      assert.deepEqual(await answer, { serverId: 7, duplicate: false });
      assert.equal(connections, 1);
      assert.deepEqual(seen.errors, []);
      seen.stop();
    },
    {
      channel: { answerTimeoutMs: 30, pingIntervalMs: 10 },
      onConnect: (socket) => {
        connections++;
        sendReady(socket);
      },
    },
  );
});

test("a 1012 (relay restarting) reconnects at once with jitter, without growing the backoff", {
  timeout: 20_000,
}, async () => {
  let connections = 0;
  await withFakeRelay(
    () => {},
    async (channel) => {
      const seen = collect(channel);
      // With a one-minute backoff base, only the restart path can reconnect three times in this test.
      await until(() => connections >= 4, "four connections");
      assert.equal(channel.reconnectAttempts, 0, "a restart is not a failure");
      seen.stop();
    },
    {
      channel: { reconnect: { baseMs: 60_000, maxMs: 60_000, restartJitterMs: 20 } },
      onConnect: (socket) => {
        connections++;
        sendReady(socket);
        if (connections <= 3) socket.close(1012, "relay restarting");
      },
    },
  );
});
