import { CLOSE, CLOSE_REASONS } from "../wire/index.ts";
import type { RelayContext } from "./context.ts";
import { removeBlob } from "./routes/attachments.ts";

/** Temporary upload files older than this are leftovers of interrupted uploads or crashes. */
const ORPHAN_AGE_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Side-table rows purged per sweep: one short write, and a backlog still drains (1.4 M a day at 60 s). */
const RETENTION_BATCH = 1000;

/**
 * One sweep: expired messages (TTL), idempotency records, tokens, challenges, attachments, and audit
 * personal data past compliance.retention_audit_days (held accounts kept) and ended tombstones. Runs on
 * an interval in the server and is called directly by tests after advancing the injectable clock.
 */
export async function sweepOnce(
  context: RelayContext,
): Promise<{ messages: number; attachments: number; auditPersonalData: number }> {
  const now = context.clock.now();
  const messages = await context.store.mailboxes.expire(now);
  context.metrics.messagesExpired.inc(messages);
  await context.store.accounts.deleteExpiredTokens(now);
  // Push sessions end with their token (each also has a timer; this catches a moved clock).
  context.hub.closeExpired(now, CLOSE.UNAUTHENTICATED, CLOSE_REASONS.tokenExpired);
  // Automatic logoff: tokens unused for security.token_idle_timeout_seconds, and their sessions.
  for (const tokenId of await context.tokens.expireIdle())
    context.hub.closeToken(tokenId, CLOSE.UNAUTHENTICATED, CLOSE_REASONS.tokenIdle);
  await context.challenges.sweep();
  const hashes = await context.store.attachments.expire(now);
  for (const hash of hashes) await removeBlob(context, hash);
  await context.blobs.sweepOrphans(ORPHAN_AGE_MS);
  let auditPersonalData = 0;
  const retention = context.store.retention;
  if (retention !== undefined) {
    // Names and addresses behind old audit events go; the entries stay (docs/compliance.md, Retention).
    const cutoff = now - context.config.compliance.retention_audit_days * DAY_MS;
    auditPersonalData = await retention.purgeAuditPersonalData(cutoff, RETENTION_BATCH);
    await retention.expireTombstones(now);
  }
  return { messages, attachments: hashes.length, auditPersonalData };
}

export function startSweeper(context: RelayContext): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running || context.draining) return;
    running = true;
    sweepOnce(context)
      .then((result) => {
        if (result.messages > 0 || result.attachments > 0 || result.auditPersonalData > 0)
          context.log.info(result, "swept expired data");
      })
      .catch((error: unknown) => context.log.error({ err: error }, "sweep failed"))
      .finally(() => {
        running = false;
      });
  }, context.config.limits.sweep_interval_seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
