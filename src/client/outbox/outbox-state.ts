import type { Attempt, Round } from "./outbox-dispatch.ts";

/**
 * In-process state of one open client's outbox, owned by its ClientContext (src/client/context.ts)
 * and shared by every Outbox and OutboxDispatcher working for that client. Memory only: a crash
 * forgets it, which is harmless, because the relay stores a client message id once.
 */

/**
 * Ids acknowledged whose removal is not yet committed, so a round that listed them before the removal
 * does not post them again (bounded, in case removals pile up).
 */
const RECENTLY_ACKED = 4096;

export class OutboxState {
  /**
   * Entries being posted right now, by client message id; the promise says whether that attempt was
   * acknowledged. Concurrent flushes each read the outbox, and without this they would post each
   * other's entries again.
   */
  readonly inFlight = new Map<string, Promise<boolean>>();
  /**
   * Recipients that may have an entry committed and not yet posted on the relay channel, with the
   * epoch at which that became so; null until a full flush has looked at the stored outbox. A
   * recipient outside the backlog can have its next entry posted at once, behind everything already
   * posted to it, without reading the outbox (outbox-dispatch.ts).
   */
  backlog: Map<string, number> | null = null;
  epoch = 0;
  /** Acknowledged ids whose removal may not be committed yet (bounded). */
  readonly acked = new Set<string>();
  /** Attempts on the channel by client message id, until the relay answers. */
  readonly attempts = new Map<string, Promise<Attempt>>();
  /** Removals of acknowledged ids gathered in one turn of the event loop. */
  removals: { ids: string[]; done: Promise<void> } | null = null;
  /** The dispatcher's round running now, and the one requests made meanwhile join. */
  running: Promise<Round> | null = null;
  next: Promise<Round> | null = null;

  /** Records that `recipient` has an entry waiting that was not posted on the channel. */
  addToBacklog(recipient: string): void {
    this.backlog?.set(recipient, ++this.epoch);
  }

  rememberAcked(id: string): void {
    this.acked.add(id);
    if (this.acked.size > RECENTLY_ACKED) this.acked.delete(this.acked.values().next().value as string);
  }
}
