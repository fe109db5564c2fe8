// Issue 13, "one wire contract": every WebSocket frame a real relay process sends and every frame the
// SDK sends validates against the one schema of src/wire/frames.ts. The ws library is tapped in this
// process (the SDK's side of every socket): what its sockets write are client frames, what they read
// are relay frames. The scenario makes both sides use every frame type: a first contact and
// pipelined sends (send, sent), a watch that gets pushes and acknowledges them (message, ack, acked),
// a relay with a high low-prekeys threshold (low_prekeys), and a raw socket that authenticates by
// frame and sends a refused send (auth, error).
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { NanoClient } from "../../src/client/index.ts";
import { ClientFrame, FRAME, RelayFrame } from "../../src/wire/index.ts";
import { signUpOver } from "../relay/fixtures/processes.ts";
import { PASSPHRASE, User, withRelay } from "./_harness.ts";

interface Tapped {
  readonly sent: string[];
  readonly received: string[];
  restore(): void;
}

/** Records every text frame this process's ws sockets write and read (the relay is another process). */
function tapWebSockets(): Tapped {
  const sent: string[] = [];
  const received: string[] = [];
  const proto = WebSocket.prototype as unknown as {
    send: (...args: unknown[]) => void;
    emit: (event: string | symbol, ...args: unknown[]) => boolean;
  };
  const { send, emit } = proto;
  proto.send = function (this: unknown, data: unknown, ...rest: unknown[]) {
    if (typeof data === "string") sent.push(data);
    return send.call(this, data, ...rest);
  };
  proto.emit = function (this: unknown, event: string | symbol, ...args: unknown[]) {
    if (event === "message" && args[1] === false) received.push(String(args[0]));
    return emit.call(this, event, ...args);
  };
  return {
    sent,
    received,
    restore() {
      proto.send = send;
      proto.emit = emit;
    },
  };
}

async function until(probe: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not within 20 s`);
}

/** Frames that do not validate, with the reason, and the frame types seen. */
function check(frames: readonly string[], schema: typeof ClientFrame | typeof RelayFrame) {
  const invalid: string[] = [];
  const types = new Set<string>();
  for (const text of frames) {
    const result = schema.safeParse(JSON.parse(text));
    if (result.success) types.add(result.data.type);
    else invalid.push(`${text.slice(0, 200)}: ${result.error.issues[0]?.message}`);
  }
  return { invalid, types };
}

test("every frame the relay and the SDK exchange validates against the one wire schema", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await Promise.all([alice.setUp(relay, "classical"), bob.setUp(relay, "classical")]);
    const tap = tapWebSockets();
    const open = (user: User) =>
      NanoClient.open({ home: user.home, passphrase: PASSPHRASE, relay: relay.url });
    const [aliceClient, bobClient] = await Promise.all([open(alice), open(bob)]);
    try {
      const texts = ["one", "two", "three", "four"];
      await aliceClient.send({ recipient: "bob", text: texts[0]!, file: null, cryptoMode: null });
      await Promise.all(
        texts
          .slice(1)
          .map((text) => aliceClient.send({ recipient: "bob", text, file: null, cryptoMode: null })),
      );
      const seen: string[] = [];
      for await (const message of bobClient.messages()) {
        if (message.text !== null) seen.push(message.text);
        if (seen.length === texts.length) break;
      }
      assert.deepEqual([...seen].sort(), [...texts].sort());

      // A raw socket: authentication by frame, a send the relay refuses (its envelope is not base64),
      // and an ack of nothing: the relay's answers are frames too.
      const { token } = await signUpOver(relay.url, "carol");
      const raw = new WebSocket(`${relay.url.replace("http", "ws")}/v1/ws`);
      const answers: string[] = [];
      raw.on("message", (data) => answers.push(data.toString()));
      await new Promise((resolve, reject) => raw.once("open", resolve).once("error", reject));
      raw.send(JSON.stringify({ type: FRAME.auth, token }));
      await until(() => answers.some((a) => a.includes(`"${FRAME.ready}"`)), "carol's ready");
      raw.send(JSON.stringify({ type: FRAME.send, id: "raw-1", to: "bob", envelope: "not base64!" }));
      raw.send(JSON.stringify({ type: FRAME.ack, ids: [999_999], ref: "r1" }));
      await until(
        () =>
          answers.some((a) => a.includes(`"${FRAME.error}"`)) &&
          answers.some((a) => a.includes(`"${FRAME.acked}"`)),
        "the relay's answers",
      );
      raw.close();
    } finally {
      await Promise.all([aliceClient.close(), bobClient.close()]);
      tap.restore();
    }

    const client = check(tap.sent, ClientFrame);
    const fromRelay = check(tap.received, RelayFrame);
    assert.deepEqual(client.invalid, [], "client frames that do not match src/wire");
    assert.deepEqual(fromRelay.invalid, [], "relay frames that do not match src/wire");
    assert.deepEqual([...client.types].sort(), [FRAME.ack, FRAME.auth, FRAME.send].sort());
    assert.deepEqual(
      [...fromRelay.types].sort(),
      [FRAME.acked, FRAME.error, FRAME.lowPrekeys, FRAME.message, FRAME.ready, FRAME.sent].sort(),
    );
  }, "[limits]\nlow_prekeys_threshold = 100000\n"));
