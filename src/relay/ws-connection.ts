import type { WebSocket } from "ws";
import { NanoError } from "../errors/index.ts";
import type { RelayContext } from "./context.ts";
import type { PushTarget } from "./delivery-hub.ts";
import { acknowledgeMessages, type SubmittedSend, submitMessage, toWire } from "./mailbox-service.ts";
import { decodeBase64 } from "./routes/_http.ts";
import { normalizeUsername } from "./usernames.ts";

/**
 * Close codes: 1001 = going away (shutdown; clients reconnect), 4401 = authentication failed or ended
 * (the reason says which: the auth error code, `token_expired`, `token_revoked`, `identity_updated`).
 */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_PROTOCOL = 1008;
/** The relay could not do what was asked (a send's store failed); clients reconnect and resend. */
export const CLOSE_INTERNAL_ERROR = 1011;

const AUTH_TIMEOUT_MS = 10_000;
/** Bytes read from the store per pump round, so large envelopes cannot balloon memory. */
const FETCH_BUDGET_BYTES = 4 * 1024 * 1024;
/** Stop pushing while this much is queued in the socket: a slow reader must not grow our memory. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const MAX_ACK_IDS = 1000;

type ClientFrame =
  | { type: "auth"; token: string }
  | { type: "send"; id: string; to: string; envelope: string }
  | { type: "ack"; ids: number[]; ref?: string };

function parseFrame(data: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new NanoError("malformed_request", "frame is not valid JSON");
  }
  if (typeof value !== "object" || value === null)
    throw new NanoError("malformed_request", "frame must be an object");
  const frame = value as Record<string, unknown>;
  switch (frame.type) {
    case "auth":
      if (typeof frame.token === "string") return { type: "auth", token: frame.token };
      break;
    case "send":
      if (
        typeof frame.id === "string" &&
        typeof frame.to === "string" &&
        typeof frame.envelope === "string"
      ) {
        return { type: "send", id: frame.id, to: frame.to, envelope: frame.envelope };
      }
      break;
    case "ack":
      if (
        Array.isArray(frame.ids) &&
        frame.ids.length > 0 &&
        frame.ids.length <= MAX_ACK_IDS &&
        frame.ids.every((id) => Number.isSafeInteger(id) && (id as number) > 0) &&
        (frame.ref === undefined || typeof frame.ref === "string")
      ) {
        return {
          type: "ack",
          ids: frame.ids as number[],
          ...(typeof frame.ref === "string" ? { ref: frame.ref } : {}),
        };
      }
      break;
  }
  throw new NanoError("malformed_request", "unknown frame type or missing fields (see docs/api.md)");
}

/**
 * One push connection. Delivery is a pump over the store: it reads the user's mailbox after a
 * cursor, in id order, so pushes are ordered and a message committed while the pump runs is picked up
 * by the next round. Unacknowledged messages stay stored and are pushed again on the next connection.
 * Sends on one connection are submitted to the group commit one after another, preserving their order.
 */
export class WsConnection implements PushTarget {
  readonly #socket: WebSocket;
  readonly #context: RelayContext;
  #username: string | null = null;
  #cursor = 0;
  #pumping = false;
  #dirty = false;
  #closed = false;
  #sendChain: Promise<unknown> = Promise.resolve();
  #storeFailed = false;
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];
  readonly #authTimer: NodeJS.Timeout;
  #expiresAt = Number.POSITIVE_INFINITY;
  #expiryTimer: NodeJS.Timeout | undefined;
  readonly #fetchBatch: number;

  constructor(socket: WebSocket, context: RelayContext, presetToken: string | null) {
    this.#socket = socket;
    this.#context = context;
    this.#fetchBatch = Math.min(
      100,
      Math.max(1, Math.floor(FETCH_BUDGET_BYTES / context.config.limits.max_envelope_bytes)),
    );
    this.#authTimer = setTimeout(
      () => this.close(CLOSE_UNAUTHENTICATED, "authentication timeout"),
      AUTH_TIMEOUT_MS,
    );
    context.hub.attach(this);
    socket.on("message", (data, isBinary) => this.#onMessage(data.toString(), isBinary));
    socket.on("close", () => this.#onClose());
    socket.on("error", () => this.#onClose());
    if (presetToken !== null) void this.#authenticate(presetToken);
  }

  async #authenticate(token: string): Promise<void> {
    try {
      const session = await this.#context.tokens.session(token);
      const username = session.username;
      if (this.#closed) return;
      clearTimeout(this.#authTimer);
      this.#username = username;
      this.#expiresAt = session.expiresAt;
      // The hub knows the token so a revocation, an identity update or the sweeper can end this
      // session; the timer ends it at expiry in real time.
      this.#context.hub.add(username, this, { tokenId: session.tokenId, expiresAt: session.expiresAt });
      // One live connection per device across the cluster: older ones, here or elsewhere, are closed.
      void this.#context.cluster?.claimDevice(username, this);
      this.#scheduleExpiry();
      this.#context.metrics.websocketConnections.inc();
      this.#write({ type: "ready", username });
      this.notify();
    } catch (error) {
      const code = NanoError.is(error) ? error.code : "unauthenticated";
      this.#context.metrics.authFailures.inc({ reason: code });
      this.#write({ type: "error", code, message: "authentication failed" });
      this.close(CLOSE_UNAUTHENTICATED, code);
    }
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
    this.close(CLOSE_UNAUTHENTICATED, "token_expired");
    return true;
  }

  #onMessage(data: string, isBinary: boolean): void {
    // Nothing is done for a session whose token has expired, even before its timer fires.
    if (this.expireIfDue(this.#context.clock.now())) return;
    let frame: ClientFrame;
    try {
      if (isBinary) throw new NanoError("malformed_request", "frames are JSON text");
      frame = parseFrame(data);
    } catch (error) {
      this.#context.metrics.websocketFrames.inc({ type: "malformed" });
      this.#writeError(error, undefined);
      return;
    }
    this.#context.metrics.websocketFrames.inc({ type: frame.type });
    if (frame.type === "auth") {
      if (this.#username !== null) {
        this.#writeError(new NanoError("malformed_request", "already authenticated"));
        return;
      }
      void this.#authenticate(frame.token);
      return;
    }
    const username = this.#username;
    if (username === null) {
      this.#writeError(new NanoError("unauthenticated", "send an auth frame first"));
      this.close(CLOSE_UNAUTHENTICATED, "unauthenticated");
      return;
    }
    if (frame.type === "send") this.#onSend(username, frame);
    else this.#onAck(username, frame);
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

  #onSend(username: string, frame: { id: string; to: string; envelope: string }): void {
    const submitted = this.#sendChain.then((): Promise<SubmittedSend> => {
      if (this.#context.draining) throw new NanoError("relay_draining", "the relay is shutting down");
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
        .then((box) => box.committed)
        .then(
          (receipt) =>
            this.#write({
              type: "sent",
              id: frame.id,
              server_id: receipt.serverId,
              duplicate: receipt.duplicate,
            }),
          (error: unknown) => {
            this.#writeError(error, frame.id);
            if (NanoError.is(error, "store_unavailable") && !this.#storeFailed) {
              this.#storeFailed = true;
              this.close(CLOSE_INTERNAL_ERROR, "store_unavailable");
            }
          },
        ),
    );
  }

  /** Counts work whose answer is still owed to the client, so shutdown can wait for it. */
  #track(work: Promise<unknown>): void {
    this.#inflight++;
    void work.finally(() => {
      this.#inflight--;
      if (this.#inflight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    });
  }

  /** Resolves when every send and ack received so far has been answered. */
  idle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #onAck(username: string, frame: { ids: number[]; ref?: string }): void {
    this.#track(
      acknowledgeMessages(this.#context, username, frame.ids).then(
        (deleted) =>
          this.#write({ type: "acked", ids: frame.ids, deleted, ...(frame.ref ? { ref: frame.ref } : {}) }),
        (error: unknown) => this.#writeError(error, frame.ref),
      ),
    );
  }

  notify(): void {
    if (this.#username === null || this.#closed) return;
    this.#dirty = true;
    if (this.#pumping) return;
    this.#pumping = true;
    void this.#pump(this.#username);
  }

  /**
   * `#pumping` is cleared in the same synchronous step as the last `#dirty` check, so a notification
   * that arrives while the pump winds down always starts a new round instead of being lost.
   */
  async #pump(username: string): Promise<void> {
    try {
      while (this.#dirty) {
        this.#dirty = false;
        for (;;) {
          if (this.#closed) return;
          while (this.#socket.bufferedAmount > HIGH_WATER_BYTES) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            if (this.#closed) return;
          }
          const batch = await this.#context.store.mailboxes.fetch(
            username,
            this.#cursor,
            this.#fetchBatch,
            this.#context.clock.now(),
          );
          if (batch.length === 0) break;
          for (const message of batch) this.#write({ type: "message", ...toWire(message) });
          this.#cursor = batch[batch.length - 1]!.id;
          this.#context.metrics.messagesDelivered.inc({ via: "websocket" }, batch.length);
          // A short batch was everything committed when it was read; anything committed since has
          // notified and set #dirty, so the outer loop reads again. Saves an empty read per round
          // (one database round trip per delivered message on PostgreSQL).
          if (batch.length < this.#fetchBatch) break;
        }
      }
    } catch (error) {
      this.#context.log.error({ err: error }, "push delivery failed");
      this.close(CLOSE_INTERNAL_ERROR, "internal error");
    } finally {
      this.#pumping = false;
    }
  }

  #write(frame: Record<string, unknown>): void {
    if (this.#closed || this.#socket.readyState !== this.#socket.OPEN) return;
    this.#socket.send(JSON.stringify(frame));
  }

  #writeError(error: unknown, id?: string): void {
    const typed = NanoError.is(error) ? error : new NanoError("internal_error", "internal error");
    if (!NanoError.is(error)) this.#context.log.error({ err: error }, "websocket frame failed");
    this.#write({
      type: "error",
      code: typed.code,
      message: typed.message,
      ...(id === undefined ? {} : { id }),
    });
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#socket.close(code, reason);
    this.#onClose();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#authTimer);
    clearTimeout(this.#expiryTimer);
    this.#context.hub.detach(this);
    if (this.#username !== null) {
      this.#context.hub.remove(this.#username, this);
      this.#context.metrics.websocketConnections.dec();
    }
  }
}
