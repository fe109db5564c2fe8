import type { WebSocket } from "ws";
import { NanoError } from "../errors/index.ts";
import {
  type AckFrame,
  CLOSE,
  CLOSE_REASONS,
  ClientFrame,
  FRAME,
  MAX_AUTH_FRAME_CHARS,
  type RelayFrame,
  readFrame,
  type SendFrame,
} from "../wire/index.ts";
import type { RelayContext } from "./context.ts";
import type { PushTarget } from "./delivery-hub.ts";
import { MAX_UNANSWERED_FRAMES, SocketFlow } from "./limits/socket-flow.ts";
import { acknowledgeMessages, type SubmittedSend, submitMessage, toWire } from "./mailbox-service.ts";
import { remember } from "./message-stages.ts";
import { decodeBase64 } from "./routes/_http.ts";
import { normalizeUsername } from "./usernames.ts";

const LOW_PREKEYS_EVERY_MS = 60_000;
/** How long a closed connection may take to answer the close frame before it is cut. */
const CLOSE_GRACE_MS = 2000;
/** Pushed messages fetched per store read, at most (fewer when they are large: see #batchSize). */
const MAX_FETCH_BATCH = 100;

/** A client frame read with the wire contract's schema (src/wire/frames.ts), or `malformed_request`. */
function parseFrame(data: string): ClientFrame {
  const reading = readFrame(ClientFrame, data);
  if (reading.ok) return reading.frame;
  throw new NanoError("malformed_request", `malformed frame: ${reading.why} (see docs/api.md)`);
}

/**
 * One push connection. Delivery is a pump over the store: it reads the user's mailbox after a
 * cursor, in id order, so pushes are ordered and a message committed while the pump runs is picked up
 * by the next round. Unacknowledged messages stay stored and are pushed again on the next connection.
 * Sends on one connection are submitted to the group commit one after another, preserving their order.
 *
 * Abuse bounds (docs/relay.md "Limits and abuse"): before authentication only one auth frame is
 * accepted, within auth_timeout_seconds, and anything else closes the connection (an unauthenticated
 * flood costs one frame); flow control (limits/socket-flow.ts) bounds what is buffered each way; an
 * account keeps at most max_connections_per_account connections.
 */
export class WsConnection implements PushTarget {
  readonly #socket: WebSocket;
  readonly #context: RelayContext;
  readonly #address: string;
  readonly #flow: SocketFlow;
  #username: string | null = null;
  #authenticating = false;
  /** Holds a slot of the address's unauthenticated connections until authenticated or closed. */
  #holdsUnauthenticatedSlot = false;
  #malformed = 0;
  #cursor = 0;
  #pumping = false;
  #dirty = false;
  #closed = false;
  /** Set by drain(): frames not handled yet are no longer read. */
  #draining = false;
  #sendChain: Promise<unknown> = Promise.resolve();
  #storeFailed = false;
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];
  readonly #authTimer: NodeJS.Timeout;
  #expiresAt = Number.POSITIVE_INFINITY;
  #tokenId = "";
  #expiryTimer: NodeJS.Timeout | undefined;
  /** When each suite's low_prekeys was last sent on this connection. */
  readonly #lowPrekeysAt = new Map<number, number>();
  /** server id -> when it was pushed on this connection, for the `ack` stage (message-stages.ts). */
  readonly #pushedAt = new Map<number, number>();
  /** Largest pushed frame lately, to size store reads to the socket's window. */
  #largestFrame: number;

  constructor(
    socket: WebSocket,
    context: RelayContext,
    presetToken: string | null,
    address: string,
    stream?: { cork(): void; uncork(): void },
  ) {
    this.#socket = socket;
    this.#context = context;
    this.#address = address;
    const { websocket } = context.config.limits;
    this.#largestFrame = Math.ceil((context.config.limits.max_envelope_bytes * 4) / 3) + 256;
    this.#flow = new SocketFlow(socket, {
      windowBytes: websocket.send_window_bytes,
      unconfirmedBytes: websocket.push_unconfirmed_bytes,
      budget: context.bounds.outbound,
      slowConsumerMs: websocket.slow_consumer_seconds * 1000,
      receiveBytesPerSecond: websocket.receive_bytes_per_second,
      onFrame: (data, isBinary, receivedAt) => this.#onMessage(data, isBinary, receivedAt),
      onSlowConsumer: () => this.#drop("slow_consumer"),
      ...(stream === undefined ? {} : { stream }),
    });
    this.#authTimer = setTimeout(
      () => this.close(CLOSE.UNAUTHENTICATED, "authentication timeout"),
      websocket.auth_timeout_seconds * 1000,
    );
    context.hub.attach(this);
    socket.on("message", (data, isBinary) => {
      if (!this.#closed) this.#flow.receive(data.toString(), isBinary);
    });
    socket.on("close", () => this.#onClose());
    socket.on("error", () => this.#onClose());
    if (!this.#admit()) return;
    if (presetToken !== null) this.#authenticate(presetToken);
  }

  /** Per-address cap on unauthenticated connections, and the memory budget: 1013 when over. */
  #admit(): boolean {
    const { bounds, metrics } = this.#context;
    let refusal: string | null = null;
    if (bounds.memory.rss > bounds.memory.budget) refusal = "memory_budget";
    else if (!bounds.unauthenticated.acquire(this.#address)) refusal = "unauthenticated_per_address";
    else this.#holdsUnauthenticatedSlot = true;
    if (refusal === null) return true;
    metrics.websocketLimitCloses.inc({ reason: refusal });
    this.close(CLOSE.TRY_AGAIN_LATER, refusal);
    return false;
  }

  #releaseUnauthenticatedSlot(): void {
    if (!this.#holdsUnauthenticatedSlot) return;
    this.#holdsUnauthenticatedSlot = false;
    this.#context.bounds.unauthenticated.release(this.#address);
  }

  #authenticate(token: string): void {
    this.#authenticating = true;
    // Before the token is looked up: a session whose authentication began before its username's
    // account existed belongs to an erased earlier holder of the name (erasure-watch.ts).
    const authenticatedAt = this.#context.clock.now();
    void this.#context.tokens.session(token).then(
      async (session) => {
        if (this.#closed) return;
        try {
          // Every session pushes the account's whole unacknowledged mailbox: reconnecting in a loop
          // would make the relay read and send it again and again.
          await this.#context.limits.consume("websocket_connect", session.username);
        } catch (error) {
          this.#writeError(error);
          this.#context.metrics.websocketLimitCloses.inc({ reason: "connect_rate" });
          this.close(CLOSE.TRY_AGAIN_LATER, "rate_limited");
          return;
        }
        if (this.#closed) return;
        this.#authenticating = false;
        clearTimeout(this.#authTimer);
        this.#releaseUnauthenticatedSlot();
        this.#username = session.username;
        this.#expiresAt = session.expiresAt;
        this.#tokenId = session.tokenId;
        const { hub, metrics, config } = this.#context;
        // The hub knows the token so a revocation, an identity update or the sweeper can end this
        // session; the timer ends it at expiry in real time.
        hub.add(session.username, this, {
          tokenId: session.tokenId,
          expiresAt: session.expiresAt,
          authenticatedAt,
        });
        // One live connection per device across the cluster: older ones, here or elsewhere, are closed.
        void this.#context.cluster?.claimDevice(session.username, this);
        // The account's oldest connections beyond the cap are closed: the newest is the one in use.
        const trimmed = hub.trim(
          session.username,
          config.limits.websocket.max_connections_per_account,
          CLOSE.REPLACED,
          CLOSE_REASONS.connectionLimit,
        );
        if (trimmed > 0) metrics.websocketLimitCloses.inc({ reason: CLOSE_REASONS.connectionLimit }, trimmed);
        this.#scheduleExpiry();
        metrics.websocketConnections.inc();
        this.#write({ type: FRAME.ready, username: session.username });
        this.notify();
        this.#signalLowStock(session.username).catch((error: unknown) =>
          this.#context.log.error({ err: error }, "prekey stock check failed"),
        );
      },
      (error: unknown) => {
        const code = NanoError.is(error) ? error.code : "unauthenticated";
        this.#context.metrics.authFailures.inc({ reason: code });
        this.#write({ type: FRAME.error, code, message: "authentication failed" });
        this.close(CLOSE.UNAUTHENTICATED, code);
      },
    );
  }

  /** Checked at the token's expiry (real time); a clock moved by tests is also caught per frame. */
  #scheduleExpiry(): void {
    clearTimeout(this.#expiryTimer);
    const delay = Math.min(Math.max(0, this.#expiresAt - this.#context.clock.now()), 2_147_483_647);
    this.#expiryTimer = setTimeout(() => {
      if (!this.expireIfDue(this.#context.clock.now())) this.#scheduleExpiry();
    }, delay);
    this.#expiryTimer.unref();
  }

  /** Ends an authenticated session whose token has expired by `now`; returns true if it did. */
  expireIfDue(now: number): boolean {
    if (this.#username === null || this.#closed || now < this.#expiresAt) return false;
    this.#writeError(new NanoError("token_expired", "the token has expired; log in again"));
    this.close(CLOSE.UNAUTHENTICATED, CLOSE_REASONS.tokenExpired);
    return true;
  }

  #onMessage(data: string, isBinary: boolean, receivedAt: number): void {
    if (this.#closed || this.#draining) return;
    if (this.#username === null) {
      this.#onUnauthenticatedFrame(data, isBinary);
      return;
    }
    // Nothing is done for a session whose token has expired, even before its timer fires.
    if (this.expireIfDue(this.#context.clock.now())) return;
    // Any frame is the user at work: the token is not idle (automatic logoff, docs/compliance.md).
    this.#context.tokens.touch(this.#tokenId);
    let frame: ClientFrame;
    try {
      if (isBinary) throw new NanoError("malformed_request", "frames are JSON text");
      frame = parseFrame(data);
      // A second auth frame is a protocol violation like any other malformed frame.
      if (frame.type === FRAME.auth) throw new NanoError("malformed_request", "already authenticated");
    } catch (error) {
      this.#context.metrics.websocketFrames.inc({ type: "malformed" });
      this.#writeError(error, undefined);
      if (++this.#malformed > this.#context.config.limits.websocket.max_malformed_frames) {
        this.close(CLOSE.PROTOCOL, "too many malformed frames");
      }
      return;
    }
    this.#context.metrics.websocketFrames.inc({ type: frame.type });
    if (frame.type === FRAME.send) this.#onSend(this.#username, frame, receivedAt);
    else this.#onAck(this.#username, frame, receivedAt);
  }

  /**
   * Before authentication exactly one frame is acceptable: a small `auth` frame, and only while no
   * authentication is under way. Anything else closes the connection at once (issue 12, finding 3:
   * 20,000 malformed frames on one unauthenticated socket stalled every client).
   */
  #onUnauthenticatedFrame(data: string, isBinary: boolean): void {
    let frame: ClientFrame | null = null;
    if (!isBinary && data.length <= MAX_AUTH_FRAME_CHARS && !this.#authenticating) {
      try {
        frame = parseFrame(data);
      } catch {
        frame = null;
      }
    }
    if (frame === null) {
      this.#context.metrics.websocketFrames.inc({ type: "malformed" });
      this.#writeError(new NanoError("malformed_request", "the first frame must be a small auth frame"));
      this.close(CLOSE.PROTOCOL, "malformed frame before authentication");
      return;
    }
    this.#context.metrics.websocketFrames.inc({ type: frame.type });
    if (frame.type !== FRAME.auth) {
      this.#writeError(new NanoError("unauthenticated", "send an auth frame first"));
      this.close(CLOSE.UNAUTHENTICATED, "unauthenticated");
      return;
    }
    this.#authenticate(frame.token);
  }

  /**
   * Once a send on this connection failed in the store, later ones must not be stored ahead of its
   * retry (per-sender order): they are refused and the connection closes, so the client reconnects
   * and resends everything unacknowledged in order (same client message ids).
   */
  #sendsBroken(): void {
    if (this.#storeFailed)
      throw new NanoError("store_unavailable", "an earlier send failed; reconnect and resend in order");
  }

  #onSend(username: string, frame: SendFrame, receivedAt: number): void {
    const submitted = this.#sendChain.then((): Promise<SubmittedSend> => {
      this.#sendsBroken();
      const envelope = decodeBase64(frame.envelope, "envelope");
      return submitMessage(
        this.#context,
        username,
        { to: normalizeUsername(frame.to), clientMessageId: frame.id, envelope },
        () => this.#sendsBroken(),
      );
    });
    this.#sendChain = submitted.catch(() => undefined);
    this.#track(
      submitted
        .then((box) => {
          this.#context.stages.observe("check", receivedAt);
          return box.committed;
        })
        .then(
          (receipt) =>
            this.#write({
              type: FRAME.sent,
              id: frame.id,
              server_id: receipt.serverId,
              duplicate: receipt.duplicate,
            }),
          (error: unknown) => {
            this.#writeError(error, frame.id);
            if (NanoError.is(error, "store_unavailable") && !this.#storeFailed) {
              this.#storeFailed = true;
              this.close(CLOSE.INTERNAL_ERROR, "store_unavailable");
            }
          },
        ),
    );
  }

  /** Counts work whose answer is still owed to the client, so shutdown can wait for it. */
  #track(work: Promise<unknown>): void {
    this.#inflight++;
    if (this.#inflight >= MAX_UNANSWERED_FRAMES) this.#flow.holdFrames();
    void work.finally(() => {
      this.#inflight--;
      // Half the bound, so a client at the limit is not paused and resumed once per answer.
      if (this.#inflight <= MAX_UNANSWERED_FRAMES / 2) this.#flow.releaseFrames();
      if (this.#inflight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    });
  }

  /** Resolves when every send and ack received so far has been answered. */
  idle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #onAck(username: string, frame: AckFrame, receivedAt: number): void {
    const { stages } = this.#context;
    for (const id of frame.ids) {
      const pushedAt = this.#pushedAt.get(id);
      if (pushedAt === undefined) continue;
      this.#pushedAt.delete(id);
      stages.observe("ack", pushedAt);
    }
    this.#track(
      acknowledgeMessages(this.#context, username, frame.ids).then(
        (deleted) => {
          stages.observe("delete", receivedAt);
          this.#write({
            type: FRAME.acked,
            ids: frame.ids,
            deleted,
            ...(frame.ref ? { ref: frame.ref } : {}),
          });
        },
        (error: unknown) => this.#writeError(error, frame.ref),
      ),
    );
  }

  /**
   * `{"type": "low_prekeys", "suite", "count"}`: the owner should upload one-time prekeys of `suite`.
   * At most one per suite per LOW_PREKEYS_EVERY_MS on a connection, so a drain does not become a
   * flood of frames to its victim.
   */
  lowPrekeys(suite: number, count: number): void {
    if (this.#username === null || this.#closed) return;
    const now = this.#context.clock.now();
    const last = this.#lowPrekeysAt.get(suite);
    if (last !== undefined && now - last < LOW_PREKEYS_EVERY_MS) return;
    this.#lowPrekeysAt.set(suite, now);
    this.#write({ type: FRAME.lowPrekeys, suite, count });
  }

  /** On connect: every suite whose stock is already low is signalled at once. */
  async #signalLowStock(username: string): Promise<void> {
    const { store, config } = this.#context;
    for (const bundle of await store.prekeys.listBundles(username)) {
      const count = await store.prekeys.countOneTimePrekeys(username, bundle.suite);
      if (count <= config.limits.low_prekeys_threshold) this.lowPrekeys(bundle.suite, count);
    }
  }

  notify(): void {
    if (this.#username === null || this.#closed) return;
    this.#dirty = true;
    if (this.#pumping) return;
    this.#pumping = true;
    void this.#pump(this.#username);
  }

  /** Messages per store read: as many as fit the socket's window at the largest frame seen lately. */
  #batchSize(): number {
    const window = this.#context.config.limits.websocket.send_window_bytes;
    return Math.max(1, Math.min(MAX_FETCH_BATCH, Math.floor(window / this.#largestFrame)));
  }

  /**
   * `#pumping` is cleared in the same synchronous step as the last `#dirty` check, so a notification
   * that arrives while the pump winds down always starts a new round instead of being lost. A round
   * writes only while the socket's window has room; messages fetched beyond it are read again later.
   */
  async #pump(username: string): Promise<void> {
    try {
      while (this.#dirty) {
        this.#dirty = false;
        for (;;) {
          await this.#flow.whenWritable();
          if (this.#closed) return;
          const requested = this.#batchSize();
          const batch = await this.#context.store.mailboxes.fetch(
            username,
            this.#cursor,
            requested,
            this.#context.clock.now(),
          );
          if (batch.length === 0 || this.#closed) break;
          let largest = 1024;
          let pushed = 0;
          for (const message of batch) {
            const text = JSON.stringify({ type: FRAME.message, ...toWire(message) } satisfies RelayFrame);
            largest = Math.max(largest, text.length);
            this.#flow.write(text);
            remember(this.#pushedAt, message.id, this.#context.stages.pushed(message.id));
            this.#cursor = message.id;
            pushed++;
            if (this.#flow.full) break;
          }
          this.#largestFrame = largest;
          this.#context.metrics.messagesDelivered.inc({ via: "websocket" }, pushed);
          // One window's worth per turn of the event loop: a socket whose kernel buffer takes
          // everything (a big mailbox on a fast link) must not keep every other client waiting
          // until its whole mailbox is pushed.
          await new Promise((resolve) => setImmediate(resolve));
          // A short batch, all written, was everything committed when it was read; anything committed
          // since has notified and set #dirty, so the outer loop reads again. Saves an empty read per
          // round (one database round trip per delivered message on PostgreSQL).
          if (pushed === batch.length && batch.length < requested) break;
        }
      }
    } catch (error) {
      this.#context.log.error({ err: error }, "push delivery failed");
      this.close(CLOSE.INTERNAL_ERROR, "internal error");
    } finally {
      this.#pumping = false;
    }
  }

  #write(frame: RelayFrame): void {
    if (this.#closed || this.#socket.readyState !== this.#socket.OPEN) return;
    this.#flow.write(JSON.stringify(frame));
  }

  #writeError(error: unknown, id?: string): void {
    const typed = NanoError.is(error) ? error : new NanoError("internal_error", "internal error");
    if (!NanoError.is(error)) this.#context.log.error({ err: error }, "websocket frame failed");
    this.#write({
      type: FRAME.error,
      code: typed.code,
      message: typed.message,
      ...(id === undefined ? {} : { id }),
    });
  }

  /**
   * Ends the connection for a restart without losing an answer: what was received is answered, what
   * was not read yet never will be (the client gets no answer for it and resends it under the same
   * client message id to the next relay), then the close. Acks not read mean messages pushed again,
   * which clients deduplicate by id.
   */
  async drain(code: number, reason: string): Promise<void> {
    if (this.#closed || this.#draining) return;
    this.#draining = true;
    this.#socket.pause();
    await this.idle();
    // Read again so the client's answer to the close frame is seen and the connection ends at once
    // (a paused socket would hold it for CLOSE_GRACE_MS, and the client would wait that long to
    // reconnect). Frames still arriving are ignored: #onMessage checks #draining.
    this.#socket.resume();
    this.close(code, reason);
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#socket.close(code, reason);
    // A peer closed for breaking the protocol is not read any further (a flood already on the wire
    // stays in the kernel); its close frame still goes out, and the grace below cuts the connection.
    if (code === CLOSE.PROTOCOL) this.#socket.pause();
    // A peer that does not read never answers the close frame, and ws would keep the socket (and what
    // is buffered for it) for its 30 s closing timeout: cut it sooner.
    const socket = this.#socket;
    setTimeout(() => {
      if (socket.readyState !== socket.CLOSED) socket.terminate();
    }, CLOSE_GRACE_MS).unref();
    this.#onClose();
  }

  /** A peer that does not read cannot take a close frame either: the connection is cut (1006). */
  #drop(reason: string): void {
    if (this.#closed) return;
    this.#context.metrics.websocketLimitCloses.inc({ reason });
    this.#socket.terminate();
    this.#onClose();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#authTimer);
    clearTimeout(this.#expiryTimer);
    this.#flow.close();
    this.#releaseUnauthenticatedSlot();
    this.#context.hub.detach(this);
    if (this.#username !== null) {
      this.#context.hub.remove(this.#username, this);
      this.#context.metrics.websocketConnections.dec();
    }
  }
}
