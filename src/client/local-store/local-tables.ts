import type {
  ContactRecord,
  IntentRecord,
  OutboxEntry,
  PendingIntent,
  PrekeySecretRecord,
  QuarantinedMessage,
  ReceivedMessage,
  SentMessage,
  SessionRecord,
} from "./local-records.ts";

/**
 * The client's storage as the operations see it, independent of where it lives: the SQLite store in
 * Node (local-store.ts) and the IndexedDB store in the browser (src/client/browser-store) implement
 * these two interfaces, and one conformance suite (test/client/local-store-conformance) checks both.
 * Nothing here imports `node:` (the browser store is bundled from it).
 *
 * `LocalTables` is synchronous on purpose: a transaction's work reads and writes the tables between
 * its awaits, and the store makes all of it one atomic commit (DESIGN.md "First-message replay": the
 * replay entry, the session and the consumed one-time secret commit together or not at all).
 */

/** The content type of a stored delivery receipt: deduplicated like a message, never in history. */
export const RECEIPT_CONTENT = "receipt";

/** One row of history: a message received (and whether it is unread) or one this client sent. */
export type StoredHistoryEntry =
  | { readonly direction: "in"; readonly message: ReceivedMessage; readonly unread: boolean }
  | { readonly direction: "out"; readonly message: SentMessage };

/** What `LocalTables.history` selects: one peer or all, from a time on, the newest `limit`. */
export interface HistoryQuery {
  readonly peer?: string | undefined;
  /** Local time (ms) from which on, inclusive. */
  readonly since?: number | undefined;
  readonly limit: number;
}

/** A conversation: its peer, its newest message (either way) and how many received are unread. */
export interface StoredConversation {
  readonly peer: string;
  readonly last: StoredHistoryEntry;
  readonly unread: number;
}

/** An outbox entry's retry bookkeeping, readable without opening its sealed record. */
export interface OutboxEntryState {
  readonly clientMessageId: string;
  readonly attempts: number;
  readonly nextAttemptAt: number;
}

/** A new outbox entry: retry bookkeeping starts at zero attempts, due now. */
export interface NewOutboxEntry {
  readonly clientMessageId: string;
  readonly recipient: string;
  readonly envelope: Uint8Array;
  readonly createdAt: number;
}

/** The peer of a history entry: the sender of what came in, the recipient of what went out. */
export function peerOf(entry: StoredHistoryEntry): string {
  return entry.direction === "in" ? entry.message.sender : entry.message.recipient;
}

/**
 * The synchronous operations on the tables, handed to a transaction's work. Rows that fail
 * authentication throw `local_record_tampered` when they are read; lookups by username, session id,
 * prekey id or message id go through blind indexes, so the stored rows hold none of them in the clear
 * (client message ids excepted: the relay sees them anyway).
 */
export interface LocalTables {
  // contacts
  putContact(contact: ContactRecord): void;
  getContact(username: string): ContactRecord | null;
  /** Throws `contact_not_found` instead of returning null: for commands that name a contact. */
  requireContact(username: string): ContactRecord;
  /** Sorted by username. */
  listContacts(): ContactRecord[];
  deleteContact(username: string): boolean;

  // sessions and the local state counter (state-anchor.ts)
  /** The state counter (0 before the first session write). */
  stateVersion(): number;
  /** Stamped with the next state counter value, which is stored in the same transaction. */
  putSession(input: SessionRecord): void;
  /** The peer's sessions, most recently updated first (the one to send on). */
  getSessions(peer: string): SessionRecord[];
  deleteSession(sessionId: Uint8Array): boolean;
  /** This transaction deleted or overwrote secrets: the store makes their old bytes leave its files. */
  secretsDeleted(): void;

  // replay cache of first messages that consumed no one-time key
  /** True when the digest was new (and is now stored), false for a replay. */
  rememberReplay(digest: Uint8Array, expiresAt: number): boolean;
  hasReplay(digest: Uint8Array): boolean;
  pruneReplay(now: number): number;

  // prekey secrets
  putPrekeySecret(prekey: PrekeySecretRecord): void;
  getPrekeySecret(id: Uint8Array): PrekeySecretRecord | null;
  listPrekeySecrets(): PrekeySecretRecord[];
  deletePrekeySecret(id: Uint8Array): boolean;

  // outbox
  /** Idempotent: an id already present is left as it is and false is returned. */
  insertOutbox(entry: NewOutboxEntry): boolean;
  /** Pending entries in send order; with `dueAt`, only those whose backoff has elapsed. */
  listOutbox(dueAt?: number): OutboxEntry[];
  /** Pending entries in send order without opening their sealed records. */
  listOutboxState(): OutboxEntryState[];
  getOutbox(clientMessageId: string): OutboxEntry | null;
  countOutbox(): number;
  recordOutboxFailure(clientMessageId: string, nextAttemptAt: number, errorCode: string): void;
  removeOutbox(clientMessageId: string): boolean;

  // received messages (redelivery of one relay message id is stored once)
  insertReceived(message: ReceivedMessage): boolean;
  /** The application took the message; `read`: a person saw it. */
  markShown(messageId: string, read: boolean): boolean;
  /** Committed and not yet shown, in arrival order. */
  listUnshown(limit?: number): (ReceivedMessage & { readonly seq: number })[];
  hasReceived(messageId: string): boolean;
  /** In arrival order after sequence number `after`; `seq` is an unauthenticated order hint. */
  listReceived(after?: number, limit?: number): (ReceivedMessage & { readonly seq: number })[];

  // sent messages (history) and the outbox joined with them
  insertSent(message: SentMessage): void;
  deleteSent(clientMessageId: string): boolean;
  listPendingSent(): { readonly entry: OutboxEntry; readonly sent: SentMessage | null }[];

  // quarantine
  /** Idempotent per relay message id. */
  quarantine(message: QuarantinedMessage): boolean;
  listQuarantine(): QuarantinedMessage[];
  countQuarantine(): number;
  removeQuarantined(messageId: string): boolean;

  // intents
  insertIntent(intent: IntentRecord): void;
  /** In the order they were accepted. */
  listIntents(): PendingIntent[];
  countIntents(): number;
  recordIntentFailure(clientMessageId: string, errorCode: string): void;
  removeIntent(clientMessageId: string): boolean;

  // history
  /** The newest `limit` messages of one conversation (or all), from `since` on, oldest first. */
  history(query: HistoryQuery): StoredHistoryEntry[];
  /** Every conversation, the most recent first. */
  conversations(): StoredConversation[];
  /** Marks a conversation's received messages read; returns how many were unread. */
  markRead(peer: string): number;
  /** Deletes history older than `before`; unshown messages stay until they are shown. */
  pruneHistory(before: number): number;

  // meta: sealed named values (the own identity record, device key and certificate...)
  putSecretMeta(name: string, value: Uint8Array): void;
  getSecretMeta(name: string): Uint8Array | null;
  deleteSecretMeta(name: string): void;
}

/**
 * The store around the tables: every call is serialized; `transaction` commits all of a work's writes
 * durably and atomically (a throwing work writes nothing); `read` is one operation (it may write, and
 * then commits like a transaction); `relaxed` may commit without waiting for the disk. `work` must not
 * call the store itself: it would wait for itself.
 */
export interface LocalStoreApi {
  transaction<T>(work: (tables: LocalTables) => T | Promise<T>): Promise<T>;
  read<T>(work: (tables: LocalTables) => T): Promise<T>;
  relaxed<T>(work: (tables: LocalTables) => T): Promise<T>;
  close(): Promise<void>;
}
