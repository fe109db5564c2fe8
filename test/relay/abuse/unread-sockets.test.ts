// Issue 12, finding 2: ~5.3 MB of relay memory per WebSocket that never reads. An account filled its
// own mailbox (sending to itself works) and opened N sockets that never read: RSS grew linearly
// (25 -> 395 MB at 150 sockets); nothing capped connections per account and each socket could buffer
// 4 MiB. Now: a per-account connection cap and connect rate, a small per-socket window (backpressure,
// resume on drain), a global budget, and the mailbox quota applies to self-sends too.
//
// Memory is measured as what the relay still holds after a full garbage collection (heap in use plus
// external buffers, over IPC): resident size also counts heap V8 grew while pushing megabytes and has
// not returned to the system, which says nothing about what a socket costs. On loopback, Linux often
// lets a socket that is not read take everything into kernel buffers (not the relay's memory); the
// bound on what the relay buffers itself is test/relay/limits/socket-flow.test.ts's, with a socket
// that pushes back deterministically.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { randomBytes } from "../../../src/crypto/index.ts";
import { testEnvelope } from "../fixtures/identities.ts";
import { http, Peer, type RelayProcess, signUpOver } from "../fixtures/processes.ts";
import { startRelay, within } from "./_abuse.ts";

const SOCKETS = 16;
const PER_ACCOUNT = 5;
const WINDOW = 262_144;
const UNCONFIRMED = 262_144;
const MiB = 1024 * 1024;
const MAILBOX_BYTES = 8 * MiB;
const CONTENT_BYTES = 30_000;
const CONNECTS_PER_MINUTE = 30;

/** Heap in use plus external buffers of the relay after a full garbage collection. */
async function heldBytes(relay: RelayProcess): Promise<number> {
  const usage = await relay.request<NodeJS.MemoryUsage>({ type: "memory" }, "memory");
  return usage.heapUsed + usage.external;
}

async function metrics(relay: RelayProcess): Promise<string> {
  return (await fetch(`${relay.url}/metrics`)).text();
}

function metric(text: string, name: string): number {
  const line = text.split("\n").find((entry) => entry.startsWith(name));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** Resolves once `probe` returns true (polled), or rejects after `ms`. */
async function until(probe: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  await within(
    (async () => {
      while (!(await probe())) await new Promise((resolve) => setTimeout(resolve, 100));
    })(),
    ms,
    what,
  );
}

describe("abuse: WebSockets that never read", () => {
  let relay: RelayProcess;
  let token: string;
  const sockets: WebSocket[] = [];
  before(async () => {
    relay = await startRelay({
      limits: {
        mailbox_max_bytes: MAILBOX_BYTES,
        rate: { websocket_connects_per_minute: CONNECTS_PER_MINUTE },
        websocket: {
          max_connections_per_account: PER_ACCOUNT,
          send_window_bytes: WINDOW,
          push_unconfirmed_bytes: UNCONFIRMED,
          // The filling socket sends ~45 KB frames as fast as it can.
          receive_bytes_per_second: 64 * MiB,
        },
      },
    });
    ({ token } = await signUpOver(relay.url, "mallory"));
  });
  after(async () => {
    for (const socket of sockets) socket.terminate();
    await relay.stop();
  });

  it("fills the account's own mailbox until the quota answers mailbox_full", async () => {
    // Self-sends, pipelined over one socket that reads (it gets its own messages pushed back).
    const sender = new Peer(relay.wsUrl, token);
    await sender.waitFor((frame) => frame.type === "ready");
    const envelope = Buffer.from(testEnvelope(randomBytes(CONTENT_BYTES))).toString("base64");
    let stored = 0;
    let next = 0;
    let inflight = 0;
    const full = new Promise<void>((resolve, reject) => {
      const pump = () => {
        while (inflight < 32 && next >= 0) {
          sender.send({ type: "send", id: `self${next++}`, to: "mallory", envelope });
          inflight++;
        }
      };
      sender.onFrame = (frame) => {
        if (frame.type === "sent") {
          stored++;
          inflight--;
          pump();
        } else if (frame.type === "error") {
          if (frame.code !== "mailbox_full") reject(new Error(JSON.stringify(frame)));
          next = -1;
          resolve();
        }
      };
      pump();
    });
    await within(full, 120_000, "filling the mailbox");
    sender.close();
    await sender.closed;
    assert.ok(stored * CONTENT_BYTES > MAILBOX_BYTES * 0.8, `${stored} self-sends stored`);
    // Over the quota, a self-send is refused like any other send.
    const refused = await http(
      relay.url,
      "POST",
      "/v1/messages",
      { to: "mallory", client_message_id: "one-more", envelope },
      token,
    );
    assert.equal(refused.status, 507, JSON.stringify(refused.json));
    assert.equal((refused.json.error as { code: string }).code, "mailbox_full");
  });

  it("holds no more memory while 16 sockets of the account never read", async () => {
    const baseline = await heldBytes(relay);
    let outboundPeak = 0;
    const sample = setInterval(() => {
      void metrics(relay).then((text) => {
        outboundPeak = Math.max(outboundPeak, metric(text, "nano_websocket_outbound_bytes"));
      });
    }, 50);
    try {
      for (let i = 0; i < SOCKETS; i++) {
        const socket = new WebSocket(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
        socket.on("error", () => {});
        // Never read: pushes fill the kernel's buffers, then wait on the socket's window. The TCP
        // socket itself is paused: ws's own pause() does nothing while the socket is connecting.
        socket.once("upgrade", (response) => response.socket.pause());
        sockets.push(socket);
        await new Promise((resolve) => socket.once("open", resolve));
      }
      // The cap closes the account's oldest connections as new ones authenticate.
      await until(
        async () => metric(await metrics(relay), "nano_websocket_connections") <= PER_ACCOUNT,
        20_000,
        "the per-account cap",
      );
      const text = await metrics(relay);
      assert.equal(
        metric(text, 'nano_websocket_limit_closes_total{reason="connection_limit"}'),
        SOCKETS - PER_ACCOUNT,
      );
    } finally {
      clearInterval(sample);
    }
    // What the relay buffered itself never exceeded the survivors' windows (plus one frame each).
    assert.ok(outboundPeak <= (PER_ACCOUNT + 1) * (WINDOW + 100_000), `outbound peaked at ${outboundPeak}`);
    const grown = (await heldBytes(relay)) - baseline;
    // Before: ~5.3 MB per socket.
    assert.ok(grown < 16 * MiB, `the relay holds ${(grown / MiB).toFixed(1)} MiB more`);
  });

  it("pushes a socket that never reads no more than push_unconfirmed_bytes, however much the kernel takes", async () => {
    // The window counts what the kernel has not taken, and loopback's kernel takes megabytes from a
    // socket nobody reads: each connect made the relay read, encode and write that much of the
    // mailbox again. Now pushing stops until the peer echoes a ping, which needs reading.
    for (const socket of sockets.splice(0)) socket.terminate();
    const delivered = async () =>
      metric(await metrics(relay), 'nano_messages_delivered_total{via="websocket"}');
    const before = await delivered();
    const socket = new WebSocket(relay.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    socket.on("error", () => {});
    socket.once("upgrade", (response) => response.socket.pause());
    // A pushed frame carries the envelope in base64: at least this long.
    const frameBytes = Math.ceil(testEnvelope(randomBytes(CONTENT_BYTES)).length / 3) * 4;
    await new Promise((resolve) => socket.once("open", resolve));
    // Until the relay stops pushing: the count holds still for a second.
    let pushed = 0;
    for (let previous = -1; pushed === 0 || pushed !== previous; ) {
      previous = pushed;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      pushed = (await delivered()) - before;
    }
    assert.ok(
      pushed <= Math.ceil(UNCONFIRMED / frameBytes) + 1,
      `${pushed} frames of ${frameBytes}+ bytes pushed to a socket that never read`,
    );
    socket.resume();
    // Reading again answers the ping by itself (ws, like a browser): pushing goes on.
    await until(async () => (await delivered()) - before > pushed + 10, 30_000, "pushing after the pong");
    socket.terminate();
  });

  it("limits how often an account opens sessions (each pushes the mailbox again): 1013", async () => {
    for (const socket of sockets) socket.terminate();
    // The filling socket, SOCKETS connects and the unconfirmed-push one so far: use up the minute's
    // allowance, then one more.
    const peers: Peer[] = [];
    for (let i = SOCKETS + 1; i < CONNECTS_PER_MINUTE; i++) {
      const peer = new Peer(relay.wsUrl, token);
      await peer.waitFor((frame) => frame.type === "ready" || frame.type === "error");
      peer.socket.terminate();
      peers.push(peer);
    }
    const refused = new Peer(relay.wsUrl, token);
    assert.equal(await within(refused.closed, 10_000, "refusing one connect too many"), 1013);
    assert.ok(refused.frames.some((frame) => frame.type === "error" && frame.code === "rate_limited"));
  });

  it("closes an account's oldest connection with 4409 connection_limit", async () => {
    const { token: other } = await signUpOver(relay.url, "olga");
    const peers = Array.from({ length: PER_ACCOUNT }, () => new Peer(relay.wsUrl, other));
    for (const peer of peers) await peer.waitFor((frame) => frame.type === "ready");
    const newest = new Peer(relay.wsUrl, other);
    await newest.waitFor((frame) => frame.type === "ready");
    assert.equal(await within(peers[0]!.closed, 10_000, "closing the oldest"), 4409);
    assert.ok(peers.slice(1).every((peer) => peer.closeCode === null));
    for (const peer of [...peers, newest]) peer.close();
  });
});
