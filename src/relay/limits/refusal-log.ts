import type { RelayAuditEvent } from "../transparency.ts";

/** A refused request worth an audit entry: a failed claim or login, or a rate-limit refusal. */
export interface Refusal {
  readonly type: "auth_failed" | "rate_limited";
  readonly reason: string;
  readonly time: number;
  readonly address?: string;
  readonly username?: string;
  readonly correlationId?: string;
}

export interface RefusalLogOptions {
  /** Entries per window: the first refusal of each (type, address) is logged in full, up to this. */
  readonly perWindow: number;
  readonly windowMs: number;
  readonly append: (event: RelayAuditEvent) => Promise<unknown>;
  readonly now: () => number;
  readonly onError: (error: unknown) => void;
}

interface Tracked {
  readonly first: Refusal;
  repeats: number;
}

/**
 * Audit entries for refusals, bounded by configuration instead of by attackers (issue 12, finding 7:
 * every bogus claim appended a 472-byte leaf, ~20 GB a day from one client). Per window of `windowMs`:
 * - the first refusal of each (type, address) is appended at once, in full, up to `perWindow` of them;
 * - repeats of a logged (type, address) are counted, and one aggregate entry per such pair carries the
 *   count when the window closes (`"reason": "aggregated"`, `"count"`, the first reason);
 * - refusals beyond `perWindow` pairs are counted together into one `aggregated_overflow` entry.
 * So a window adds at most 2 * perWindow + 1 entries, whatever the traffic (docs/audit.md).
 * Counts of a window still open are lost on a crash (at most one window); a clean stop flushes them.
 * Addresses and usernames live only in this map until the window closes: kept in memory, bounded.
 */
export class RefusalLog {
  readonly #options: RefusalLogOptions;
  #windowEnd = Number.NEGATIVE_INFINITY;
  #tracked = new Map<string, Tracked>();
  #overflow = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(options: RefusalLogOptions) {
    this.#options = options;
  }

  record(refusal: Refusal): void {
    const now = this.#options.now();
    if (now >= this.#windowEnd) this.#roll(now);
    const key = `${refusal.type}|${refusal.address ?? ""}`;
    const tracked = this.#tracked.get(key);
    if (tracked !== undefined) {
      tracked.repeats++;
      this.#armFlush();
      return;
    }
    if (this.#tracked.size >= this.#options.perWindow) {
      this.#overflow++;
      this.#armFlush();
      return;
    }
    this.#tracked.set(key, { first: refusal, repeats: 0 });
    this.#append(entryFor(refusal, refusal.reason));
  }

  /** Closes the current window: appends its aggregate entries. Called by the timer and on stop. */
  flush(): void {
    this.#roll(this.#options.now());
  }

  /** Flushes, stops the timer and resolves once every entry is appended (relay shutdown). */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.flush();
    await Promise.allSettled([...this.#pending]);
  }

  #roll(now: number): void {
    for (const { first, repeats } of this.#tracked.values()) {
      if (repeats === 0) continue;
      // The count is per (type, address); the repeats may name anyone or no one, and the first
      // refusal's own entry already carries its name. Holding a name in memory until the window
      // closes would also write back a name erased meanwhile (docs/compliance.md).
      const { username: _named, ...unnamed } = first;
      this.#append({
        ...entryFor({ ...unnamed, time: now }, "aggregated"),
        details: { reason: "aggregated", first_reason: first.reason, count: repeats },
      });
    }
    if (this.#overflow > 0) {
      this.#append({
        type: "rate_limited",
        outcome: "blocked",
        time: now,
        details: { reason: "aggregated_overflow", count: this.#overflow },
      });
    }
    this.#tracked = new Map();
    this.#overflow = 0;
    this.#windowEnd = now + this.#options.windowMs;
  }

  /** A timer closes a window that has counts even if no further refusal arrives. */
  #armFlush(): void {
    if (this.#timer !== undefined) return;
    const delay = Math.max(0, this.#windowEnd - this.#options.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#options.now() >= this.#windowEnd) this.flush();
      else this.#armFlush();
    }, delay);
    this.#timer.unref();
  }

  #append(event: RelayAuditEvent): void {
    const appended = this.#options.append(event).catch(this.#options.onError);
    this.#pending.add(appended);
    void appended.finally(() => this.#pending.delete(appended));
  }
}

function entryFor(refusal: Refusal, reason: string): RelayAuditEvent {
  const name =
    refusal.username !== undefined && refusal.username.length <= 128 ? refusal.username : undefined;
  return {
    type: refusal.type,
    outcome: refusal.type === "rate_limited" ? "blocked" : "failure",
    time: refusal.time,
    details: { reason },
    ...(name === undefined ? {} : { username: name }),
    ...(refusal.address === undefined ? {} : { address: refusal.address }),
    ...(refusal.correlationId === undefined ? {} : { correlationId: refusal.correlationId }),
  };
}
