import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { tempDir, testConfig } from "./fixtures/harness.ts";
import { envelopeMarker, testEnvelope } from "./fixtures/identities.ts";
import { http, Peer, RelayProcess, signUpOver } from "./fixtures/processes.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const envelopeOf = (text: string) => b64(testEnvelope(text));
const text = (envelope: unknown) => envelopeMarker(new Uint8Array(Buffer.from(String(envelope), "base64")));

describe("integration: real relay processes on port 0", () => {
  let relay: RelayProcess;
  let alice: string;
  let bob: string;
  let carol: string;
  before(async () => {
    const dir = tempDir("integration");
    relay = new RelayProcess(
      testConfig(
        {
          limits: { mailbox_max_messages: 50, message_ttl_days: 1 },
          security: { token_lifetime_seconds: 604_800 },
        },
        dir,
      ),
      dir,
    );
    await relay.start();
    alice = (await signUpOver(relay.url, "alice")).token;
    bob = (await signUpOver(relay.url, "bob")).token;
    carol = (await signUpOver(relay.url, "carol")).token;
  });
  after(async () => relay.stop());

  it("pushes to an online recipient over WebSocket and deletes on ack", async () => {
    const bobPeer = new Peer(relay.wsUrl, bob);
    await bobPeer.waitFor((f) => f.type === "ready");
    const sent = await http(
      relay.url,
      "POST",
      "/v1/messages",
      { to: "bob", client_message_id: "push-1", envelope: envelopeOf("hello bob") },
      alice,
    );
    assert.equal(sent.status, 201);
    const pushed = await bobPeer.waitFor((f) => f.type === "message" && f.id === sent.json.server_id);
    assert.equal(pushed.from, "alice");
    assert.equal(text(pushed.envelope), "hello bob");
    bobPeer.send({ type: "ack", ids: [pushed.id], ref: "a1" });
    const acked = await bobPeer.waitFor((f) => f.type === "acked" && f.ref === "a1");
    assert.equal(acked.deleted, 1);
    const polled = await http(relay.url, "GET", "/v1/messages", undefined, bob);
    assert.deepEqual(polled.json.messages, []);
    bobPeer.close();
    await bobPeer.closed;
  });

  it("sends over WebSocket with durable acks, idempotent resends, and polling delivery", async () => {
    const alicePeer = new Peer(relay.wsUrl, alice);
    await alicePeer.waitFor((f) => f.type === "ready");
    alicePeer.send({ type: "send", id: "ws-1", to: "carol", envelope: envelopeOf("one") });
    alicePeer.send({ type: "send", id: "ws-1", to: "carol", envelope: envelopeOf("one") });
    alicePeer.send({ type: "send", id: "ws-2", to: "carol", envelope: envelopeOf("two") });
    const firstAck = await alicePeer.waitFor(
      (f) => f.type === "sent" && f.id === "ws-1" && f.duplicate === false,
    );
    const dupAck = await alicePeer.waitFor(
      (f) => f.type === "sent" && f.id === "ws-1" && f.duplicate === true,
    );
    assert.equal(dupAck.server_id, firstAck.server_id);
    await alicePeer.waitFor((f) => f.type === "sent" && f.id === "ws-2");
    const polled = await http(relay.url, "GET", "/v1/messages", undefined, carol);
    const messages = polled.json.messages as { id: number; envelope: string }[];
    assert.deepEqual(
      messages.map((m) => text(m.envelope)),
      ["one", "two"],
    );
    const acked = await http(
      relay.url,
      "POST",
      "/v1/messages/ack",
      { ids: messages.map((m) => m.id) },
      carol,
    );
    assert.equal(acked.json.deleted, 2);
    alicePeer.send({ type: "send", id: "bad", to: "carol", envelope: "###" });
    const error = await alicePeer.waitFor((f) => f.type === "error" && f.id === "bad");
    assert.equal(error.code, "malformed_request");
    alicePeer.send({ type: "nonsense" });
    await alicePeer.waitFor(
      (f) => f.type === "error" && f.code === "malformed_request" && f.id === undefined,
    );
    alicePeer.close();
  });

  it("redelivers unacknowledged messages after a reconnect, in order", async () => {
    for (let i = 0; i < 5; i++) {
      await http(
        relay.url,
        "POST",
        "/v1/messages",
        { to: "bob", client_message_id: `re-${i}`, envelope: envelopeOf(`m${i}`) },
        alice,
      );
    }
    const first = new Peer(relay.wsUrl, bob);
    const frames = [];
    for (let i = 0; i < 5; i++)
      frames.push(await first.waitFor((f) => f.type === "message" && text(f.envelope) === `m${i}`));
    first.send({ type: "ack", ids: [frames[0]!.id, frames[1]!.id], ref: "partial" });
    await first.waitFor((f) => f.type === "acked" && f.ref === "partial");
    first.close();
    await first.closed;
    const second = new Peer(relay.wsUrl, null);
    await second.opened();
    second.send({ type: "auth", token: bob });
    await second.waitFor((f) => f.type === "ready");
    await second.waitFor((f) => f.type === "message" && text(f.envelope) === "m4");
    const redelivered = second.frames.filter((f) => f.type === "message").map((f) => text(f.envelope));
    assert.deepEqual(redelivered, ["m2", "m3", "m4"]);
    second.send({
      type: "ack",
      ids: second.frames.filter((f) => f.type === "message").map((f) => f.id),
      ref: "rest",
    });
    await second.waitFor((f) => f.type === "acked" && f.ref === "rest");
    second.close();
  });

  it("keeps per-sender order for concurrent senders pushing to one recipient", async () => {
    const senders = await Promise.all(["dave", "erin", "frank"].map((name) => signUpOver(relay.url, name)));
    const peers = senders.map((s) => new Peer(relay.wsUrl, s.token));
    await Promise.all(peers.map((p) => p.waitFor((f) => f.type === "ready")));
    const recipient = await signUpOver(relay.url, "grace");
    const inbox = new Peer(relay.wsUrl, recipient.token);
    await inbox.waitFor((f) => f.type === "ready");
    const perSender = 15;
    for (let i = 0; i < perSender; i++) {
      for (const [s, peer] of peers.entries()) {
        peer.send({ type: "send", id: `o-${i}`, to: "grace", envelope: envelopeOf(`${s}:${i}`) });
      }
    }
    await inbox.waitFor(
      () => inbox.frames.filter((f) => f.type === "message").length === perSender * peers.length,
      20_000,
    );
    const order = new Map<string, number[]>();
    for (const frame of inbox.frames.filter((f) => f.type === "message")) {
      const [s, i] = text(frame.envelope).split(":").map(Number);
      order.set(String(s), [...(order.get(String(s)) ?? []), i!]);
    }
    for (const sequence of order.values())
      assert.deepEqual(
        sequence,
        Array.from({ length: perSender }, (_, i) => i),
      );
    for (const peer of [...peers, inbox]) peer.close();
  });

  it("refuses sends to a full mailbox with a typed error to the sender", async () => {
    const henry = await signUpOver(relay.url, "henry");
    const results: number[] = [];
    for (let i = 0; i < 52; i++) {
      const response = await http(
        relay.url,
        "POST",
        "/v1/messages",
        { to: "henry", client_message_id: `full-${i}`, envelope: envelopeOf("x") },
        alice,
      );
      results.push(response.status);
      if (response.status === 507)
        assert.equal((response.json.error as { code: string }).code, "mailbox_full");
    }
    assert.deepEqual(results.slice(48), [201, 201, 507, 507]);
    const inbox = await http(relay.url, "GET", "/v1/messages?limit=500", undefined, henry.token);
    assert.equal((inbox.json.messages as unknown[]).length, 50);
  });

  it("expires messages by TTL when the relay's clock moves (injectable clock over IPC)", async () => {
    const ivan = await signUpOver(relay.url, "ivan");
    await http(
      relay.url,
      "POST",
      "/v1/messages",
      { to: "ivan", client_message_id: "ttl", envelope: envelopeOf("soon gone") },
      alice,
    );
    await relay.request({ type: "advance", ms: 86_400_000 + 1000 }, "advanced");
    const swept = await relay.request<{ messages: number }>({ type: "sweep" }, "swept");
    assert.ok(swept.messages >= 1);
    const inbox = await http(relay.url, "GET", "/v1/messages", undefined, ivan.token);
    assert.deepEqual(inbox.json.messages, []);
  });

  it("answers hostile WebSocket frames with typed errors and closes oversized ones", async () => {
    const peer = new Peer(relay.wsUrl, alice);
    await peer.waitFor((f) => f.type === "ready");
    peer.socket.send(Buffer.from([0, 1, 2, 3]), { binary: true });
    await peer.waitFor((f) => f.type === "error" && /JSON text/.test(String(f.message)));
    peer.send({ type: "auth", token: alice });
    await peer.waitFor((f) => f.type === "error" && /already authenticated/.test(String(f.message)));
    peer.send({ type: "ack", ids: [0, -1] });
    peer.send({ type: "ack", ids: Array.from({ length: 1001 }, (_, i) => i + 1) });
    peer.send({ type: "send", id: "x".repeat(65), to: "bob", envelope: envelopeOf("x") });
    await peer.waitFor(
      (f) => f.type === "error" && f.id === "x".repeat(65) && f.code === "malformed_request",
    );
    peer.send({ type: "send", id: "nobody", to: "no body", envelope: envelopeOf("x") });
    await peer.waitFor((f) => f.type === "error" && f.id === "nobody" && f.code === "username_invalid");
    // The real verifier's envelope checks answer over the socket with the protocol's codes.
    const real = testEnvelope("x");
    const hostile: [string, Uint8Array, string][] = [
      ["ws-v2", Uint8Array.from([2, ...real.subarray(1)]), "unsupported_version"],
      ["ws-cut", real.subarray(0, real.length - 1), "truncated"],
      ["ws-tail", Uint8Array.from([...real, 0]), "trailing_bytes"],
      ["ws-type", Uint8Array.from([...real.subarray(0, 3), 7, ...real.subarray(4)]), "malformed"],
    ];
    for (const [id, bytes, code] of hostile) {
      peer.send({ type: "send", id, to: "bob", envelope: b64(bytes) });
      await peer.waitFor((f) => f.type === "error" && f.id === id && f.code === code);
    }
    peer.socket.send("[1,2,3]");
    const malformed = peer.frames.filter((f) => f.type === "error" && f.code === "malformed_request").length;
    assert.ok(malformed >= 3);
    // Bigger than any envelope the relay accepts: the socket is closed with 1009 (message too big).
    peer.socket.send("x".repeat(200_000));
    assert.equal(await peer.closed, 1009);
  });

  it("closes unauthenticated WebSockets with 4401", async () => {
    const bad = new Peer(relay.wsUrl, "A".repeat(43));
    assert.equal(await bad.closed, 4401);
    const early = new Peer(relay.wsUrl, null);
    await early.opened();
    early.send({ type: "send", id: "x", to: "bob", envelope: envelopeOf("x") });
    assert.equal(await early.closed, 4401);
  });
});

describe("integration: graceful drain on SIGTERM", () => {
  it("answers in-flight sends, closes WebSockets with 1012, exits 0, and keeps every acked message", async () => {
    const dir = tempDir("drain");
    const relay = new RelayProcess(testConfig({}, dir), dir);
    await relay.start();
    const alice = await signUpOver(relay.url, "alice");
    const bob = await signUpOver(relay.url, "bob");
    const sender = new Peer(relay.wsUrl, alice.token);
    const receiver = new Peer(relay.wsUrl, bob.token);
    await sender.waitFor((f) => f.type === "ready");
    await receiver.waitFor((f) => f.type === "ready");
    for (let i = 0; i < 200; i++)
      sender.send({ type: "send", id: `d-${i}`, to: "bob", envelope: envelopeOf(`${i}`) });
    await sender.waitFor((f) => f.type === "sent");
    relay.kill("SIGTERM");
    assert.equal(await sender.closed, 1012);
    assert.equal(await receiver.closed, 1012);
    await relay.exited();
    assert.equal(relay.exitCode, 0, relay.output);
    const acked = sender.frames.filter((f) => f.type === "sent").map((f) => f.id);
    // A send read before the drain reached this socket is answered; one not read yet gets no answer
    // (the client resends it elsewhere) — never an error the user would see.
    const refused = sender.frames.filter((f) => f.type === "error");
    assert.deepEqual(refused, []);
    await relay.start();
    try {
      // Page with `after`: one poll answer is capped by bytes.
      const stored = new Set<string>();
      let after = 0;
      for (let page = 0; page < 50; page++) {
        const inbox = await http(
          relay.url,
          "GET",
          `/v1/messages?after=${after}&limit=500`,
          undefined,
          bob.token,
        );
        const messages = inbox.json.messages as { id: number; envelope: string }[];
        if (messages.length === 0) break;
        for (const m of messages) stored.add(`d-${text(m.envelope)}`);
        after = messages[messages.length - 1]!.id;
      }
      for (const id of acked) assert.ok(stored.has(String(id)), `acknowledged ${id} was lost`);
    } finally {
      await relay.stop();
    }
  });

  it("exits 130 on a second signal while the drain is held open by an in-flight request", async () => {
    const dir = tempDir("drain2");
    // A 60 s grace: the first signal alone cannot finish within this test's bounded wait.
    const relay = new RelayProcess(testConfig({ server: { shutdown_grace_seconds: 60 } }, dir), dir);
    await relay.start();
    const bob = await signUpOver(relay.url, "bob");
    const peer = new Peer(relay.wsUrl, bob.token);
    await peer.waitFor((f) => f.type === "ready");
    // An in-flight request: headers and part of a declared body, never finished. The drain waits for
    // it (app.close), so only the second signal can end the process early.
    const api = new URL(relay.url);
    const held = httpRequest({
      host: api.hostname,
      port: api.port,
      method: "POST",
      path: "/v1/accounts",
      headers: { "content-type": "application/json", "content-length": "4096" },
    });
    held.on("error", () => {}); // the socket dies with the process
    await new Promise<void>((resolve) => held.write('{"username":"', () => resolve()));
    // A full round trip on another connection: the relay has read the held request's headers by now.
    assert.equal((await http(relay.url, "GET", "/healthz")).status, 200);
    relay.kill("SIGINT");
    // The drain reached its last stage (WebSockets closed) and is now waiting on the held request.
    assert.equal(await peer.closed, 1012);
    assert.equal(relay.exitCode, null, "the first signal must not finish while a request is in flight");
    assert.equal(relay.exitSignal, null);
    relay.kill("SIGINT");
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), 15_000);
    });
    const outcome = await Promise.race([relay.exited().then(() => "exited" as const), bounded]);
    clearTimeout(timer);
    if (outcome === "timeout") relay.kill("SIGKILL");
    assert.equal(outcome, "exited", "the second signal was ignored");
    assert.equal(relay.exitCode, 130, relay.output);
    held.destroy();
  });
});
