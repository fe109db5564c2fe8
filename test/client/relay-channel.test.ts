import assert from "node:assert/strict";
import { test } from "node:test";
import { CHANNEL_LIMITS } from "../../src/client/transport/relay-channel.ts";
import { NanoError } from "../../src/errors/index.ts";
import { MAX_ENVELOPE_BASE64 } from "../../src/wire/index.ts";
import { collect, sendReady, until, withFakeRelay } from "./_fake-relay.ts";

/**
 * The relay channel against a relay that misbehaves: a WebSocket server on port 0 that answers with
 * whatever the test scripts. Everything the relay sends is untrusted input: a bad frame is reported as
 * a typed error and ignored; nothing crashes, nothing is resolved by a frame that does not match.
 */

const envelope = new Uint8Array([1, 2, 3]);

test("hostile frames: malformed JSON, non-objects, unknown types, answers to nothing, bad pushes are typed errors; the real answer still counts", () =>
  withFakeRelay(
    (socket, frame) => {
      if (frame.type !== "send") return;
      for (const junk of [
        "{not json",
        "[1,2,3]",
        "42",
        JSON.stringify({ type: "surprise" }),
        JSON.stringify({ type: "sent", id: "never-sent", server_id: 1, duplicate: false }),
        JSON.stringify({ type: "acked", ref: "ack.999", ids: [1], deleted: 1 }),
        JSON.stringify({ type: "message", id: -1, from: "x", envelope: "AA==" }),
        JSON.stringify({ type: "message", id: 7, from: 12, envelope: "AA==" }),
      ])
        socket.send(junk);
      socket.send(Buffer.from([0, 1, 2]), { binary: true });
      socket.send(JSON.stringify({ type: "message", id: 9, from: "bob", envelope: "AQID", sent_at: 5 }));
      socket.send(JSON.stringify({ type: "sent", id: frame.id, server_id: 41, duplicate: true }));
    },
    async (channel) => {
      const seen = collect(channel);
      const answer = await channel.send("bob", "m1", envelope);
      assert.deepEqual(answer, { serverId: 41, duplicate: true });
      // Not the contract's shape (not JSON, not an object, unknown type, bad pushes): malformed; a
      // well-formed answer to nothing of ours, or a binary frame: rejected.
      assert.deepEqual(
        seen.errors.map((error) => error.code),
        [
          ...Array(4).fill("relay_answer_malformed"),
          "relay_rejected",
          "relay_rejected",
          "relay_answer_malformed",
          "relay_answer_malformed",
          "relay_rejected",
        ],
      );
      assert.deepEqual(seen.messages, [
        { id: 9, from: "bob", envelope: new Uint8Array([1, 2, 3]), sentAt: 5 },
      ]);
      seen.stop();
    },
  ));

test("a malformed answer to a frame of ours rejects that frame at once (relay_answer_malformed); a malformed push naming it does not", () =>
  withFakeRelay(
    (socket, frame) => {
      if (frame.type === "ack") {
        socket.send(JSON.stringify({ type: "acked", ids: frame.ids, deleted: "all", ref: frame.ref }));
        return;
      }
      // A push that happens to carry the send's id as a string is no answer to it.
      socket.send(
        JSON.stringify({ type: "message", id: frame.id, from: "bob", envelope: "AA==", sent_at: 1 }),
      );
      if (frame.id === "bad-id")
        socket.send(JSON.stringify({ type: "sent", id: frame.id, server_id: -3, duplicate: false }));
      else if (frame.id === "bad-error")
        socket.send(JSON.stringify({ type: "error", id: frame.id, code: 7 }));
      else socket.send(JSON.stringify({ type: "sent", id: frame.id, server_id: 3, duplicate: "no" }));
    },
    async (channel) => {
      const started = Date.now();
      const outcomes = await Promise.allSettled([
        channel.send("bob", "bad-id", envelope),
        channel.send("bob", "bad-error", envelope),
        channel.send("bob", "bad-duplicate", envelope),
        channel.ack([1, 2]),
      ]);
      for (const outcome of outcomes)
        assert.ok(outcome.status === "rejected" && NanoError.is(outcome.reason, "relay_answer_malformed"));
      assert.ok(Date.now() - started < CHANNEL_LIMITS.answerTimeoutMs, "not left to the answer deadline");
      assert.equal(channel.outstanding, 0);
    },
  ));

test("an error frame rejects that send with the relay's code; an unknown code becomes relay_rejected; others resolve", () =>
  withFakeRelay(
    (socket, frame) => {
      if (frame.type === "ack") {
        socket.send(JSON.stringify({ type: "acked", ids: frame.ids, deleted: 2, ref: frame.ref }));
        return;
      }
      if (frame.id === "too-big")
        socket.send(JSON.stringify({ type: "error", id: frame.id, code: "mailbox_full", message: "full" }));
      else if (frame.id === "weird")
        socket.send(JSON.stringify({ type: "error", id: frame.id, code: "no_such_code", message: "?" }));
      else socket.send(JSON.stringify({ type: "sent", id: frame.id, server_id: 1, duplicate: false }));
    },
    async (channel) => {
      const results = await Promise.allSettled([
        channel.send("bob", "ok-1", envelope),
        channel.send("bob", "too-big", envelope),
        channel.send("bob", "weird", envelope),
        channel.send("bob", "ok-2", envelope),
      ]);
      assert.equal(results[0]!.status, "fulfilled");
      assert.ok(results[1]!.status === "rejected" && NanoError.is(results[1].reason, "mailbox_full"));
      assert.ok(results[2]!.status === "rejected" && NanoError.is(results[2].reason, "relay_rejected"));
      assert.equal(results[3]!.status, "fulfilled");
      await channel.ack([1, 2]);
      assert.equal(channel.outstanding, 0);
    },
  ));

test("a second send of one client message id joins the first: one frame on the wire", () => {
  let frames = 0;
  return withFakeRelay(
    (socket, frame) => {
      frames++;
      setTimeout(
        () => socket.send(JSON.stringify({ type: "sent", id: frame.id, server_id: 3, duplicate: false })),
        10,
      );
    },
    async (channel) => {
      const [a, b] = await Promise.all([
        channel.send("bob", "same", envelope),
        channel.send("bob", "same", envelope),
      ]);
      assert.deepEqual(a, b);
      assert.equal(frames, 1);
    },
  );
});

test("a frame above the size limit closes the socket: owed answers reject relay_unreachable, a typed error is reported, the next send reconnects", () => {
  let connections = 0;
  return withFakeRelay(
    (socket, frame) => {
      if (connections === 1) socket.send("x".repeat(CHANNEL_LIMITS.maxFrameBytes + 1));
      else socket.send(JSON.stringify({ type: "sent", id: frame.id, server_id: 2, duplicate: false }));
    },
    async (channel) => {
      const seen = collect(channel);
      await assert.rejects(channel.send("bob", "m1", envelope), (error: unknown) =>
        NanoError.is(error, "relay_unreachable"),
      );
      assert.ok(seen.errors.some((error) => NanoError.is(error, "relay_rejected")));
      seen.stop();
      assert.deepEqual(await channel.send("bob", "m2", envelope), { serverId: 2, duplicate: false });
      assert.equal(connections, 2);
    },
    {
      onConnect: (socket) => {
        connections++;
        socket.send(JSON.stringify({ type: "ready", username: "alice" }));
      },
    },
  );
});

test("close 4401 forgets the token and the channel logs in again; close() rejects what is owed", () => {
  let connections = 0;
  return withFakeRelay(
    (socket, frame) => {
      if (connections === 1) socket.close(4401, "token_revoked");
      else if (frame.id === "m2")
        socket.send(JSON.stringify({ type: "sent", id: "m2", server_id: 5, duplicate: false }));
    },
    async (channel, auth) => {
      await assert.rejects(channel.send("bob", "m1", envelope), (error: unknown) =>
        NanoError.is(error, "relay_unreachable"),
      );
      assert.equal(auth.forgotten, 1);
      assert.deepEqual(await channel.send("bob", "m2", envelope), { serverId: 5, duplicate: false });
      assert.equal(auth.tokens, 2, "a new token for the new connection");
      const owed = channel.send("bob", "m3", envelope); // never answered
      channel.close();
      await assert.rejects(owed, (error: unknown) => NanoError.is(error, "relay_unreachable"));
      await assert.rejects(channel.send("bob", "m4", envelope), (error: unknown) =>
        NanoError.is(error, "relay_unreachable"),
      );
    },
    {
      onConnect: (socket) => {
        connections++;
        socket.send(JSON.stringify({ type: "ready", username: "alice" }));
      },
    },
  );
});

test("at most CHANNEL_LIMITS.maxOutstanding frames are unanswered; the rest wait in order and go out as answers arrive", () => {
  const received: string[] = [];
  let full: () => void = () => {};
  const reachedCap = new Promise<void>((resolve) => {
    full = resolve;
  });
  let answering = false;
  const total = CHANNEL_LIMITS.maxOutstanding + 76;
  return withFakeRelay(
    (socket, frame) => {
      received.push(String(frame.id));
      const answer = (id: string) =>
        socket.send(JSON.stringify({ type: "sent", id, server_id: 1, duplicate: false }));
      if (answering) answer(String(frame.id));
      else if (received.length === CHANNEL_LIMITS.maxOutstanding) {
        full();
        answering = true;
        for (const id of received) answer(id);
      }
    },
    async (channel) => {
      const ids = Array.from({ length: total }, (_, i) => `m${i}`);
      const sends = ids.map((id) => channel.send("bob", id, envelope));
      await reachedCap;
      assert.equal(channel.outstanding, CHANNEL_LIMITS.maxOutstanding);
      await Promise.all(sends);
      assert.deepEqual(received, ids, "every frame once, in call order");
      assert.equal(channel.outstanding, 0);
    },
  );
});

test("a pushed envelope longer than the protocol allows is refused before decoding; the largest legal one is delivered", () =>
  withFakeRelay(
    (socket, frame) => {
      const push = (id: number, envelope: string) =>
        socket.send(JSON.stringify({ type: "message", id, from: "bob", envelope, sent_at: 1 }));
      push(1, "A".repeat(MAX_ENVELOPE_BASE64 + 4));
      push(2, Buffer.alloc(65_536, 7).toString("base64"));
      socket.send(JSON.stringify({ type: "sent", id: frame.id, server_id: 1, duplicate: false }));
    },
    async (channel) => {
      const seen = collect(channel);
      await channel.send("bob", "m1", envelope);
      assert.equal(seen.errors.length, 1);
      assert.ok(NanoError.is(seen.errors[0], "relay_answer_malformed"));
      assert.deepEqual(
        seen.messages.map((message) => [message.id, message.envelope.length]),
        [[2, 65_536]],
      );
      seen.stop();
    },
  ));

test("a frame larger than the largest legal one (here 200 KiB) closes the socket before it is parsed", () =>
  withFakeRelay(
    (socket, frame) => {
      socket.send(
        JSON.stringify({ type: "message", id: 1, from: "bob", envelope: "A".repeat(200 * 1024), sent_at: 1 }),
      );
      socket.send(JSON.stringify({ type: "sent", id: frame.id, server_id: 1, duplicate: false }));
    },
    async (channel) => {
      const seen = collect(channel);
      await assert.rejects(channel.send("bob", "m1", envelope), (error: unknown) =>
        NanoError.is(error, "relay_unreachable"),
      );
      assert.deepEqual(seen.messages, []);
      seen.stop();
    },
  ));

test("low_prekeys reaches every listener; a malformed one is a typed error, not a crash", () =>
  withFakeRelay(
    () => {},
    async (channel) => {
      const signals: [number, number][] = [];
      const errors: NanoError[] = [];
      const stop = channel.subscribe({
        onLowPrekeys: (suite, count) => signals.push([suite, count]),
        onError: (error) => errors.push(error),
      });
      await until(() => channel.ready, "ready");
      await until(() => signals.length === 1 && errors.length === 1, "the signal and the error");
      assert.deepEqual(signals, [[2, 7]]);
      assert.ok(NanoError.is(errors[0], "relay_answer_malformed"));
      stop();
    },
    {
      onConnect: (socket) => {
        sendReady(socket);
        socket.send(JSON.stringify({ type: "low_prekeys", suite: "two", count: 7 }));
        socket.send(JSON.stringify({ type: "low_prekeys", suite: 2, count: 7 }));
      },
    },
  ));

test("a pushed envelope that is not canonical base64 is a typed error, not a crash; the next push is delivered", () =>
  withFakeRelay(
    (socket, frame) => {
      const push = (id: number, envelope: string) =>
        socket.send(JSON.stringify({ type: "message", id, from: "bob", envelope, sent_at: 1 }));
      // Characters outside the alphabet, and a last character with bits the decoder would drop.
      push(1, "!!!!");
      push(2, "AQJ=");
      push(3, "AQID");
      socket.send(JSON.stringify({ type: "sent", id: frame.id, server_id: 1, duplicate: false }));
    },
    async (channel) => {
      const seen = collect(channel);
      await channel.send("bob", "m1", envelope);
      await until(() => seen.messages.length === 1, "the canonical push");
      assert.deepEqual(
        seen.errors.map((error) => error.code),
        ["relay_rejected", "relay_rejected"],
      );
      assert.deepEqual(
        seen.messages.map((message) => [message.id, message.envelope]),
        [[3, new Uint8Array([1, 2, 3])]],
      );
      seen.stop();
    },
  ));
