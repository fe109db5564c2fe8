// Flow control of one socket (src/relay/limits/socket-flow.ts) against a socket whose kernel never
// takes a byte until the test says so: what the relay buffers is bounded by the window and the shared
// budget, pushes resume on drain, a reader that never drains is dropped, and reading pauses while the
// window is full or the read rate is spent.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import type { WebSocket } from "ws";
import { OutboundBudget } from "../../../src/relay/limits/outbound-budget.ts";
import { FRAME_OVERHEAD_BYTES, FRAMES_PER_TURN, SocketFlow } from "../../../src/relay/limits/socket-flow.ts";

/** A WebSocket stand-in: `send` queues; `flush` plays the kernel taking the bytes. */
class HeldSocket extends EventEmitter {
  readonly pending: (() => void)[] = [];
  readonly pings: Buffer[] = [];
  paused = false;
  pauses = 0;
  send(_text: string, written: () => void): void {
    this.pending.push(written);
  }
  flush(count = this.pending.length): void {
    for (const written of this.pending.splice(0, count)) written();
  }
  ping(data: Buffer): void {
    this.pings.push(data);
  }
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
  }
}

function flowOn(
  socket: HeldSocket,
  options: Partial<{
    window: number;
    unconfirmed: number;
    budget: OutboundBudget;
    slowMs: number;
    rate: number;
    stream: { cork(): void; uncork(): void };
  }> = {},
) {
  const frames: string[] = [];
  let dropped = 0;
  const flow = new SocketFlow(socket as unknown as WebSocket, {
    windowBytes: options.window ?? 1000,
    unconfirmedBytes: options.unconfirmed ?? 1_000_000,
    budget: options.budget ?? new OutboundBudget(1_000_000),
    slowConsumerMs: options.slowMs ?? 60_000,
    receiveBytesPerSecond: options.rate ?? 1_000_000,
    onFrame: (data) => frames.push(data),
    onSlowConsumer: () => dropped++,
    ...(options.stream === undefined ? {} : { stream: options.stream }),
  });
  return { flow, frames, dropped: () => dropped };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("SocketFlow", () => {
  it("stops pushes at the window, pauses reading, and resumes both when the bytes drain", async () => {
    const socket = new HeldSocket();
    const budget = new OutboundBudget(1_000_000);
    const { flow } = flowOn(socket, { window: 1000, budget });
    flow.write("x".repeat(600));
    assert.equal(flow.full, false);
    flow.write("x".repeat(600));
    assert.equal(flow.full, true);
    assert.equal(flow.outstanding, 1200);
    assert.equal(budget.used, 1200);
    assert.equal(socket.paused, true, "a peer that does not read our answers is not read either");
    let writable = false;
    void flow.whenWritable().then(() => {
      writable = true;
    });
    await tick();
    assert.equal(writable, false);
    socket.flush(1);
    await tick();
    assert.equal(writable, true);
    assert.equal(flow.outstanding, 600);
    assert.equal(budget.used, 600);
    assert.equal(socket.paused, false);
  });

  it("waits on the shared budget when other sockets hold it, and resumes when they drain", async () => {
    const budget = new OutboundBudget(1500);
    const mine = flowOn(new HeldSocket(), { budget });
    const otherSocket = new HeldSocket();
    const hog = flowOn(otherSocket, { budget, window: 10_000 });
    hog.flow.write("y".repeat(1600));
    assert.equal(mine.flow.full, true, "the budget is spent although this socket's window is empty");
    let writable = false;
    void mine.flow.whenWritable().then(() => {
      writable = true;
    });
    await tick();
    assert.equal(writable, false);
    otherSocket.flush();
    await tick();
    assert.equal(writable, true);
  });

  it("drops a reader whose window stays full for slowConsumerMs", async () => {
    const socket = new HeldSocket();
    const { flow, dropped } = flowOn(socket, { window: 100, slowMs: 30 });
    flow.write("z".repeat(200));
    void flow.whenWritable();
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(dropped(), 1);
  });

  it("does not drop a reader that drains in time", async () => {
    const socket = new HeldSocket();
    const { flow, dropped } = flowOn(socket, { window: 100, slowMs: 50 });
    flow.write("z".repeat(200));
    void flow.whenWritable();
    socket.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(dropped(), 0);
  });

  it("releases a closed socket's unflushed bytes from the budget and ignores late callbacks", () => {
    const socket = new HeldSocket();
    const budget = new OutboundBudget(1_000_000);
    const { flow } = flowOn(socket, { budget });
    flow.write("a".repeat(5000));
    assert.equal(budget.used, 5000);
    flow.close();
    assert.equal(budget.used, 0);
    socket.flush();
    assert.equal(budget.used, 0, "a callback after close releases nothing twice");
  });

  it("handles frames in order within the read rate, pausing reading over it", async () => {
    const socket = new HeldSocket();
    const rate = 10 * FRAME_OVERHEAD_BYTES;
    const { flow, frames } = flowOn(socket, { rate });
    for (let i = 0; i < 25; i++) flow.receive(String(i), false);
    await tick();
    assert.ok(frames.length >= 9 && frames.length <= 10, `${frames.length} handled in the first second`);
    assert.equal(socket.paused, true);
    assert.deepEqual(
      frames,
      frames.map((_, i) => String(i)),
    );
    flow.close();
  });
  it("stops pushing after unconfirmed bytes, even while the kernel takes everything, until the ping's echo", async () => {
    // Loopback's kernel buffers take megabytes from a socket nobody reads: the window never fills.
    const socket = new HeldSocket();
    const { flow, dropped } = flowOn(socket, { window: 1000, unconfirmed: 3000, slowMs: 200 });
    let pushed = 0;
    for (let i = 0; i < 10; i++) {
      if (flow.full) break;
      flow.write("x".repeat(600));
      socket.flush();
      pushed++;
    }
    assert.equal(pushed, 5, "3,000 bytes unconfirmed, in frames of 600");
    let writable = false;
    void flow.whenWritable().then(() => {
      writable = true;
    });
    await tick();
    assert.equal(socket.pings.length, 1, "one ping asks the peer to prove it reads");
    // An unsolicited pong, or one with another payload, proves nothing.
    socket.emit("pong", Buffer.alloc(8));
    socket.emit("pong", Buffer.from("nonsense"));
    await tick();
    assert.equal(writable, false);
    socket.emit("pong", socket.pings[0]);
    await tick();
    assert.equal(writable, true);
    assert.equal(flow.full, false);
    assert.equal(dropped(), 0);
  });

  it("drops a peer that never answers the ping, as a reader that never drains", async () => {
    const socket = new HeldSocket();
    const { flow, dropped } = flowOn(socket, { window: 1000, unconfirmed: 1200, slowMs: 50 });
    flow.write("x".repeat(600));
    socket.flush();
    flow.write("x".repeat(600));
    socket.flush();
    void flow.whenWritable();
    while (dropped() === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(socket.pings.length, 1);
  });

  it("handles a burst of frames from one read in slices of FRAMES_PER_TURN, letting the loop turn between them", async () => {
    const socket = new HeldSocket();
    const { flow, frames } = flowOn(socket, { rate: 100_000_000 });
    // A flood of tiny frames as ws hands over one read: all at once, synchronously.
    for (let i = 0; i < 100; i++) flow.receive(`f${i}`, false);
    let turnedAfter = -1;
    setImmediate(() => {
      turnedAfter = frames.length;
    });
    await tick();
    await tick();
    await tick();
    await tick();
    await tick();
    assert.equal(frames.length, 100, "every frame handled, in order");
    assert.deepEqual(frames.slice(0, 3), ["f0", "f1", "f2"]);
    assert.equal(turnedAfter, FRAMES_PER_TURN, "the loop turned after one slice, not after the whole burst");
  });
  it("corks the byte stream for a burst of frames and uncorks it once the burst has run", async () => {
    const socket = new HeldSocket();
    const calls: string[] = [];
    const stream = {
      cork: () => calls.push("cork"),
      uncork: () => calls.push("uncork"),
    };
    const { flow } = flowOn(socket, { window: 1_000_000, stream });
    flow.write("a");
    await Promise.resolve();
    flow.write("b");
    flow.write("c");
    assert.deepEqual(calls, ["cork"], "one cork for the burst, nothing written out yet");
    await tick();
    assert.deepEqual(calls, ["cork", "uncork"], "uncorked after the burst");
    flow.write("d");
    await tick();
    assert.deepEqual(calls, ["cork", "uncork", "cork", "uncork"], "a later burst is corked again");
  });
});

describe("OutboundBudget", () => {
  it("wakes every waiter once the sum drops below the limit", async () => {
    const budget = new OutboundBudget(100);
    budget.add(150);
    let woken = 0;
    void budget.whenAvailable().then(() => woken++);
    void budget.whenAvailable().then(() => woken++);
    budget.release(40);
    await tick();
    assert.equal(woken, 0, "110 is still over");
    budget.release(20);
    await tick();
    assert.equal(woken, 2);
  });
});
