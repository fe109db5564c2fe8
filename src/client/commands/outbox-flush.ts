import { type BackoffPolicy, Outbox } from "../outbox.ts";
import type { RelayLink } from "../relay-link.ts";
import type { UnlockedHome } from "../unlocked-home.ts";

/**
 * A command run by the user is itself the retry: every pending entry is due at once, whatever
 * backoff an earlier failure recorded. (A long-running `receive --watch` uses the outbox's own
 * backoff instead.)
 */
export const USER_RETRY: BackoffPolicy = Object.freeze({ baseMs: 0, maxMs: 0, factor: 1, jitter: 0 });

export interface FlushReport {
  readonly sent: number;
  /** Client message ids still waiting for the relay's acknowledgement. */
  readonly pending: ReadonlySet<string>;
  /** Error code of the first failed attempt, if any (e.g. relay_unreachable). */
  readonly error: string | null;
}

export async function flushOutbox(
  home: UnlockedHome,
  link: RelayLink,
  backoff: BackoffPolicy = USER_RETRY,
): Promise<FlushReport> {
  const outbox = new Outbox(home.store, { backoff });
  const result = await outbox.flush(async (entry) => {
    await link.api.send(entry.recipient, entry.clientMessageId, entry.envelope);
    return { clientMessageId: entry.clientMessageId };
  });
  const pending = new Set((await outbox.pending()).map((entry) => entry.clientMessageId));
  return { sent: result.sent.length, pending, error: result.failed[0]?.code ?? null };
}
