import assert from "node:assert/strict";
import { test } from "node:test";
import type { RelayMessage } from "../../src/client/transport/relay-api.ts";
import { watchRelay } from "../../src/client/transport/relay-socket.ts";
import { sendReady, until, withFakeRelay } from "./_fake-relay.ts";

/**
 * `receive --watch` over a real relay channel: a consumer that falls behind pauses the socket once the
 * queue is over its bound in messages OR in envelope bytes (a relay pushing large envelopes must not
 * grow client memory up to the message count), and resumes it once the queue has drained.
 */
test("the watch queue is bounded by envelope bytes: the socket pauses while the consumer is behind, resumes after", {
  timeout: 20_000,
}, () => {
  const pushes = 20;
  const size = 1000;
  return withFakeRelay(
    () => {},
    async (channel) => {
      let pauses = 0;
      let resumes = 0;
      const pause = channel.pause.bind(channel);
      const resume = channel.resume.bind(channel);
      channel.pause = () => {
        pauses++;
        pause();
      };
      channel.resume = () => {
        resumes++;
        resume();
      };
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const handled: RelayMessage[] = [];
      const stop = new AbortController();
      const watching = watchRelay(channel, {
        signal: stop.signal,
        // Counted in messages the queue never fills (1,000); in bytes it does after four envelopes.
        limits: {
          maxBatch: 1,
          pauseAbove: 1000,
          resumeBelow: 500,
          pauseAboveBytes: 3 * size,
          resumeBelowBytes: size,
        },
        onMessages: async (messages) => {
          await gate;
          handled.push(...messages);
        },
      });
      await until(() => pauses === 1, "the socket paused while the consumer waits");
      assert.equal(resumes, 0);
      open();
      await until(() => handled.length === pushes, "every push handled once the consumer goes on");
      assert.equal(resumes, 1);
      assert.deepEqual(
        handled.map((message) => message.id),
        Array.from({ length: pushes }, (_, i) => i + 1),
      );
      stop.abort();
      await watching;
    },
    {
      onConnect: (socket) => {
        sendReady(socket);
        const envelope = Buffer.alloc(size, 1).toString("base64");
        for (let id = 1; id <= pushes; id++)
          socket.send(JSON.stringify({ type: "message", id, from: "bob", envelope, sent_at: 1 }));
      },
    },
  );
});
