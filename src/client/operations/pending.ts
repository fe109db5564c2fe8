import { type SuiteName, suiteNameOf } from "../../crypto/suite-ids.ts";
import { NanoError } from "../../errors/index.ts";
import { humanBytes } from "../../text/human-bytes.ts";
import type { ClientContext } from "../context.ts";
import type { OutboxEntry, PendingIntent, SentMessage } from "../local-store/local-records.ts";

/**
 * The outbox as a person sees it (issue 13, loss 5): which messages are committed and not yet
 * acknowledged by the relay, with their text from history, and a way to cancel one. A killed `send`
 * leaves such an entry; without this list a user who retried got the text twice.
 */
export interface PendingMessage {
  readonly clientMessageId: string;
  readonly recipient: string;
  readonly contentType: "text" | "attachment" | null;
  /** The text (an attachment: a one-line description); null when history no longer holds it. */
  readonly text: string | null;
  readonly suite: SuiteName | null;
  readonly contentId: string | null;
  readonly createdAt: number;
  readonly envelopeBytes: number;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  /** The code of the last failed attempt (e.g. relay_unreachable), null before any. */
  readonly lastError: string | null;
}

function describe(sent: SentMessage): string {
  const body = new TextDecoder().decode(sent.body);
  if (sent.contentType === "text") return body;
  const parsed = JSON.parse(body) as { filename?: unknown; size?: unknown };
  const name = typeof parsed.filename === "string" ? parsed.filename : "(unnamed)";
  return `[file ${name}, ${humanBytes(typeof parsed.size === "number" ? parsed.size : 0)}]`;
}

export function pendingOf(entry: OutboxEntry, sent: SentMessage | null): PendingMessage {
  return {
    clientMessageId: entry.clientMessageId,
    recipient: entry.recipient,
    contentType: sent?.contentType ?? null,
    text: sent === null ? null : describe(sent),
    suite: sent === null ? null : suiteNameOf(sent.suite),
    contentId: sent?.contentId ?? null,
    createdAt: entry.createdAt,
    envelopeBytes: entry.envelope.length,
    attempts: entry.attempts,
    nextAttemptAt: entry.nextAttemptAt,
    lastError: entry.lastError,
  };
}

/** A send accepted while the relay was unreachable, not encrypted yet (no suite, no envelope). */
export function pendingOfIntent(intent: PendingIntent): PendingMessage {
  return {
    clientMessageId: intent.clientMessageId,
    recipient: intent.recipient,
    contentType: intent.file === null ? "text" : "attachment",
    text:
      intent.file === null
        ? (intent.text ?? "")
        : `[file ${intent.file.name}, ${humanBytes(intent.file.bytes.length)}]`,
    suite: null,
    contentId: intent.contentId,
    createdAt: intent.createdAt,
    envelopeBytes: 0,
    attempts: intent.attempts,
    nextAttemptAt: intent.createdAt,
    lastError: intent.lastError,
  };
}

/**
 * Every message not yet acknowledged by the relay: the outbox in send order, then the intents (sends
 * accepted while the relay was unreachable, encrypted once it is back).
 */
export async function listPending(context: ClientContext): Promise<PendingMessage[]> {
  const { rows, intents } = await context.store.read((tables) => ({
    rows: tables.listPendingSent(),
    intents: tables.listIntents(),
  }));
  return [...rows.map(({ entry, sent }) => pendingOf(entry, sent)), ...intents.map(pendingOfIntent)];
}

/** An earlier text to `recipient` with exactly this text that is still pending, if any (oldest first). */
export async function findPendingCopy(
  context: ClientContext,
  recipient: string,
  text: string,
): Promise<PendingMessage | null> {
  const pending = await listPending(context);
  return (
    pending.find((p) => p.recipient === recipient && p.contentType === "text" && p.text === text) ?? null
  );
}

/**
 * Removes a pending message from the outbox (and from history): it will not be posted. One that a
 * killed send had already handed to the relay (stored there, the answer lost) is delivered all the
 * same: cancel is local. The ratchet step it used stays used; the peer's session skips that key.
 */
export async function cancelPending(
  context: ClientContext,
  clientMessageId: string,
): Promise<PendingMessage> {
  if (context.outbox.inFlight.has(clientMessageId) || context.outbox.attempts.has(clientMessageId))
    throw new NanoError(
      "invalid_argument",
      `message ${clientMessageId} is being posted to the relay right now; it cannot be cancelled`,
    );
  const cancelled = await context.store.transaction((tables) => {
    const intent = tables.listIntents().find((i) => i.clientMessageId === clientMessageId);
    if (intent !== undefined) {
      tables.removeIntent(clientMessageId);
      return pendingOfIntent(intent);
    }
    const [row] = tables.listPendingSent().filter((r) => r.entry.clientMessageId === clientMessageId);
    if (row === undefined) return null;
    tables.removeOutbox(clientMessageId);
    tables.deleteSent(clientMessageId);
    return pendingOf(row.entry, row.sent);
  });
  if (cancelled === null)
    throw new NanoError(
      "invalid_argument",
      `no pending message ${clientMessageId} in the outbox (sent already, or never queued); see nano-client outbox`,
    );
  return cancelled;
}
