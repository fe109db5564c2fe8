import { randomBytes } from "node:crypto";
import type { RateLimiterMemory } from "rate-limiter-flexible";
import { RateLimiterRes } from "rate-limiter-flexible";
import type { WebSocket } from "ws";
import { localLimiter } from "../rate-limits.ts";
import type { OutboundBudget } from "./outbound-budget.ts";

/** What a frame costs against the read rate besides its bytes: parsing and dispatch are per frame. */
export const FRAME_OVERHEAD_BYTES = 1024;
/** Frames read but not yet handled before reading pauses, and the level at which it resumes. */
const QUEUE_HIGH = 64;
const QUEUE_LOW = 16;
/**
 * Frames of one socket handled per turn of the event loop before the others get theirs. ws hands over
 * every frame of a read at once (one read of a flood of tiny frames can hold thousands): handled here
 * in slices, a burst cannot hold the loop while every other client waits, while the frames of one
 * read — a client's pipelined sends — still reach the same group commit together.
 */
export const FRAMES_PER_TURN = 32;
/**
 * Frames of one connection handed over and not answered yet (sends waiting for their commit and its
 * fsync, acks for theirs) before handling and reading stop until some are answered. The read rate
 * alone does not bound them: the fsync runs off the event loop, so while a slow or stalled disk holds
 * one, the relay goes on reading, and a pipelining client would pile its envelopes up in memory at
 * receive_bytes_per_second for as long as the disk stalls.
 */
export const MAX_UNANSWERED_FRAMES = 256;

export interface SocketFlowOptions {
  /** Unflushed bytes on this socket before pushes stop and reading pauses. */
  readonly windowBytes: number;
  /**
   * Bytes pushed before the peer must prove it reads: past them the relay pings with a random payload
   * and pushes nothing more until the matching pong (which comes only after everything before it
   * was read).
   */
  readonly unconfirmedBytes: number;
  /** Unflushed bytes across every socket (shared). */
  readonly budget: OutboundBudget;
  /** A socket whose window stays full this long does not read: `onSlowConsumer` drops it. */
  readonly slowConsumerMs: number;
  readonly receiveBytesPerSecond: number;
  /**
   * Handles one frame, in arrival order, after the read rate allowed it; `receivedAt` is when it was
   * read from the socket (performance.now() ms). Must not throw.
   */
  readonly onFrame: (data: string, isBinary: boolean, receivedAt: number) => void;
  readonly onSlowConsumer: () => void;
  /**
   * The connection's byte stream (the net or TLS socket under the WebSocket), corked while frames are
   * written in one burst: the `sent` answers of one commit, or a push round, leave in one write
   * instead of one system call per frame. Absent, every frame is written at once.
   */
  readonly stream?: { cork(): void; uncork(): void };
}

type PauseReason = "window" | "rate" | "queue" | "answers";

/**
 * Flow control of one WebSocket, both ways (issue 12, findings 2 and 3).
 * Out: every frame written is counted until the kernel takes it (ws's write callback); past the
 * socket's window, or while all sockets together are over the shared budget, the relay stops pushing
 * (`whenWritable`) and resumes when bytes drain — instead of buffering megabytes for a reader that
 * never reads, which is then dropped after `slowConsumerMs`.
 * The window counts only what the kernel has not taken, and on loopback (or any path with large
 * buffers) the kernel takes megabytes from a socket that is never read: each new session of an
 * account with a big mailbox made the relay read, encode and write that much again, for one connect.
 * So the bytes pushed are also counted until the peer proves it reads: past `unconfirmedBytes` the
 * relay pings with a random payload and waits for the pong echoing it (a WebSocket peer answers
 * pings as it reads; browsers and ws do so by themselves); one that never answers is dropped after
 * `slowConsumerMs` like a full window.
 * In: frames are handled in order at no more than `receiveBytesPerSecond` (each costing its size
 * plus FRAME_OVERHEAD_BYTES); over it, or while the outbound window is full (the peer is not reading
 * our answers), reading pauses, so TCP pushes back on the sender instead of the relay queueing frames.
 */
export class SocketFlow {
  readonly #socket: WebSocket;
  readonly #options: SocketFlowOptions;
  readonly #limiter: RateLimiterMemory;
  #outstanding = 0;
  #closed = false;
  readonly #paused = new Set<PauseReason>();
  readonly #queue: { data: string; isBinary: boolean; receivedAt: number }[] = [];
  #draining = false;
  #writableWaiters: (() => void)[] = [];
  #slowTimer: NodeJS.Timeout | undefined;
  /** Bytes pushed since the peer last proved it reads (a pong echoing our ping). */
  #unconfirmed = 0;
  /** The payload of the ping awaiting its pong, while pushes wait for it. */
  #pingPayload: Buffer | null = null;
  #pongTimer: NodeJS.Timeout | undefined;
  #corked = false;
  /** Set while the connection owes MAX_UNANSWERED_FRAMES answers: frames wait in the queue. */
  #held = false;
  #unhold: (() => void) | null = null;

  constructor(socket: WebSocket, options: SocketFlowOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#limiter = localLimiter({ points: options.receiveBytesPerSecond, durationSeconds: 1 });
    socket.on("pong", (data) => this.#pong(data));
  }

  /** Bytes written to this socket that the kernel has not taken yet. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** True while pushes must wait: this socket's window is full or the shared budget is spent. */
  get full(): boolean {
    return (
      this.#outstanding >= this.#options.windowBytes ||
      this.#unconfirmed >= this.#options.unconfirmedBytes ||
      !this.#options.budget.available
    );
  }

  write(text: string): void {
    if (this.#closed) return;
    // JSON of ASCII fields (base64, usernames, codes): one byte per character.
    const bytes = text.length;
    this.#outstanding += bytes;
    this.#unconfirmed += bytes;
    this.#options.budget.add(bytes);
    if (this.#outstanding >= this.#options.windowBytes) this.#pause("window");
    this.#cork();
    this.#socket.send(text, () => this.#flushed(bytes));
  }

  /** Corks the stream until the current burst of callbacks and promise reactions has run. */
  #cork(): void {
    const stream = this.#options.stream;
    if (stream === undefined || this.#corked) return;
    this.#corked = true;
    stream.cork();
    process.nextTick(() => {
      this.#corked = false;
      stream.uncork();
    });
  }

  #flushed(bytes: number): void {
    if (this.#closed) return;
    this.#outstanding -= bytes;
    this.#options.budget.release(bytes);
    if (this.#outstanding < this.#options.windowBytes) {
      clearTimeout(this.#slowTimer);
      this.#slowTimer = undefined;
      this.#resume("window");
      // A waiter re-checks and, if the shared budget is what is full now, waits on that instead.
      this.#wakeWriters();
    }
  }

  /** Resolves when a push may be written; while this socket's window is full, the slow-consumer clock runs. */
  async whenWritable(): Promise<void> {
    while (!this.#closed && this.full) {
      if (this.#outstanding >= this.#options.windowBytes) {
        this.#slowTimer ??= setTimeout(() => {
          if (!this.#closed && this.#outstanding >= this.#options.windowBytes) this.#options.onSlowConsumer();
        }, this.#options.slowConsumerMs);
        await new Promise<void>((resolve) => this.#writableWaiters.push(resolve));
      } else if (this.#unconfirmed >= this.#options.unconfirmedBytes) {
        this.#askForPong();
        await new Promise<void>((resolve) => this.#writableWaiters.push(resolve));
      } else {
        await this.#options.budget.whenAvailable();
      }
    }
  }

  /** One ping at a time, with a payload the peer can only echo after reading up to it. */
  #askForPong(): void {
    if (this.#pingPayload !== null) return;
    this.#pingPayload = randomBytes(8);
    this.#socket.ping(this.#pingPayload);
    this.#pongTimer = setTimeout(() => {
      if (!this.#closed && this.#pingPayload !== null) this.#options.onSlowConsumer();
    }, this.#options.slowConsumerMs);
  }

  #pong(data: Buffer): void {
    const expected = this.#pingPayload;
    // Unsolicited pongs are allowed (RFC 6455 §5.5.3) and prove nothing: only the echo counts.
    if (this.#closed || expected === null || !expected.equals(data)) return;
    this.#pingPayload = null;
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
    this.#unconfirmed = 0;
    this.#wakeWriters();
  }

  #wakeWriters(): void {
    for (const wake of this.#writableWaiters.splice(0)) wake();
  }

  /**
   * The connection owes too many answers (MAX_UNANSWERED_FRAMES): no frame is handed over and the
   * socket is not read until `releaseFrames`, so TCP pushes back on the sender.
   */
  holdFrames(): void {
    if (this.#held || this.#closed) return;
    this.#held = true;
    this.#pause("answers");
  }

  releaseFrames(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#resume("answers");
    this.#unhold?.();
    this.#unhold = null;
  }

  /** Queues a frame read from the socket; frames are handled in order by `#drain`. */
  receive(data: string, isBinary: boolean): void {
    if (this.#closed) return;
    this.#queue.push({ data, isBinary, receivedAt: performance.now() });
    if (this.#queue.length >= QUEUE_HIGH) this.#pause("queue");
    if (!this.#draining) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    let handled = 0;
    try {
      while (!this.#closed && this.#queue.length > 0) {
        if (this.#held) {
          await new Promise<void>((resolve) => (this.#unhold = resolve));
          continue;
        }
        if (handled === FRAMES_PER_TURN) {
          handled = 0;
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        const frame = this.#queue[0]!;
        const cost = Math.min(frame.data.length + FRAME_OVERHEAD_BYTES, this.#options.receiveBytesPerSecond);
        try {
          await this.#limiter.consume("frames", cost);
        } catch (error) {
          if (!(error instanceof RateLimiterRes)) throw error;
          // Over the read rate: stop reading until the window turns, then handle this frame.
          this.#pause("rate");
          await new Promise((resolve) => setTimeout(resolve, Math.max(1, error.msBeforeNext)));
          this.#resume("rate");
          continue;
        }
        this.#queue.shift();
        handled++;
        if (this.#queue.length <= QUEUE_LOW) this.#resume("queue");
        if (!this.#closed) this.#options.onFrame(frame.data, frame.isBinary, frame.receivedAt);
      }
    } finally {
      this.#draining = false;
    }
  }

  #pause(reason: PauseReason): void {
    this.#paused.add(reason);
    this.#socket.pause();
  }

  #resume(reason: PauseReason): void {
    if (!this.#paused.delete(reason) || this.#paused.size > 0 || this.#closed) return;
    this.#socket.resume();
  }

  /** The socket is gone: its unflushed bytes leave the shared budget, waiters and timers end. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#slowTimer);
    clearTimeout(this.#pongTimer);
    this.#queue.length = 0;
    this.#unhold?.();
    this.#unhold = null;
    this.#options.budget.release(this.#outstanding);
    this.#outstanding = 0;
    this.#wakeWriters();
  }
}
