import { z } from "zod";
import { type SuiteName, suiteNameOf } from "../../crypto/suite-ids.ts";
import { NanoError } from "../../errors/index.ts";
import { humanBytes } from "../../text/human-bytes.ts";
import type { ClientContext } from "../context.ts";
import { DEFAULT_HISTORY_RETENTION_DAYS } from "../home/client-config.ts";
import type { StoredConversation, StoredHistoryEntry } from "../local-store/local-tables.ts";
import { expirySeconds } from "../messaging/disappearing.ts";
import { checkUsernameArgument } from "./claim-username.ts";
import { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT } from "./history-limits.ts";

export { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT };

const DAY_MS = 24 * 60 * 60 * 1000;

export interface HistoryOptions {
  /** One conversation; all of them when absent. */
  readonly peer?: string;
  /** Messages from this local time on (a Date or ms since the epoch). */
  readonly since?: Date | number;
  /** The newest this many (default DEFAULT_HISTORY_LIMIT); returned oldest first. */
  readonly limit?: number;
}

/** One message of history, received (`in`) or sent (`out`). */
export interface HistoryEntry {
  readonly direction: "in" | "out";
  readonly peer: string;
  /** The relay's message id (received) or the client message id (sent). */
  readonly id: string;
  readonly contentType: "text" | "attachment";
  /** The text; for an attachment, a one-line description. */
  readonly text: string;
  readonly attachment: {
    readonly filename: string | null;
    readonly size: number;
    /** Where a received attachment was saved; null for one this client sent. */
    readonly path: string | null;
  } | null;
  /** Local time: when it was received, or when it was sent. */
  readonly at: number;
  /** The sender's clock (display only). */
  readonly sentAt: number;
  /** Null for messages received before history kept the suite. */
  readonly suite: SuiteName | null;
  /** The message's own id (hex), which delivery receipts name; null for old received rows. */
  readonly contentId: string | null;
  /** A received message nobody has read yet (`markRead`, `nano-client history PEER`). */
  readonly unread: boolean;
  /** The message's timer (disappearing messages), null when it does not disappear. */
  readonly expireAfterSeconds: number | null;
  /** Local time it is deleted at, null when it does not disappear. */
  readonly expiresAt: number | null;
}

export interface Conversation {
  readonly peer: string;
  readonly last: HistoryEntry;
  readonly unread: number;
  /** The timer new messages to this peer get (`setConversationExpiry`); null: none. */
  readonly expireAfterSeconds: number | null;
}

/** A received attachment's row holds {path, filename, size, contentType}; a sent one's {size, filename}. */
const ATTACHMENT_BODY = z.object({
  filename: z.string().nullable().optional(),
  size: z.number().int().nonnegative().optional(),
  path: z.string().optional(),
});

function entryOf(stored: StoredHistoryEntry): HistoryEntry {
  const message = stored.message;
  const body = new TextDecoder().decode(message.body);
  const isAttachment = message.contentType === "attachment";
  const parsed = isAttachment ? ATTACHMENT_BODY.parse(JSON.parse(body)) : null;
  const attachment =
    parsed === null
      ? null
      : { filename: parsed.filename ?? null, size: parsed.size ?? 0, path: parsed.path ?? null };
  const text =
    attachment === null
      ? body
      : `[file ${attachment.filename ?? "(unnamed)"}, ${humanBytes(attachment.size)}${attachment.path === null ? "" : `, saved to ${attachment.path}`}]`;
  const common = {
    contentType: isAttachment ? ("attachment" as const) : ("text" as const),
    text,
    attachment,
    expireAfterSeconds: message.expireAfterSeconds ?? null,
    expiresAt: message.expiresAt ?? null,
  };
  if (stored.direction === "in") {
    const received = stored.message;
    return {
      ...common,
      direction: "in",
      peer: received.sender,
      id: received.messageId,
      at: received.receivedAt,
      sentAt: received.sentAt ?? received.receivedAt,
      suite: received.suite === undefined ? null : suiteNameOf(received.suite),
      contentId: received.contentId ?? null,
      unread: stored.unread,
    };
  }
  const sent = stored.message;
  return {
    ...common,
    direction: "out",
    peer: sent.recipient,
    id: sent.clientMessageId,
    at: sent.sentAt,
    sentAt: sent.sentAt,
    suite: suiteNameOf(sent.suite),
    contentId: sent.contentId,
    unread: false,
  };
}

/** The oldest local time history keeps under this home's retention setting; null keeps everything. */
export function retentionCutoff(context: ClientContext, now = Date.now()): number | null {
  const days = context.home.config.historyRetentionDays;
  if (days === null) return null;
  return now - (days ?? DEFAULT_HISTORY_RETENTION_DAYS) * DAY_MS;
}

/** Deletes history past the retention setting (run by receive and history). */
export async function applyRetention(context: ClientContext, now = Date.now()): Promise<number> {
  const cutoff = retentionCutoff(context, now);
  if (cutoff === null) return 0;
  return context.store.transaction((tables) => tables.pruneHistory(cutoff));
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT)
    throw new NanoError("invalid_argument", `limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}`);
  return limit;
}

/** Messages kept in the sealed local store, oldest first (docs/sdk.md "History"). */
export async function history(context: ClientContext, options: HistoryOptions = {}): Promise<HistoryEntry[]> {
  if (options.peer !== undefined) checkUsernameArgument(options.peer);
  const limit = checkLimit(options.limit ?? DEFAULT_HISTORY_LIMIT);
  const since = options.since === undefined ? undefined : Number(options.since);
  if (since !== undefined && !Number.isFinite(since))
    throw new NanoError("invalid_argument", "since is not a valid time");
  await applyRetention(context);
  const now = Date.now();
  const rows = await context.store.read((tables) =>
    tables.history({ peer: options.peer, since, limit, now }),
  );
  return rows.map(entryOf);
}

/** One line per peer with its newest message and unread count, the most recent first. */
export async function conversations(context: ClientContext): Promise<Conversation[]> {
  await applyRetention(context);
  const now = Date.now();
  return context.store.read((tables) =>
    tables.conversations(now).map((row: StoredConversation) => ({
      peer: row.peer,
      last: entryOf(row.last),
      unread: row.unread,
      expireAfterSeconds: tables.getConversation(row.peer)?.expireAfterSeconds ?? null,
    })),
  );
}

/**
 * Sets the timer new messages to `peer` get (disappearing messages), or none with null. Only what this
 * client sends: a received message's timer is the one its sender put in it, whatever this setting.
 * Returns the timer in seconds.
 */
export async function setConversationExpiry(
  context: ClientContext,
  peer: string,
  expireAfterMs: number | null,
  now = Date.now(),
): Promise<number | null> {
  checkUsernameArgument(peer);
  const seconds = expireAfterMs === null ? null : expirySeconds(expireAfterMs);
  // No contact needed: a timer may be set before the first message to a peer.
  await context.store.transaction((tables) =>
    tables.putConversation({ peer, expireAfterSeconds: seconds, updatedAt: now }),
  );
  return seconds;
}

/** Marks a conversation read; returns how many messages were unread. */
export async function markRead(context: ClientContext, peer: string): Promise<number> {
  checkUsernameArgument(peer);
  return context.store.transaction((tables) => tables.markRead(peer));
}
