import { nextTurn } from "../next-turn.ts";
import type { RelayMessage } from "./relay-api.ts";
import type { RelayChannel } from "./relay-channel.ts";

/**
 * `receive --watch` on the home's relay channel (relay-channel.ts), which stays connected and
 * reconnects with backoff while the watch runs. The relay pushes every stored message again on each
 * connection, so the handler must be idempotent per relay id (the local store's `received` table is).
 *
 * Pushed messages are handed over in batches: everything that arrived while the previous batch was
 * being handled (or in the same turn of the event loop) goes together, in the relay's order, so the
 * handler can start their decryptions together and acknowledge them in one frame. Batches run one
 * after another. A consumer that falls behind pauses the socket instead of queueing without bound:
 * the queue is bounded by count and by envelope bytes, so a relay pushing large envelopes cannot grow
 * it past a few tens of MiB either.
 */
export const WATCH_LIMITS = Object.freeze({
  /** Most messages handed over in one batch. */
  maxBatch: 256,
  /** Messages queued or being handled above which the socket stops reading, and below which it resumes. */
  pauseAbove: 2048,
  resumeBelow: 512,
  /** The same in envelope bytes (256 envelopes of the largest legal size, 64 KiB, fill it). */
  pauseAboveBytes: 16 * 1024 * 1024,
  resumeBelowBytes: 4 * 1024 * 1024,
});

export type WatchLimits = { readonly [K in keyof typeof WATCH_LIMITS]: number };

export interface WatchOptions {
  readonly signal: AbortSignal;
  /**
   * Pushed messages are held (in order) until this resolves, e.g. until an HTTP catch-up is done.
   * Meanwhile the socket is never paused (the catch-up may wait for answers on it): a push beyond
   * WATCH_LIMITS.pauseAbove (messages or bytes) is dropped instead and `onOverflow` called, and the catch-up must page
   * again (the message is stored at the relay until acknowledged).
   */
  readonly startAfter?: Promise<void>;
  readonly onOverflow?: () => void;
  /** Messages that arrived together, in the relay's order. */
  readonly onMessages: (messages: readonly RelayMessage[]) => Promise<void>;
  /** Called after each successful authentication (e.g. to flush the outbox). */
  readonly onReady?: () => Promise<void>;
  /** The relay signalled that one-time prekeys run low; runs after onReady work, one at a time. */
  readonly onLowPrekeys?: () => Promise<void>;
  readonly onError?: (error: unknown) => void;
  /** WATCH_LIMITS unless given (tests use small ones). */
  readonly limits?: Partial<WatchLimits>;
}

/** Resolves once `signal` aborted and the batch being handled (if any) is done. */
export function watchRelay(channel: RelayChannel, options: WatchOptions): Promise<void> {
  const limits: WatchLimits = { ...WATCH_LIMITS, ...options.limits };
  const pending: RelayMessage[] = [];
  let queued = 0;
  let queuedBytes = 0;
  const full = () => queued > limits.pauseAbove || queuedBytes > limits.pauseAboveBytes;
  let paused = false;
  let draining: Promise<void> | null = null;
  let readiness: Promise<void> = Promise.resolve();
  let catchingUp = options.startAfter !== undefined;
  void options.startAfter?.then(() => {
    catchingUp = false;
  });

  const drain = async () => {
    await options.startAfter;
    // One turn later, so frames that arrived in the same read join the batch.
    await new Promise<void>((resolve) => nextTurn(resolve));
    while (pending.length > 0 && !options.signal.aborted) {
      const batch = pending.splice(0, limits.maxBatch);
      try {
        await options.onMessages(batch);
      } catch (error) {
        options.onError?.(error);
      } finally {
        queued -= batch.length;
        for (const message of batch) queuedBytes -= message.envelope.length;
        if (paused && queued < limits.resumeBelow && queuedBytes < limits.resumeBelowBytes) {
          paused = false;
          channel.resume();
        }
      }
    }
  };

  const kick = (): void => {
    if (draining !== null) return;
    draining = drain().finally(() => {
      draining = null;
      // Something arrived after the loop's last look: go on.
      if (pending.length > 0 && !options.signal.aborted) kick();
    });
  };

  const unsubscribe = channel.subscribe({
    onMessage: (message) => {
      if (options.signal.aborted) return;
      if (catchingUp && full()) {
        options.onOverflow?.();
        return;
      }
      pending.push(message);
      queued++;
      queuedBytes += message.envelope.length;
      if (!paused && !catchingUp && full()) {
        paused = true;
        channel.pause();
      }
      kick();
    },
    onReady: () => {
      readiness = readiness
        .then(() => options.onReady?.())
        .catch((error: unknown) => options.onError?.(error));
    },
    onLowPrekeys: () => {
      readiness = readiness
        .then(() => options.onLowPrekeys?.())
        .catch((error: unknown) => options.onError?.(error));
    },
    onError: (error) => options.onError?.(error),
  });

  return new Promise((resolve) => {
    const stop = () => {
      unsubscribe();
      if (paused) channel.resume();
      // Messages not handled yet stay at the relay (unacknowledged) and come again next time.
      pending.length = 0;
      void Promise.allSettled([draining, readiness]).then(() => resolve());
    };
    if (options.signal.aborted) stop();
    else options.signal.addEventListener("abort", stop, { once: true });
  });
}
