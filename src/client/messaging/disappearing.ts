import { NanoError } from "../../errors/index.ts";
import { isValidExpiry, MAX_EXPIRE_SECONDS } from "../../protocol/content.ts";
import { CLOCK_SKEW_TOLERANCE_MS } from "../../protocol/validity.ts";
import { humanDuration } from "../../text/human-duration.ts";
import type { LocalStoreApi } from "../local-store/local-tables.ts";
import { relayClockSkew } from "../transport/relay-clock.ts";
import type { RelayEndpoint } from "../transport/relay-request.ts";

/**
 * Disappearing messages (docs/client.md "Disappearing messages"): the timer travels inside the
 * encrypted content (docs/protocol.md §9.4), and both sides delete the message when it runs out.
 *
 * The timer starts when the message is sent, not when it is shown (Signal starts the receiver's at
 * reading): a message the receiver never opens must not outlive what the sender asked for, and that
 * lets "expired before it was shown" mean something. On the sender it starts at the send command (an
 * offline send's clock started when the user sent it). On the receiver it starts when the relay accepted
 * the message — the relay's clock, the one both sides share — carried into this computer's clock by the
 * measured skew (RelayClock), so a receiver whose clock is behind keeps nothing longer than asked:
 * within EXPIRY_TOLERANCE_MS plus the sweep's wait.
 */

/**
 * What a receiver's deadline may be off by, either way: the relay's Date header has one-second
 * resolution (up to 1 s), and relayClockSkew reports skews under two seconds as zero (up to 2 s).
 */
export const EXPIRY_TOLERANCE_MS = 3_000;

/** The longest `receive --watch` waits between sweeps: a message stored meanwhile is swept by then. */
export const EXPIRY_SWEEP_MAX_WAIT_MS = 1_000;

const SECOND_MS = 1000;

/**
 * The SDK's `expireAfterMs` as the wire's whole seconds; a value the wire cannot carry is refused
 * (not rounded: a 1.5 s timer silently becoming 2 s would keep a message longer than asked).
 */
export function expirySeconds(expireAfterMs: number): number {
  const seconds = expireAfterMs / SECOND_MS;
  if (!isValidExpiry(seconds))
    throw new NanoError(
      "invalid_argument",
      `a message timer must be a whole number of seconds from 1 s to ${humanDuration(MAX_EXPIRE_SECONDS * SECOND_MS)}`,
    );
  return seconds;
}

/**
 * How far the relay's claimed acceptance may lie from the sender's own `sent_at` (the sender's clock,
 * authenticated inside the content): the protocol's clock tolerance (validity.ts). The relay's
 * `sent_at` is not authenticated: without this bound a relay could backdate one message and have it
 * deleted unseen, or hold it for days and claim a fresh acceptance so it lives that much longer.
 */
export const SENDER_CLOCK_TOLERANCE_MS = CLOCK_SKEW_TOLERANCE_MS;

/**
 * The local time a received message is deleted at: the relay's acceptance time (`relaySentAt`, relay
 * clock), kept within SENDER_CLOCK_TOLERANCE_MS of the sender's `senderSentAt` (so a lie in the relay's
 * per-message `sent_at` moves the timer by that much at most), moved into this computer's clock by
 * `skewMs` (relay minus local), plus the timer — never later than the timer after its arrival here.
 * With the skew unknown (the relay sent no Date), the arrival is the start: the time the message
 * waited at the relay (up to the tolerance) is then added to its life, the only case beyond
 * EXPIRY_TOLERANCE_MS. A lying Date header moves every timer of the receive: docs/client.md says what
 * that can and cannot do, and a message it makes expire on the way is reported, never silently gone.
 */
export function receivedExpiresAt(input: {
  readonly now: number;
  readonly relaySentAt: number;
  readonly senderSentAt: number;
  readonly skewMs: number | null;
  readonly expireAfterSeconds: number;
}): number {
  // The relay's JSON is not typed on the wire: a claim that is not a time is no claim (the sender's).
  const claimed = Number.isSafeInteger(input.relaySentAt) ? input.relaySentAt : input.senderSentAt;
  const accepted = Math.min(
    Math.max(claimed, input.senderSentAt - SENDER_CLOCK_TOLERANCE_MS),
    input.senderSentAt + SENDER_CLOCK_TOLERANCE_MS,
  );
  const start = input.skewMs === null ? input.now : Math.min(input.now, accepted - input.skewMs);
  return start + input.expireAfterSeconds * SECOND_MS;
}

/** How long one reading of the relay's clock serves a watch (clocks drift, and NTP steps them). */
export const CLOCK_READING_MAX_AGE_MS = 60 * 60_000;

/**
 * The relay's clock as one receive sees it: asked (a GET of its health endpoint) only when a message
 * with a timer arrives or a message fails for a time reason, then shared by every message of that
 * receive — for an hour at most, so a watch that runs for days reads it again.
 */
export class RelayClock {
  readonly #endpoint: RelayEndpoint;
  #reading: { readonly skewMs: Promise<number | null>; readonly at: number } | null = null;
  #known: { readonly skewMs: number | null; readonly at: number } | null = null;

  constructor(endpoint: RelayEndpoint) {
    this.#endpoint = endpoint;
  }

  /** The skew when a fresh reading is at hand, else null (`measure` it outside any transaction). */
  get known(): { readonly skewMs: number | null } | null {
    const known = this.#known;
    return known !== null && Date.now() - known.at < CLOCK_READING_MAX_AGE_MS ? known : null;
  }

  /** The relay's clock minus this computer's (ms), null when the relay cannot tell (relayClockSkew). */
  async measure(): Promise<number | null> {
    if (this.#reading === null || Date.now() - this.#reading.at >= CLOCK_READING_MAX_AGE_MS)
      this.#reading = { skewMs: relayClockSkew(this.#endpoint), at: Date.now() };
    const { skewMs, at } = this.#reading;
    const value = await skewMs;
    this.#known = { skewMs: value, at };
    return value;
  }
}

/**
 * Sweeps on a timer while `signal` is not aborted: at the next row's deadline, and at least every
 * EXPIRY_SWEEP_MAX_WAIT_MS (a message committed meanwhile may be due sooner than the last deadline
 * seen). A failed sweep is tried again at the next tick; the watch goes on.
 */
export async function sweepWhileWatching(store: LocalStoreApi, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const next = await store.nextExpiry().catch(() => null);
    const wait =
      next === null
        ? EXPIRY_SWEEP_MAX_WAIT_MS
        : Math.max(0, Math.min(next - Date.now(), EXPIRY_SWEEP_MAX_WAIT_MS));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, wait);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
    if (signal.aborted) return;
    if (next !== null && next <= Date.now()) await store.sweepExpired().catch(() => 0);
  }
}
