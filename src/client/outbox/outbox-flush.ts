import type { ClientContext } from "../context.ts";
import type { OutboxEntry } from "../local-store/local-records.ts";
import type { RelayLink } from "../transport/relay-link.ts";
import type { BackoffPolicy } from "./outbox.ts";
import { type Attempt, OutboxDispatcher, type Transports } from "./outbox-dispatch.ts";

/**
 * A command run by the user is itself the retry: every pending entry is due at once, whatever
 * backoff an earlier failure recorded. (A long-running `receive --watch` uses the outbox's own
 * backoff instead.)
 */
export const USER_RETRY: BackoffPolicy = Object.freeze({ baseMs: 0, maxMs: 0, factor: 1, jitter: 0 });

export interface FlushReport {
  /** Entries the relay acknowledged in this round. */
  readonly sent: number;
  /** Error code of the first failed attempt, if any (e.g. relay_unreachable). */
  readonly error: string | null;
}

/** Sends over the relay channel, pipelined; HTTP (one POST per entry) when the channel cannot open. */
function transportsOf(link: RelayLink): Transports {
  return {
    channel: {
      get usable() {
        return link.channel.usable;
      },
      open: () => link.channel.open(),
      post: (entry) => link.channel.send(entry.recipient, entry.clientMessageId, entry.envelope),
    },
    http: async (entry) => {
      await link.api.send(entry.recipient, entry.clientMessageId, entry.envelope);
      return { clientMessageId: entry.clientMessageId };
    },
  };
}

/** Delivers every due entry of the outbox; resolves once the relay answered each one posted. */
export async function flushOutbox(
  context: ClientContext,
  link: RelayLink,
  backoff: BackoffPolicy = USER_RETRY,
): Promise<FlushReport> {
  // Nothing to send: no round, and no socket opened for it.
  if ((await context.store.read((tables) => tables.countOutbox())) === 0) return { sent: 0, error: null };
  const round = await new OutboxDispatcher(context.store, context.outbox).flush(transportsOf(link), backoff);
  const attempts = await Promise.all(round.values());
  return {
    sent: attempts.filter((attempt) => attempt.acknowledged).length,
    error: attempts.find((attempt) => attempt.code !== null)?.code ?? null,
  };
}

/**
 * Delivers one freshly committed entry (send). Call it in the synchronous step right after the commit,
 * so entries to one recipient are handed over in commit order (OutboxDispatcher.deliver).
 */
export function deliverCommitted(
  context: ClientContext,
  link: RelayLink,
  entry: OutboxEntry,
): Promise<Attempt> {
  return new OutboxDispatcher(context.store, context.outbox).deliver(entry, transportsOf(link), USER_RETRY);
}
