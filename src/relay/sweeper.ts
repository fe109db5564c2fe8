import type { RelayContext } from "./context.ts";
import { removeBlob } from "./routes/attachments.ts";
import { CLOSE_UNAUTHENTICATED } from "./ws-connection.ts";

/** Temporary upload files older than this are leftovers of interrupted uploads or crashes. */
const ORPHAN_AGE_MS = 3_600_000;

/**
 * One sweep: expired messages (TTL), idempotency records, tokens, challenges and attachments. Runs on
 * an interval in the server and is called directly by tests after advancing the injectable clock.
 */
export async function sweepOnce(context: RelayContext): Promise<{ messages: number; attachments: number }> {
  const now = context.clock.now();
  const messages = await context.store.mailboxes.expire(now);
  context.metrics.messagesExpired.inc(messages);
  await context.store.accounts.deleteExpiredTokens(now);
  // Push sessions end with their token (each also has a timer; this catches a moved clock).
  context.hub.closeExpired(now, CLOSE_UNAUTHENTICATED, "token_expired");
  await context.challenges.sweep();
  const hashes = await context.store.attachments.expire(now);
  for (const hash of hashes) await removeBlob(context, hash);
  await context.blobs.sweepOrphans(ORPHAN_AGE_MS);
  return { messages, attachments: hashes.length };
}

export function startSweeper(context: RelayContext): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running || context.draining) return;
    running = true;
    sweepOnce(context)
      .then((result) => {
        if (result.messages > 0 || result.attachments > 0) context.log.info(result, "swept expired data");
      })
      .catch((error: unknown) => context.log.error({ err: error }, "sweep failed"))
      .finally(() => {
        running = false;
      });
  }, context.config.limits.sweep_interval_seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
