import { ERROR_CATALOGUE, type ErrorCode, NanoError } from "../../errors/index.ts";
import {
  type AckedFrame,
  type AckFrame,
  CLOSE,
  type ErrorFrame,
  FRAME,
  MAX_ACK_IDS,
  MAX_ENVELOPE_BASE64,
  type MessageFrame,
  RelayFrame,
  readFrame,
  type SendFrame,
  type SentFrame,
} from "../../wire/index.ts";
import { type BackoffPolicy, backoffDelay } from "./backoff.ts";
import { type RelayBase64, relayBase64 } from "./base64.ts";
import { type ChannelSocket, unrefTimer } from "./channel-socket.ts";
import { fromWireMessage, type RelayApi, type RelayMessage } from "./relay-api.ts";
import { MAX_ERROR_MESSAGE, websocketUrl } from "./relay-request.ts";

/**
 * The relay channel: ONE authenticated WebSocket per open home (docs/api.md "WebSocket /v1/ws") that
 * carries sends, acknowledgements and pushed messages. Sends are pipelined: a frame is written without
 * waiting for the answer to the one before, and the relay commits the sends of one connection in the
 * order they were written, so call order is wire order is commit order. Every answer is matched by id
 * (`sent` / `error` by client message id, `acked` by ref); a socket that closes first rejects what it
 * still owed with `relay_unreachable`: the caller's outbox entry stays and is resent under the same
 * client message id, which the relay stores once.
 *
 * Nothing waits forever: every written frame must be answered within `answerTimeoutMs`, and a ping
 * within as long, or the socket is terminated, which rejects everything owed (written or still queued)
 * with `relay_unreachable` at once. A half-open TCP connection or a silent relay thus costs one
 * deadline, like the HTTP path's request timeout.
 *
 * Whatever the relay sends is untrusted input, read with the wire contract's schema (src/wire/frames.ts):
 * a frame that does not match it (not JSON, an unknown type, a field missing or mistyped, an envelope
 * longer than the protocol allows) is reported to the listeners' onError as `relay_answer_malformed`
 * and ignored — except that a malformed answer naming a frame of ours rejects that frame at once
 * rather than leaving it to its deadline. A well-formed answer to nothing outstanding is
 * `relay_rejected`.
 */

export interface ReconnectPolicy extends BackoffPolicy {
  /**
   * After a 1012 (the relay is restarting: its work is answered, it serves no more) the reconnect
   * waits a random time below this, with no backoff: the relays left are healthy, and the jitter
   * spreads a drained relay's clients over them.
   */
  readonly restartJitterMs: number;
}

/** Bounded, jittered exponential backoff between reconnection attempts while someone listens. */
export const RECONNECT: ReconnectPolicy = Object.freeze({
  baseMs: 250,
  maxMs: 10_000,
  factor: 2,
  jitter: 0.2,
  restartJitterMs: 1000,
});

export const CHANNEL_LIMITS = Object.freeze({
  /** Frames written and not yet answered; further frames wait (in order) until answers arrive. */
  maxOutstanding: 1024,
  /**
   * Largest frame accepted from the relay: a pushed message with the largest legal envelope (64 KiB,
   * ~88 KiB in base64) plus its JSON fields. Nothing legal is larger, so a hostile relay cannot make
   * the client buffer more per frame.
   */
  maxFrameBytes: MAX_ENVELOPE_BASE64 + 4096,
  /** Upgrade plus authentication, i.e. until `ready`. */
  connectTimeoutMs: 10_000,
  /** After the relay (or a proxy) refused the upgrade, callers use HTTP for this long. */
  refusedCooldownMs: 30_000,
  /** A written frame unanswered, or a ping without pong, this long terminates the socket (as HTTP's 15 s). */
  answerTimeoutMs: 15_000,
  /** A ping is written this long after the last pong, so a silent connection is found while idle. */
  pingIntervalMs: 30_000,
  /** A connection up this long resets the reconnect backoff (one that drops sooner keeps backing off). */
  stableAfterMs: 10_000,
});

/** Deadlines and caps, injectable so tests need not wait for the real ones. */
export interface ChannelOptions {
  readonly answerTimeoutMs?: number;
  readonly pingIntervalMs?: number;
  readonly stableAfterMs?: number;
  readonly maxOutstanding?: number;
  readonly reconnect?: Partial<ReconnectPolicy>;
}

export interface SendAnswer {
  readonly serverId: number;
  /** The relay already held this client message id (a retry): stored once. */
  readonly duplicate: boolean;
}

/** What the channel needs of the HTTP API: where the relay is and a bearer token (RelayApi). */
export type ChannelAuth = Pick<RelayApi, "endpoint" | "token" | "forgetToken">;

export interface ChannelListener {
  /** A pushed message, in the relay's order. Synchronous: queue the work, do not block the socket. */
  readonly onMessage?: (message: RelayMessage) => void;
  /** The connection authenticated (again): everything unacknowledged is being pushed anew. */
  readonly onReady?: () => void;
  /** The relay says this account's one-time prekeys of `suite` are down to `count`: refill them. */
  readonly onLowPrekeys?: (suite: number, count: number) => void;
  readonly onError?: (error: NanoError) => void;
}

interface Outstanding {
  readonly key: string;
  readonly frame: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: NanoError) => void;
  written: boolean;
  /** When written: the answer is due by then (Date.now() milliseconds). */
  dueAt: number;
}

interface Connection {
  readonly socket: ChannelSocket;
  ready: boolean;
  /** Why the client ended this connection (a deadline passed), for the rejections it causes. */
  endedBecause: string | null;
  /** Armed while written frames are unanswered: fires at the earliest one's deadline. */
  answerTimer: ReturnType<typeof setTimeout> | undefined;
  /** The next ping, or the deadline of the ping written. */
  livenessTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resets the reconnect backoff once the connection has stayed up for a while. */
  stableTimer: ReturnType<typeof setTimeout> | undefined;
}

const unreachable = (why: string) => new NanoError("relay_unreachable", why);
const rejected = (why: string) => new NanoError("relay_rejected", why);
const malformed = (why: string) =>
  new NanoError("relay_answer_malformed", `the relay sent a malformed frame (${why})`);

function relayCode(code: unknown): ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERROR_CATALOGUE, code)
    ? (code as ErrorCode)
    : "relay_rejected";
}

export class RelayChannel {
  readonly #api: ChannelAuth;
  readonly #base64: RelayBase64;
  readonly #limits: Required<Omit<ChannelOptions, "reconnect">>;
  readonly #reconnect: ReconnectPolicy;
  #connection: Connection | null = null;
  #connecting: Promise<void> | null = null;
  /** Not yet written, in call order. */
  #queue: Outstanding[] = [];
  /** Sends by client message id, queued or written: a second send of one id joins the first. */
  readonly #sends = new Map<string, { entry: Outstanding; promise: Promise<SendAnswer> }>();
  /** Acks by ref, queued or written. */
  readonly #acks = new Map<string, Outstanding>();
  #written = 0;
  #nextRef = 0;
  readonly #listeners = new Set<ChannelListener>();
  #closed = false;
  #refusedUntil = 0;
  #failures = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #paused = false;

  constructor(api: ChannelAuth, options: ChannelOptions = {}) {
    this.#api = api;
    this.#base64 = relayBase64(api.endpoint.transport.base64);
    this.#limits = {
      answerTimeoutMs: options.answerTimeoutMs ?? CHANNEL_LIMITS.answerTimeoutMs,
      pingIntervalMs: options.pingIntervalMs ?? CHANNEL_LIMITS.pingIntervalMs,
      stableAfterMs: options.stableAfterMs ?? CHANNEL_LIMITS.stableAfterMs,
      maxOutstanding: options.maxOutstanding ?? CHANNEL_LIMITS.maxOutstanding,
    };
    this.#reconnect = { ...RECONNECT, ...options.reconnect };
  }

  /** True while the socket is authenticated and frames go out at once. */
  get ready(): boolean {
    return this.#connection?.ready === true;
  }

  /** False for a while after the relay refused the WebSocket upgrade: use HTTP meanwhile. */
  get usable(): boolean {
    return !this.#closed && Date.now() >= this.#refusedUntil;
  }

  /** Frames written and not yet answered (bounded by CHANNEL_LIMITS.maxOutstanding). */
  get outstanding(): number {
    return this.#written;
  }

  /** Reconnections since the last connection that stayed up `stableAfterMs`: the backoff's exponent. */
  get reconnectAttempts(): number {
    return this.#failures;
  }

  /** Connects (if needed) and resolves once authenticated; rejects `relay_unreachable` otherwise. */
  open(): Promise<void> {
    if (this.#closed) return Promise.reject(unreachable("the relay channel is closed"));
    if (this.ready) return Promise.resolve();
    return this.#connect();
  }

  /**
   * Posts one envelope; resolves on the relay's `sent` (after its durable commit), rejects with the
   * relay's code on an `error` frame for this id, or `relay_unreachable` if the socket closes first.
   * The frame is queued synchronously, so calls made in order reach the relay in that order.
   */
  send(to: string, clientMessageId: string, envelope: Uint8Array): Promise<SendAnswer> {
    if (this.#closed) return Promise.reject(unreachable("the relay channel is closed"));
    const running = this.#sends.get(clientMessageId);
    if (running !== undefined) return running.promise;
    let entry!: Outstanding;
    const promise = new Promise<SendAnswer>((resolve, reject) => {
      entry = {
        key: clientMessageId,
        frame: JSON.stringify({
          type: FRAME.send,
          id: clientMessageId,
          to,
          envelope: this.#base64.encode(envelope),
        } satisfies SendFrame),
        resolve: resolve as (value: unknown) => void,
        reject,
        written: false,
        dueAt: 0,
      };
    });
    this.#sends.set(clientMessageId, { entry, promise });
    this.#queue.push(entry);
    this.#pump();
    return promise;
  }

  /** Acknowledges relay message ids (one frame per 1000); resolves once the relay deleted them. */
  async ack(ids: readonly number[]): Promise<void> {
    if (this.#closed) throw unreachable("the relay channel is closed");
    const frames: Promise<unknown>[] = [];
    for (let start = 0; start < ids.length; start += MAX_ACK_IDS) {
      // A '.' never occurs in a client message id, so an `error` frame's id names one or the other.
      const ref = `ack.${++this.#nextRef}`;
      const chunk = ids.slice(start, start + MAX_ACK_IDS);
      frames.push(
        new Promise((resolve, reject) => {
          const entry: Outstanding = {
            key: ref,
            frame: JSON.stringify({ type: FRAME.ack, ids: chunk, ref } satisfies AckFrame),
            resolve,
            reject,
            written: false,
            dueAt: 0,
          };
          this.#acks.set(ref, entry);
          this.#queue.push(entry);
        }),
      );
    }
    this.#pump();
    await Promise.all(frames);
  }

  /**
   * Listens for pushed messages and readiness; while anyone listens the channel stays connected,
   * reconnecting with RECONNECT backoff. Returns the unsubscribe.
   */
  subscribe(listener: ChannelListener): () => void {
    this.#listeners.add(listener);
    if (this.ready) listener.onReady?.();
    else this.#connect().catch(() => this.#scheduleReconnect());
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        clearTimeout(this.#reconnectTimer);
        this.#reconnectTimer = undefined;
      }
    };
  }

  /**
   * Stops reading pushed frames (backpressure from a slow consumer); `resume` reads on. Unread, the
   * answers and pongs cannot be seen either, so the deadlines stop meanwhile and start afresh on
   * `resume`: a slow consumer never gets its own socket ended.
   */
  pause(): void {
    this.#paused = true;
    const connection = this.#connection;
    if (connection === null) return;
    connection.socket.pause();
    clearTimeout(connection.answerTimer);
    clearTimeout(connection.livenessTimer);
    connection.answerTimer = undefined;
    connection.livenessTimer = undefined;
  }

  resume(): void {
    this.#paused = false;
    const connection = this.#connection;
    if (connection === null) return;
    connection.socket.resume();
    const dueAt = Date.now() + this.#limits.answerTimeoutMs;
    for (const { entry } of this.#sends.values())
      if (entry.written) entry.dueAt = Math.max(entry.dueAt, dueAt);
    for (const entry of this.#acks.values()) if (entry.written) entry.dueAt = Math.max(entry.dueAt, dueAt);
    this.#armAnswerDeadline(connection);
    if (connection.ready) this.#schedulePing(connection);
  }

  /** Closes the socket for good; everything still owed rejects with `relay_unreachable`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#listeners.clear();
    const connection = this.#connection;
    this.#connection = null;
    if (connection !== null) {
      this.#clearTimers(connection);
      connection.socket.close(CLOSE.NORMAL, "client closed");
      // The close frame is written, but nothing waits for the relay's answer: a silent relay would
      // hold the socket, and so the process, for ws's 30 s close timeout.
      connection.socket.terminate();
    }
    this.#failAll(unreachable("the relay channel was closed"), true);
  }

  #emitError(error: NanoError): void {
    for (const listener of this.#listeners) listener.onError?.(error);
  }

  /** Writes queued frames while the socket is ready and the outstanding cap allows. */
  #pump(): void {
    const connection = this.#connection;
    if (connection === null || !connection.ready) {
      if (this.#queue.length > 0) this.#connect().catch(() => {});
      return;
    }
    const dueAt = Date.now() + this.#limits.answerTimeoutMs;
    while (this.#queue.length > 0 && this.#written < this.#limits.maxOutstanding) {
      const entry = this.#queue.shift()!;
      entry.written = true;
      entry.dueAt = dueAt;
      this.#written++;
      connection.socket.send(entry.frame);
    }
    this.#armAnswerDeadline(connection);
  }

  /**
   * Keeps one timer per connection, due no later than the earliest deadline of its unanswered frames;
   * when it fires it looks again (that frame may have been answered meanwhile).
   */
  #armAnswerDeadline(connection: Connection): void {
    if (this.#written === 0) {
      clearTimeout(connection.answerTimer);
      connection.answerTimer = undefined;
      return;
    }
    if (connection.answerTimer !== undefined || this.#paused) return;
    connection.answerTimer = setTimeout(
      () => {
        connection.answerTimer = undefined;
        if (this.#connection !== connection) return;
        if (this.#earliestDue() <= Date.now()) this.#end(connection, "the relay did not answer in time");
        else this.#armAnswerDeadline(connection);
      },
      Math.max(0, this.#earliestDue() - Date.now()),
    );
    unrefTimer(connection.answerTimer);
  }

  #earliestDue(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const { entry } of this.#sends.values())
      if (entry.written) earliest = Math.min(earliest, entry.dueAt);
    for (const entry of this.#acks.values()) if (entry.written) earliest = Math.min(earliest, entry.dueAt);
    return earliest;
  }

  /** Pings after `pingIntervalMs`; a pong must come within `answerTimeoutMs`, then the next ping is due. */
  #schedulePing(connection: Connection): void {
    clearTimeout(connection.livenessTimer);
    connection.livenessTimer = undefined;
    if (this.#paused) return;
    connection.livenessTimer = setTimeout(() => {
      if (this.#connection !== connection || !connection.socket.open) return;
      // A runtime without pings (the browser): the relay's pings and the close event tell instead.
      if (!connection.socket.ping()) return;
      connection.livenessTimer = setTimeout(
        () => this.#end(connection, "the relay did not answer a ping in time"),
        this.#limits.answerTimeoutMs,
      );
      unrefTimer(connection.livenessTimer);
    }, this.#limits.pingIntervalMs);
    unrefTimer(connection.livenessTimer);
  }

  /**
   * Ends a connection the relay stopped answering: terminate (no close handshake to wait for), so the
   * close handler rejects everything owed with `relay_unreachable` and reconnects if someone listens.
   */
  #end(connection: Connection, why: string): void {
    if (connection.endedBecause !== null) return;
    connection.endedBecause = why;
    this.#emitError(unreachable(why));
    connection.socket.terminate();
  }

  #clearTimers(connection: Connection): void {
    clearTimeout(connection.answerTimer);
    clearTimeout(connection.livenessTimer);
    clearTimeout(connection.stableTimer);
    connection.answerTimer = undefined;
    connection.livenessTimer = undefined;
    connection.stableTimer = undefined;
  }

  #connect(): Promise<void> {
    if (this.#connecting !== null) return this.#connecting;
    const attempt = this.#connectOnce(true).finally(() => {
      if (this.#connecting === attempt) this.#connecting = null;
    });
    this.#connecting = attempt;
    // Frames queued for this attempt fail with it: their callers (the outbox) decide what is next.
    attempt.catch((error: unknown) => {
      this.#failFailed(NanoError.is(error) ? error : unreachable("the relay connection failed"));
    });
    return attempt;
  }

  async #connectOnce(retryAuth: boolean): Promise<void> {
    if (this.#closed) throw unreachable("the relay channel is closed");
    if (Date.now() < this.#refusedUntil) throw unreachable("the relay refused the WebSocket upgrade");
    const token = await this.#api.token();
    if (this.#closed) throw unreachable("the relay channel is closed");
    // Made once the socket exists; its events arrive asynchronously, after that.
    let connection!: Connection;
    let settle!: (outcome: NanoError | null) => void;
    const settled = new Promise<NanoError | null>((resolve) => {
      settle = resolve;
    });
    let failure: string | null = null;
    const { endpoint } = this.#api;
    const socket = endpoint.transport.openSocket(
      {
        url: websocketUrl(endpoint),
        token,
        ca: endpoint.ca,
        connectTimeoutMs: CHANNEL_LIMITS.connectTimeoutMs,
        maxFrameBytes: CHANNEL_LIMITS.maxFrameBytes,
      },
      {
        onOpen: () => {},
        onPong: () => {
          if (connection.ready && connection.endedBecause === null) this.#schedulePing(connection);
        },
        onBinary: () => this.#emitError(rejected("the relay sent a binary frame")),
        onText: (text) => {
          if (this.#onFrame(connection, text)) {
            clearTimeout(timer);
            settle(null);
          }
        },
        onError: (error) => {
          failure = error.message;
          // Not a WebSocket endpoint (a proxy, an old relay): HTTP carries the sends for a while.
          if (error.refused) this.#refusedUntil = Date.now() + CHANNEL_LIMITS.refusedCooldownMs;
          else if (error.tooLarge)
            this.#emitError(rejected("the relay sent a frame larger than the client accepts"));
        },
        onClose: (code) => {
          clearTimeout(timer);
          this.#clearTimers(connection);
          if (code === CLOSE.UNAUTHENTICATED) this.#api.forgetToken();
          settle(
            code === CLOSE.UNAUTHENTICATED && !connection.ready
              ? new NanoError("unauthenticated", "the relay refused the token")
              : unreachable(
                  connection.endedBecause ??
                    (failure === null ? "the relay closed the connection" : "the relay connection failed"),
                ),
          );
          this.#onClose(connection, code);
        },
      },
    );
    connection = {
      socket,
      ready: false,
      endedBecause: null,
      answerTimer: undefined,
      livenessTimer: undefined,
      stableTimer: undefined,
    };
    this.#connection = connection;
    const timer = setTimeout(() => {
      settle(unreachable("the relay did not authenticate the WebSocket in time"));
      socket.terminate();
    }, CHANNEL_LIMITS.connectTimeoutMs);
    const outcome = await settled;
    if (outcome === null) return;
    // A token the relay no longer knows (restart with a fresh store, revoked): log in once more.
    if (NanoError.is(outcome, "unauthenticated") && retryAuth) return this.#connectOnce(false);
    throw NanoError.is(outcome, "unauthenticated") ? unreachable(outcome.message) : outcome;
  }

  /** Handles one text frame; returns true when it was this connection's `ready`. */
  #onFrame(connection: Connection, text: string): boolean {
    const reading = readFrame(RelayFrame, text);
    if (!reading.ok) {
      this.#onMalformed(reading.value, reading.why);
      return false;
    }
    const frame = reading.frame;
    switch (frame.type) {
      case FRAME.ready:
        if (connection.ready) return false;
        connection.ready = true;
        // Not reset here: a relay that accepts and closes at once would get reconnects at the base
        // rate forever. Only a connection that stays up earns a fresh backoff.
        connection.stableTimer = setTimeout(() => {
          if (this.#connection === connection) this.#failures = 0;
        }, this.#limits.stableAfterMs);
        unrefTimer(connection.stableTimer);
        this.#schedulePing(connection);
        if (this.#paused) connection.socket.pause();
        this.#pump();
        for (const listener of this.#listeners) listener.onReady?.();
        return true;
      case FRAME.message:
        this.#onPushed(frame);
        return false;
      case FRAME.sent:
        this.#onSent(frame);
        return false;
      case FRAME.acked:
        this.#onAcked(frame);
        return false;
      case FRAME.error:
        this.#onError(frame);
        return false;
      case FRAME.lowPrekeys:
        for (const listener of this.#listeners) listener.onLowPrekeys?.(frame.suite, frame.count);
        return false;
    }
  }

  /**
   * A frame that does not match the contract is reported and ignored; an answer that names a frame
   * of ours written on this connection (a `sent` or `error` by id, an `acked` by ref) rejects that
   * frame now: its caller learns at once instead of at the answer deadline, and the outbox resends.
   */
  #onMalformed(value: unknown, why: string): void {
    const error = malformed(why);
    const fields = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
    const named =
      fields.type === FRAME.sent || fields.type === FRAME.error
        ? fields.id
        : fields.type === FRAME.acked
          ? fields.ref
          : undefined;
    const key = typeof named === "string" ? named : null;
    const send = key === null || fields.type === FRAME.acked ? undefined : this.#sends.get(key);
    const ack = key === null || fields.type === FRAME.sent ? undefined : this.#acks.get(key);
    const entry = send?.entry.written ? send.entry : ack?.written ? ack : undefined;
    if (entry === undefined) {
      this.#emitError(error);
      return;
    }
    if (send?.entry === entry) this.#sends.delete(entry.key);
    else this.#acks.delete(entry.key);
    this.#settle(entry);
    entry.reject(error);
  }

  #onPushed(frame: MessageFrame): void {
    let message: RelayMessage;
    try {
      message = fromWireMessage(frame, this.#base64);
    } catch (error) {
      // An envelope that is not canonical base64 (relay_rejected): thrown here it would escape the
      // socket's event handler and end the process; it is reported and ignored like any bad frame.
      this.#emitError(NanoError.is(error) ? error : rejected("the relay pushed an undecodable envelope"));
      return;
    }
    for (const listener of this.#listeners) listener.onMessage?.(message);
  }

  #settle(entry: Outstanding): void {
    if (entry.written) this.#written--;
    this.#pump();
    if (this.#connection !== null) this.#armAnswerDeadline(this.#connection);
  }

  #onSent(frame: SentFrame): void {
    const running = this.#sends.get(frame.id);
    if (running === undefined || !running.entry.written) {
      this.#emitError(rejected("the relay answered a send that was not made on this connection"));
      return;
    }
    this.#sends.delete(running.entry.key);
    this.#settle(running.entry);
    running.entry.resolve({ serverId: frame.server_id, duplicate: frame.duplicate });
  }

  #onAcked(frame: AckedFrame): void {
    const entry = frame.ref === undefined ? undefined : this.#acks.get(frame.ref);
    if (entry === undefined || !entry.written) {
      this.#emitError(rejected("the relay answered an ack that was not made on this connection"));
      return;
    }
    this.#acks.delete(entry.key);
    this.#settle(entry);
    entry.resolve(undefined);
  }

  #onError(frame: ErrorFrame): void {
    const error = new NanoError(relayCode(frame.code), frame.message.slice(0, MAX_ERROR_MESSAGE));
    const id = frame.id;
    const send = id === undefined ? undefined : this.#sends.get(id);
    const ack = id === undefined ? undefined : this.#acks.get(id);
    const entry = send?.entry.written ? send.entry : ack?.written ? ack : undefined;
    if (entry === undefined) {
      // Not about a frame of ours (e.g. `token_expired` before the 4401 close): report, go on.
      this.#emitError(error);
      return;
    }
    if (send?.entry === entry) this.#sends.delete(entry.key);
    else this.#acks.delete(entry.key);
    this.#settle(entry);
    entry.reject(error);
  }

  #onClose(connection: Connection, code: number): void {
    if (this.#connection !== connection) return;
    this.#connection = null;
    // What was written got no answer: the relay may or may not have committed it. Reject; the
    // outbox resends under the same client message id. Frames not yet written (held by the
    // outstanding cap) are rejected too: were they kept for the next socket they would overtake the
    // written ones before them, which the outbox re-posts only later.
    this.#failAll(
      unreachable(connection.endedBecause ?? "the relay connection closed before answering"),
      true,
    );
    if (this.#closed) return;
    if (code !== CLOSE.NORMAL || this.#listeners.size > 0)
      this.#scheduleReconnect(code === CLOSE.SERVICE_RESTART);
  }

  /** Rejects written frames (and, with `queued`, the unwritten ones too). */
  #failAll(error: NanoError, queued: boolean): void {
    for (const [key, { entry }] of this.#sends) {
      if (!entry.written && !queued) continue;
      this.#sends.delete(key);
      entry.reject(error);
    }
    for (const [key, entry] of this.#acks) {
      if (!entry.written && !queued) continue;
      this.#acks.delete(key);
      entry.reject(error);
    }
    this.#written = 0;
    if (queued) this.#queue = [];
  }

  /** A connection attempt failed: what waited for it fails too. */
  #failFailed(error: NanoError): void {
    this.#failAll(error, true);
    this.#scheduleReconnect();
  }

  /** `restart`: the relay closed with 1012, so the next attempt is due at once (jittered), not backed off. */
  #scheduleReconnect(restart = false): void {
    if (this.#closed || this.#listeners.size === 0 || this.#reconnectTimer !== undefined) return;
    const backoff = this.#reconnect;
    let wait: number;
    if (restart) {
      wait = Math.random() * backoff.restartJitterMs;
    } else {
      this.#failures++;
      wait = backoffDelay(this.#failures, backoff);
    }
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#listeners.size === 0 || this.ready) return;
      this.#connect().catch(() => {});
    }, wait);
  }
}
