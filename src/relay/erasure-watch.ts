import type { Logger } from "pino";
import { CLOSE, CLOSE_REASONS } from "../wire/index.ts";
import type { ComplianceStore } from "./compliance/compliance-store.ts";
import type { DeliveryHub } from "./delivery-hub.ts";

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

/**
 * Looks that check again after a new tombstone was seen, whatever the tombstone: a connection whose
 * token was looked up just before the erasure committed joins the hub a moment later (its connect
 * rate limit is awaited in between), after the look that saw the tombstone.
 */
export const ERASURE_RECHECK_LOOKS = 5;

export const ACCOUNT_ERASED = CLOSE_REASONS.accountErased;

export interface ErasureWatchDeps {
  readonly compliance: Pick<ComplianceStore, "account" | "latestErasure">;
  readonly hub: DeliveryHub;
  readonly log: Logger;
  /** Whether the token (its id, hex of its stored hash) still exists: an erasure deleted them all. */
  readonly tokenAlive: (tokenId: string) => Promise<boolean>;
}

/**
 * One look: when the newest erasure is not `seen`, closes the sessions of every connected user whose
 * account is gone, and the sessions an earlier holder of a re-claimed name opened (authenticated
 * before the current account existed, and their token gone): they must not receive the new account's
 * messages. Returns the newest erasure's time, the next look's `seen`. The first look (with `seen`
 * null) checks too: at a relay's start there is nobody connected, so it costs nothing.
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
    else if (account === null) closed += deps.hub.closeUser(username, CLOSE.UNAUTHENTICATED, ACCOUNT_ERASED);
    else
      closed += await closeEarlierHolders(deps, username, account.createdAt).catch(() => {
        unsure = true;
        return 0;
      });
  }
  if (closed > 0) deps.log.info({ sessions: closed }, "closed the sessions of erased accounts");
  return unsure ? seen : latest;
}

/**
 * The sessions of `username` that began authenticating before its account was created and whose token
 * is gone: opened by the erased account that held the name before. Both must hold — a session is
 * never ended on a clock comparison alone (two relays' clocks differ a little).
 */
async function closeEarlierHolders(
  deps: ErasureWatchDeps,
  username: string,
  accountCreatedAt: number,
): Promise<number> {
  let closed = 0;
  for (const { target, tokenId, authenticatedAt } of deps.hub.sessionsOf(username)) {
    if (authenticatedAt === undefined || authenticatedAt >= accountCreatedAt) continue;
    if (await deps.tokenAlive(tokenId)) continue;
    target.close(CLOSE.UNAUTHENTICATED, ACCOUNT_ERASED);
    closed += 1;
  }
  return closed;
}

/** Polls until the returned stop is called; one look at a time. */
export function startErasureWatch(deps: ErasureWatchDeps): () => void {
  let seen: number | null = null;
  let rechecks = 0;
  let running = false;
  let stopped = false;
  const look = () => {
    if (running || stopped) return;
    running = true;
    // For a few looks after a new tombstone, check whatever the mark says (ERASURE_RECHECK_LOOKS).
    const mark = rechecks > 0 ? null : seen;
    checkErasures(deps, mark)
      .then((latest) => {
        if (latest !== seen && latest !== null) rechecks = ERASURE_RECHECK_LOOKS;
        else if (rechecks > 0) rechecks -= 1;
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
