import { NanoError } from "../../errors/index.ts";
import type { OutboxEntry } from "../local-store/local-records.ts";
import type { LocalStoreApi } from "../local-store/local-tables.ts";
import { nextTurn } from "../next-turn.ts";
import { type BackoffPolicy, backoffDelay, Outbox, type SendTransport } from "./outbox.ts";
import type { OutboxState } from "./outbox-state.ts";

/**
 * Delivering the outbox over the relay channel, pipelined (docs/client.md "Outbox"). The channel
 * writes frames in call order and the relay commits one connection's sends in that order, so entries
 * posted one after another without waiting keep their order per recipient. What stays as in the
 * sequential Outbox.flush (the HTTP fallback): an entry is removed only on the relay's answer, a
 * failure records its code and backoff, and per recipient an entry that failed or waits for its
 * backoff holds back the later entries that were not yet posted.
 *
 * Two ways in:
 * - `deliver(entry)`: a send's freshly committed entry is posted at once when nothing waits unposted
 *   (the backlog is empty) — no read of the outbox at all;
 * - `flush()`: a round that reads the outbox state, opens only the entries not already in flight and
 *   posts every due one. Rounds are coalesced: a request made while one runs joins the next, so many
 *   concurrent sends cost a few reads, not one read (and decryption) of the whole outbox each.
 */

/** The relay channel as the dispatcher uses it (src/client/transport/relay-channel.ts). */
export interface PipelinedTransport {
  /** False while WebSockets are known not to work (upgrade refused): use HTTP. */
  readonly usable: boolean;
  /** Resolves once frames go out; rejects when the channel cannot be opened. */
  open(): Promise<void>;
  /** Queues the entry's frame synchronously (call order = wire order); resolves on the relay's answer. */
  post(entry: OutboxEntry): Promise<unknown>;
}

export interface Transports {
  readonly channel: PipelinedTransport;
  /** Sequential fallback (POST /v1/messages), used when the channel cannot be opened. */
  readonly http: SendTransport;
}

/** One entry's attempt: acknowledged, or the error code (null: not attempted, e.g. held back). */
export interface Attempt {
  readonly acknowledged: boolean;
  readonly code: string | null;
}

const NOT_ATTEMPTED: Attempt = Object.freeze({ acknowledged: false, code: null });

/** A round's attempts by client message id (entries it saw), to be awaited by who cares. */
export type Round = ReadonlyMap<string, Promise<Attempt>>;

export class OutboxDispatcher {
  readonly #store: LocalStoreApi;
  readonly #state: OutboxState;
  readonly #now: () => number;

  /** `state`: the open client's outbox state (ClientContext.outbox), shared by all its dispatchers. */
  constructor(store: LocalStoreApi, state: OutboxState, now: () => number = Date.now) {
    this.#store = store;
    this.#state = state;
    this.#now = now;
  }

  /**
   * Delivers a freshly committed entry. Must be called in the same synchronous step that follows
   * its commit: entries of one recipient committed in order are then handed over in order.
   */
  deliver(entry: OutboxEntry, via: Transports, backoff: BackoffPolicy): Promise<Attempt> {
    const outbox = this.#state;
    const running = this.#state.attempts.get(entry.clientMessageId);
    if (running !== undefined) return running;
    // Only while nothing waits at all: a send is also the user's retry of whatever is queued
    // (USER_RETRY), which a round does.
    if (outbox.backlog !== null && outbox.backlog.size === 0 && via.channel.usable) {
      return this.#post(entry, via.channel, backoff);
    }
    outbox.addToBacklog(entry.recipient);
    return this.flush(via, backoff).then((round) => round.get(entry.clientMessageId) ?? NOT_ATTEMPTED);
  }

  /** A round over the whole outbox; a request made before the next round starts joins that round. */
  flush(via: Transports, backoff: BackoffPolicy): Promise<Round> {
    const state = this.#state;
    if (state.next !== null) return state.next;
    const previous = state.running ?? Promise.resolve();
    const round: Promise<Round> = previous
      .catch(() => {})
      .then(() => {
        if (state.next === round) state.next = null;
        return this.#round(via, backoff);
      });
    state.next = round;
    state.running = round;
    const clear = () => {
      if (state.running === round) state.running = null;
    };
    round.then(clear, clear);
    return round;
  }

  /** Resolves when the round's posting is done; each attempt's promise settles on the relay's answer. */
  async #round(via: Transports, backoff: BackoffPolicy): Promise<Round> {
    const outbox = this.#state;
    const startEpoch = outbox.epoch;
    let channelOpen = via.channel.usable;
    if (channelOpen) {
      try {
        await via.channel.open();
      } catch {
        channelOpen = false;
      }
    }
    if (!channelOpen) return this.#sequentialRound(via.http, backoff);
    const inFlight = outbox.inFlight;
    // One read: the retry bookkeeping of every row, and the sealed record of those that may be posted.
    const listed = await this.#store.read((tables) =>
      tables.listOutboxState().map((row) => {
        const id = row.clientMessageId;
        const skip = inFlight.has(id) || this.#state.acked.has(id);
        return { id, entry: skip ? null : tables.getOutbox(id) };
      }),
    );
    const round = new Map<string, Promise<Attempt>>();
    const held = new Set<string>();
    const now = this.#now();
    for (const { id, entry } of listed) {
      const running = this.#state.attempts.get(id) ?? this.#elsewhere(id);
      if (running !== undefined) {
        round.set(id, running);
        continue;
      }
      if (entry === null || this.#state.acked.has(id)) continue;
      if (held.has(entry.recipient) || entry.nextAttemptAt > now) {
        held.add(entry.recipient);
        round.set(id, Promise.resolve(NOT_ATTEMPTED));
        continue;
      }
      round.set(id, this.#post(entry, via.channel, backoff));
    }
    // Every listed entry of a recipient not held back is now posted: it leaves the backlog, unless
    // something was added for it after this round started reading (not necessarily seen here).
    const backlog = outbox.backlog ?? new Map<string, number>();
    for (const [recipient, epoch] of backlog) {
      if (epoch <= startEpoch && !held.has(recipient)) backlog.delete(recipient);
    }
    for (const recipient of held) if (!backlog.has(recipient)) backlog.set(recipient, ++outbox.epoch);
    outbox.backlog = backlog;
    return round;
  }

  /** An attempt of another flush (Outbox.flush over HTTP) that is running now. */
  #elsewhere(id: string): Promise<Attempt> | undefined {
    const running = this.#state.inFlight.get(id);
    return running?.then((acknowledged) => (acknowledged ? { acknowledged, code: null } : NOT_ATTEMPTED));
  }

  /** The HTTP fallback: Outbox.flush, one entry after another. */
  async #sequentialRound(http: SendTransport, backoff: BackoffPolicy): Promise<Round> {
    const result = await new Outbox(this.#store, { state: this.#state, backoff, now: this.#now }).flush(http);
    // What HTTP left behind is not tracked per recipient: the next send reads the outbox again.
    this.#state.backlog = null;
    const round = new Map<string, Promise<Attempt>>();
    for (const ack of result.sent)
      round.set(ack.clientMessageId, Promise.resolve({ acknowledged: true, code: null }));
    for (const failed of result.failed)
      round.set(failed.clientMessageId, Promise.resolve({ acknowledged: false, code: failed.code }));
    return round;
  }

  /** Posts one entry on the channel (synchronously queued) and settles its bookkeeping on the answer. */
  #post(entry: OutboxEntry, channel: PipelinedTransport, backoff: BackoffPolicy): Promise<Attempt> {
    const state = this.#state;
    const id = entry.clientMessageId;
    let settle!: (acknowledged: boolean) => void;
    state.inFlight.set(
      id,
      new Promise<boolean>((resolve) => {
        settle = resolve;
      }),
    );
    // Never rejects: a round's attempts are not all awaited by the one who asked for the round.
    const attempt = channel.post(entry).then(
      async (): Promise<Attempt> => {
        // Synchronously on the answer: no round from now on posts it again.
        state.inFlight.delete(id);
        state.attempts.delete(id);
        state.rememberAcked(id);
        settle(true);
        // A removal lost (store closed meanwhile) only resends an id the relay stores once.
        await this.#remove(id).catch(() => {});
        // The row is gone: a round that reads from now on cannot see it, and an id enqueued again
        // later (a retried user action) is an entry like any other.
        state.acked.delete(id);
        return { acknowledged: true, code: null };
      },
      async (error: unknown): Promise<Attempt> => {
        const code = NanoError.is(error) ? error.code : "transport_error";
        // Synchronously on the failure: later entries to this recipient go through a round, which
        // posts this one again first (or holds them back while it waits for its backoff).
        state.addToBacklog(entry.recipient);
        state.inFlight.delete(id);
        state.attempts.delete(id);
        settle(false);
        const nextAttemptAt = this.#now() + backoffDelay(entry.attempts + 1, backoff);
        await this.#store
          .read((tables) => tables.recordOutboxFailure(id, nextAttemptAt, code))
          .catch(() => {});
        return { acknowledged: false, code };
      },
    );
    state.attempts.set(id, attempt);
    return attempt;
  }

  /**
   * Removes acknowledged entries: every id answered in the same turn of the event loop goes in ONE
   * relaxed store operation (not a wait for the disk: losing it in a crash only resends ids the
   * relay stores once).
   */
  #remove(id: string): Promise<void> {
    const state = this.#state;
    if (state.removals !== null) {
      state.removals.ids.push(id);
      return state.removals.done;
    }
    const ids = [id];
    const done = new Promise<void>((resolve, reject) => {
      nextTurn(() => {
        state.removals = null;
        this.#store
          .relaxed((tables) => {
            for (const each of ids) tables.removeOutbox(each);
          })
          .then(resolve, reject);
      });
    });
    state.removals = { ids, done };
    return done;
  }
}
