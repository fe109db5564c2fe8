/**
 * Bounded, jittered exponential backoff: the one retry timing of everything that waits for the relay
 * — the outbox's resends (outbox/outbox.ts) and the relay channel's reconnects (relay-channel.ts).
 * The jitter matters more than the curve: clients that failed together (a relay restart) must not
 * all come back in the same instant.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** Fraction of the delay randomized, so many clients that failed together do not retry together. */
  readonly jitter: number;
}

/** Delay before attempt `attempts + 1`, after `attempts` failures (attempts >= 1): whole milliseconds. */
export function backoffDelay(
  attempts: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempts - 1);
  const raw = Math.min(policy.maxMs, policy.baseMs * policy.factor ** exponent);
  const spread = raw * policy.jitter;
  return Math.max(0, Math.round(raw - spread + 2 * spread * random()));
}
