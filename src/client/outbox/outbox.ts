import { toHex } from "../../crypto/bytes.ts";
import { NanoError } from "../../errors/index.ts";
import { CLIENT_MESSAGE_ID } from "../../wire/index.ts";
import type { OutboxEntry } from "../local-store/local-records.ts";
import type { LocalStoreApi } from "../local-store/local-tables.ts";
import { type BackoffPolicy, backoffDelay } from "../transport/backoff.ts";
import { OutboxState } from "./outbox-state.ts";

/**
 * The outbox: a message is committed to the local store before the first send attempt and removed only
 * when the relay acknowledges its client message id. A crash at any point therefore loses nothing; it
 * can only cause a resend of an id the relay already stored, which the relay stores once (DESIGN.md
 * "Relay promises"). The envelope is stored encrypted and resent byte for byte, so a retry never
 * advances the ratchet.
 *
 * Sending is head-of-line per recipient: an entry that fails or waits for its backoff holds back the
 * later entries to the same recipient, so the relay receives each conversation in the order it was
 * written (the relay keeps per-sender order) and the peer's ratchet sees no gratuitous reordering.
 */

export interface OutboxAck {
  readonly clientMessageId: string;
  /** The relay's id for the stored message, when it reports one. */
  readonly relayMessageId?: string;
}

/** The relay send (outbox-flush.ts): resolves only after the relay durably committed. */
export type SendTransport = (pending: OutboxEntry) => Promise<OutboxAck>;

export { type BackoffPolicy, backoffDelay } from "../transport/backoff.ts";

/** The outbox's resend timing: a second, doubling up to five minutes. */
export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({
  baseMs: 1_000,
  maxMs: 5 * 60_000,
  factor: 2,
  jitter: 0.2,
});

/** A runtime's CSPRNG: `context.provider.primitives.randomBytes` in the client. */
export type RandomBytes = (length: number) => Uint8Array;

/** The platform's WebCrypto CSPRNG (Node 20 and every page have it): an Outbox's default source. */
const platformRandomBytes: RandomBytes = (length) =>
  globalThis.crypto.getRandomValues(new Uint8Array(length));

/** Client message ids: 128 random bits, hex. Public (the relay sees them), unique per message. */
export function newClientMessageId(randomBytes: RandomBytes): string {
  return toHex(randomBytes(16));
}

export interface OutboxOptions {
  /** The open client's outbox state (ClientContext.outbox); a fresh one when absent. */
  readonly state?: OutboxState;
  readonly now?: () => number;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  /** Where generated client message ids come from; the platform's WebCrypto when absent. */
  readonly randomBytes?: RandomBytes;
}

export interface FlushResult {
  readonly sent: readonly OutboxAck[];
  /** Entries whose attempt failed, with the error code recorded for each. */
  readonly failed: readonly { readonly clientMessageId: string; readonly code: string }[];
  readonly remaining: number;
}

export interface EnqueueRequest {
  readonly recipient: string;
  readonly envelope: Uint8Array;
  /** Supply one to make a retried user action idempotent; generated otherwise. */
  readonly clientMessageId?: string;
}

export class Outbox {
  readonly #store: LocalStoreApi;
  readonly #state: OutboxState;
  readonly #now: () => number;
  readonly #backoff: BackoffPolicy;
  readonly #random: () => number;
  readonly #randomBytes: RandomBytes;

  constructor(store: LocalStoreApi, options: OutboxOptions = {}) {
    this.#store = store;
    this.#state = options.state ?? new OutboxState();
    this.#now = options.now ?? Date.now;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#random = options.random ?? Math.random;
    this.#randomBytes = options.randomBytes ?? platformRandomBytes;
  }

  /**
   * Durably records a message to send. Enqueueing an id that is already pending returns the stored
   * entry unchanged (the first envelope wins), so a retried call never creates a second message.
   */
  async enqueue(request: EnqueueRequest): Promise<OutboxEntry> {
    const clientMessageId = request.clientMessageId ?? newClientMessageId(this.#randomBytes);
    if (!CLIENT_MESSAGE_ID.test(clientMessageId)) {
      throw new NanoError("invalid_argument", "client message id must be 1-64 characters of [A-Za-z0-9_-]");
    }
    return this.#store.transaction((tables) => {
      tables.insertOutbox({
        clientMessageId,
        recipient: request.recipient,
        envelope: request.envelope,
        createdAt: this.#now(),
      });
      const entry = tables.getOutbox(clientMessageId);
      if (entry === null) throw new Error("outbox entry vanished inside its own transaction");
      // Posted by the next flush, not at once: a later direct post to this recipient must not pass it.
      this.#state.addToBacklog(entry.recipient);
      return entry;
    });
  }

  pending(): Promise<OutboxEntry[]> {
    return this.#store.read((tables) => tables.listOutbox());
  }

  size(): Promise<number> {
    return this.#store.read((tables) => tables.countOutbox());
  }

  /** Removes an entry on an acknowledgement that arrives out of band (e.g. over the WebSocket). */
  acknowledge(clientMessageId: string): Promise<boolean> {
    return this.#store.read((tables) => tables.removeOutbox(clientMessageId));
  }

  /**
   * Sends due entries in order. Per recipient, the first entry that is not yet due or that fails blocks
   * the ones after it, so each conversation reaches the relay in the order it was written; other
   * recipients are not held up. A failure records its code and the next attempt time.
   */
  async flush(transport: SendTransport, limit = Number.POSITIVE_INFINITY): Promise<FlushResult> {
    const pending = await this.#store.read((tables) => tables.listOutbox());
    const inFlight = this.#state.inFlight;
    const blocked = new Set<string>();
    const sent: OutboxAck[] = [];
    const failed: { clientMessageId: string; code: string }[] = [];
    let awaited = false;
    for (const entry of pending) {
      if (sent.length + failed.length >= limit) break;
      if (blocked.has(entry.recipient)) continue;
      const running = inFlight.get(entry.clientMessageId);
      if (running !== undefined) {
        // Another flush is posting it: wait for that attempt instead of posting it again, so the
        // later entries to this recipient still follow it in order.
        awaited = true;
        if (!(await running)) blocked.add(entry.recipient);
        continue;
      }
      if (entry.nextAttemptAt > this.#now()) {
        blocked.add(entry.recipient);
        continue;
      }
      // After any wait the list may be stale: the entry may have been acknowledged by another flush.
      if (awaited && (await this.#store.read((tables) => tables.getOutbox(entry.clientMessageId))) === null)
        continue;
      if (inFlight.has(entry.clientMessageId)) {
        awaited = true;
        if (!(await inFlight.get(entry.clientMessageId))) blocked.add(entry.recipient);
        continue;
      }
      let settle!: (acknowledged: boolean) => void;
      inFlight.set(
        entry.clientMessageId,
        new Promise<boolean>((resolve) => {
          settle = resolve;
        }),
      );
      awaited = true;
      let acknowledged = false;
      try {
        acknowledged = await this.#attempt(transport, entry, sent, failed);
      } finally {
        inFlight.delete(entry.clientMessageId);
        settle(acknowledged);
      }
      if (!acknowledged) blocked.add(entry.recipient);
    }
    return { sent, failed, remaining: await this.size() };
  }

  /** One post of one entry; true when the relay acknowledged it (and it was removed locally). */
  async #attempt(
    transport: SendTransport,
    entry: OutboxEntry,
    sent: OutboxAck[],
    failed: { clientMessageId: string; code: string }[],
  ): Promise<boolean> {
    let code: string;
    try {
      const ack = await transport(entry);
      if (ack.clientMessageId === entry.clientMessageId) {
        // Not a second wait for the disk per send: losing this removal in a crash only resends the
        // same client message id, which the relay stores once.
        await this.#store.relaxed((tables) => tables.removeOutbox(entry.clientMessageId));
        sent.push(ack);
        return true;
      }
      code = "ack_mismatch";
    } catch (error) {
      code = NanoError.is(error) ? error.code : "transport_error";
    }
    const nextAttemptAt = this.#now() + backoffDelay(entry.attempts + 1, this.#backoff, this.#random);
    await this.#store.read((tables) =>
      tables.recordOutboxFailure(entry.clientMessageId, nextAttemptAt, code),
    );
    failed.push({ clientMessageId: entry.clientMessageId, code });
    return false;
  }
}
