import type { Logger } from "pino";
import type { ComplianceStore } from "./compliance/compliance-store.ts";
import type { DeliveryHub } from "./delivery-hub.ts";
import { CLOSE_UNAUTHENTICATED } from "./ws-connection.ts";

/**
 * Push sessions of accounts an operator erased (`nano-relay compliance erase`, docs/compliance.md
 * "Erasure"). The command runs in its own process: it deletes the account's tokens in its erasure
 * transaction, so every HTTP request with them answers 401 at once, but an open WebSocket was
 * authenticated before and would stay open until its token's expiry. Each erasure leaves a tombstone,
 * so the relay watches the newest tombstone's time (one indexed query a second) and, when it moves,
 * closes the sessions of every connected user whose account is gone: 4401 `account_erased`. In a
 * cluster the command also announces the erasure on the user's Redis channel, which ends them at once
 * (cluster-link.ts); this watch is what a single relay on SQLite has, and the cluster's fallback when
 * Redis was down at the erasure.
 */
export const ERASURE_POLL_MS = 1000;

export const ACCOUNT_ERASED = "account_erased";

export interface ErasureWatchDeps {
  readonly compliance: Pick<ComplianceStore, "account" | "latestErasure">;
  readonly hub: DeliveryHub;
  readonly log: Logger;
}

/**
 * One look: when the newest erasure is not `seen`, closes the sessions of every connected user whose
 * account is gone. Returns the newest erasure's time, the next look's `seen`. The first look (with
 * `seen` null) checks too: at a relay's start there is nobody connected, so it costs nothing.
 */
export async function checkErasures(deps: ErasureWatchDeps, seen: number | null): Promise<number | null> {
  const latest = await deps.compliance.latestErasure();
  if (latest === null || latest === seen) return latest;
  let closed = 0;
  let unsure = false;
  for (const username of deps.hub.onlineUsers()) {
    // A lookup that fails keeps the sessions, and the mark stays where it was: the next look (a
    // second later) asks again.
    const account = await deps.compliance.account(username).catch(() => undefined);
    if (account === undefined) unsure = true;
    if (account === null) closed += deps.hub.closeUser(username, CLOSE_UNAUTHENTICATED, ACCOUNT_ERASED);
  }
  if (closed > 0) deps.log.info({ sessions: closed }, "closed the sessions of erased accounts");
  return unsure ? seen : latest;
}

/** Polls until the returned stop is called; one look at a time. */
export function startErasureWatch(deps: ErasureWatchDeps): () => void {
  let seen: number | null = null;
  let running = false;
  let stopped = false;
  const look = () => {
    if (running || stopped) return;
    running = true;
    checkErasures(deps, seen)
      .then((latest) => {
        seen = latest;
      })
      .catch((error: unknown) => deps.log.warn({ err: error }, "erasure watch failed"))
      .finally(() => {
        running = false;
      });
  };
  look();
  const timer = setInterval(look, ERASURE_POLL_MS);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
