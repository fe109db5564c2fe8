import { closeSync, constants, openSync } from "node:fs";
import { rm } from "node:fs/promises";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { constantTimeEqual, copyBytes, toHex, utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { noSpaceLeft } from "../../store/sqlite/sqlite-errors.ts";
import { StatementCache } from "../../store/sqlite/statement-cache.ts";
import { assertPrivate, PRIVATE_FILE_MODE } from "../home/atomic-file.ts";
import { BatchSessions } from "./batch-sessions.ts";
import { type BatchHooks, type CommitStats, LocalCommitQueue, MAX_BATCH } from "./local-commit-queue.ts";
import type {
  ContactRecord,
  ConversationSettings,
  IntentRecord,
  OutboxEntry,
  PendingIntent,
  PrekeySecretRecord,
  QuarantinedMessage,
  ReceivedMessage,
  SentMessage,
  SessionRecord,
} from "./local-records.ts";
import { migrate } from "./local-schema.ts";
import {
  type HistoryQuery,
  type LocalStoreApi,
  type LocalTables,
  live,
  type NewOutboxEntry,
  type OutboxEntryState,
  peerOf,
  RECEIPT_CONTENT,
  REDELIVERY_WINDOW_MS,
  type StoredConversation,
  type StoredHistoryEntry,
  type SweepResult,
  savedAttachmentPath,
} from "./local-tables.ts";
import { decodeRecord, encodeRecord } from "./node-record-codec.ts";
import { OpenedRows } from "./opened-rows.ts";
import {
  blindIndex,
  deriveLocalKeys,
  type LocalKeys,
  openRow,
  sealRow,
  wipeLocalKeys,
} from "./record-seal.ts";
import {
  decodeCounter,
  encodeCounter,
  readAnchor,
  rolledBack,
  STATE_COUNTER_META,
  writeAnchor,
} from "./state-anchor.ts";

export type { CommitStats } from "./local-commit-queue.ts";
export type {
  ContactRecord,
  ConversationSettings,
  IntentRecord,
  OutboxEntry,
  PendingIntent,
  PrekeySecretRecord,
  QuarantinedMessage,
  ReceivedMessage,
  SentMessage,
  SessionRecord,
};
export {
  type HistoryQuery,
  type LocalStoreApi,
  type LocalTables,
  type NewOutboxEntry,
  type OutboxEntryState,
  RECEIPT_CONTENT,
  REDELIVERY_WINDOW_MS,
  type StoredConversation,
  type StoredHistoryEntry,
  type SweepResult,
};

type Row = Record<string, SQLInputValue>;

/** Opened rows remembered per table (contacts, sessions; not prekey secrets): see opened-rows.ts. */
export const OPENED_ROWS_PER_TABLE = 256;
/** Blind indexes remembered; the memory starts over when full (values are short strings and ids). */
const BLIND_INDEX_CACHE_SIZE = 4096;

const KEY_CHECK = "key-check";

/**
 * Message bodies (`received`, `sent`) at least this long are sealed as bytes in the row's own `body`
 * column, their record saying so (`bodyApart`) and holding an empty body, instead of as base64 inside
 * the sealed JSON record: for a 1 MiB long text that saves the base64 and JSON encoding (~3 ms), a
 * third of the bytes sealed and a third of the WAL written (docs/performance.md "The 1 MiB path").
 * Short bodies stay in the record: one AEAD per row, as before.
 */
export const BODY_APART_BYTES = 16 * 1024;
const KEY_CHECK_PLAINTEXT = utf8("nano local store");

/**
 * An expired attachment's saved file goes with its row. Best effort: a file the user moved or already
 * deleted is not an error, and one that cannot be removed must not keep the rows from going.
 */
async function removeSavedFiles(files: readonly string[]): Promise<void> {
  await Promise.all(files.map((file) => rm(file, { force: true }).catch(() => {})));
}

/** Runs `work`; no space left on the disk under `path` is let pass, anything else is thrown. */
function tolerateFullDisk(path: string, work: () => void): void {
  try {
    work();
  } catch (error) {
    if (!noSpaceLeft(error, path)) throw error;
  }
}

function bytesOf(value: SQLInputValue | undefined): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new NanoError("local_record_tampered", "a sealed column is not a blob");
  return value;
}

function numberOf(value: SQLInputValue | undefined): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  throw new NanoError("local_record_tampered", "a numeric column is not a number");
}

/**
 * The tables (local-tables.ts) over SQLite. Used directly inside `LocalStore.transaction`, which is how
 * the protocol's "insert the replay entry, store the session, delete consumed one-time secrets" happens
 * as one durable commit (DESIGN.md "First-message replay").
 */
export class SqliteTables implements LocalTables {
  /** For the one-off statements of opening (`#holdsRows`): not worth a place in the cache. */
  readonly #db: DatabaseSync;
  readonly #keys: LocalKeys;
  readonly #statements: StatementCache;
  /** Blind indexes computed so far (an HKDF each), by table and value. Memory only, bounded. */
  readonly #blinded = new Map<string, Uint8Array>();
  /** Rows opened or written by this process, reused while their sealed bytes are unchanged. */
  readonly #contacts = new OpenedRows<ContactRecord>(OPENED_ROWS_PER_TABLE);
  readonly #sessions = new OpenedRows<SessionRecord>(OPENED_ROWS_PER_TABLE);
  /** The state counter's sealed row as last read or written here, and its value (`stateVersion`). */
  #counter: { readonly sealed: Uint8Array; readonly value: number } | null = null;
  /**
   * The highest counter this process knows committed (read at open or outside a transaction, or
   * written by a commit that returned). The counter only rises, so a lower one read later is an older
   * copy put back under the open store — counter and session rows together, which no row check can
   * tell — and is refused: its sessions' chain positions were already used.
   */
  #committedCounter = 0;
  /** The counter the running transaction raised, committed once its COMMIT returns. */
  #raisedInTransaction: number | null = null;
  /** Sessions read and written within the current group commit (batch-sessions.ts). */
  readonly #batch = new BatchSessions();
  #secretsDeleted = false;
  #counterRaised = false;

  constructor(db: DatabaseSync, keys: LocalKeys) {
    this.#db = db;
    this.#statements = new StatementCache(db);
    this.#keys = keys;
  }

  #statement(sql: string): StatementSync {
    return this.#statements.prepared(sql);
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#statement(sql).all(...params) as Row[];
  }

  #get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#statement(sql).get(...params) as Row | undefined;
  }

  #run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.#statement(sql).run(...params).changes);
  }

  /** `blindIndex`, computed once per (table, value) while the store is open. */
  #blind(table: string, value: Uint8Array | string): Uint8Array {
    const key = `${table}\0${typeof value === "string" ? `s${value}` : `b${toHex(value)}`}`;
    let index = this.#blinded.get(key);
    if (index === undefined) {
      index = blindIndex(this.#keys, table, value);
      if (this.#blinded.size >= BLIND_INDEX_CACHE_SIZE) this.#blinded.clear();
      this.#blinded.set(key, index);
    }
    return index;
  }

  /** Opens a sealed row, or reuses what this process opened or wrote when the bytes are the same. */
  #open<T>(
    rows: OpenedRows<T>,
    table: string,
    handle: Uint8Array,
    sealed: Uint8Array,
    decode: (plaintext: Uint8Array) => T,
  ): T {
    const key = toHex(handle);
    const known = rows.get(key, sealed);
    if (known !== undefined) return known;
    const record = decode(openRow(this.#keys, table, handle, sealed));
    rows.set(key, sealed, record);
    return record;
  }

  /** Forgets every opened row and blind index (the store is closing). */
  forget(): void {
    this.#contacts.clear();
    this.#sessions.clear();
    this.#batch.end();
    this.#counter = null;
    this.#blinded.clear();
  }

  // ---- contacts: keyed by a blind index of the username
  putContact(contact: ContactRecord): void {
    const handle = this.#blind("contacts", contact.username);
    const record = sealRow(this.#keys, "contacts", handle, encodeRecord("contact", contact));
    this.#run("INSERT OR REPLACE INTO contacts (handle, record) VALUES (?, ?)", handle, record);
    this.#contacts.set(toHex(handle), record, contact);
  }

  getContact(username: string): ContactRecord | null {
    const handle = this.#blind("contacts", username);
    const row = this.#get("SELECT record FROM contacts WHERE handle = ?", handle);
    if (row === undefined) return null;
    const contact = this.#open(this.#contacts, "contacts", handle, bytesOf(row.record), (plain) =>
      decodeRecord("contact", plain),
    );
    if (contact.username !== username) {
      throw new NanoError("local_record_tampered", "a contact row holds another username");
    }
    return contact;
  }

  /** Throws `contact_not_found` instead of returning null: for commands that name a contact. */
  requireContact(username: string): ContactRecord {
    const contact = this.getContact(username);
    if (contact === null) throw new NanoError("contact_not_found", `no contact named ${username}`);
    return contact;
  }

  listContacts(): ContactRecord[] {
    return this.#all("SELECT handle, record FROM contacts")
      .map((row) =>
        decodeRecord("contact", openRow(this.#keys, "contacts", bytesOf(row.handle), bytesOf(row.record))),
      )
      .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  }

  deleteContact(username: string): boolean {
    const handle = this.#blind("contacts", username);
    this.#contacts.delete(toHex(handle));
    return this.#run("DELETE FROM contacts WHERE handle = ?", handle) > 0;
  }

  // ---- the local state counter (state-anchor.ts): raised by every session write
  /** The database's state counter (0 before the first session write). */
  stateVersion(): number {
    const row = this.#get("SELECT record FROM meta WHERE name = ?", STATE_COUNTER_META);
    if (row === undefined) {
      // A deleted counter row is the oldest copy of all (a home before its first session write).
      if (this.#committedCounter > 0) throw rolledBack(0, this.#committedCounter);
      return 0;
    }
    const sealed = bytesOf(row.record);
    // Read with every session read and write: the same sealed bytes (a fresh nonce per write, so any
    // other write, a rolled-back one or an edit, differs) are the same value, without an AEAD open.
    const known = this.#counter;
    let value: number;
    if (known !== null && constantTimeEqual(known.sealed, sealed)) value = known.value;
    else {
      value = decodeCounter(openRow(this.#keys, "meta", utf8(STATE_COUNTER_META), sealed));
      this.#counter = { sealed: Uint8Array.from(sealed), value };
    }
    // Checked on the remembered path too: the exact bytes of an older row are remembered only while
    // they are the newest this process saw.
    if (value < this.#committedCounter) throw rolledBack(value, this.#committedCounter);
    if (!this.#db.isTransaction) this.#committedCounter = value;
    return value;
  }

  /** The highest counter this process knows committed (what `close` anchors). */
  committedCounter(): number {
    return this.#committedCounter;
  }

  #putCounter(value: number): void {
    const sealed = sealRow(this.#keys, "meta", utf8(STATE_COUNTER_META), encodeCounter(value));
    this.#run("INSERT OR REPLACE INTO meta (name, record) VALUES (?, ?)", STATE_COUNTER_META, sealed);
    this.#counter = { sealed, value };
    if (this.#db.isTransaction) this.#raisedInTransaction = value;
    else this.#committedCounter = Math.max(this.#committedCounter, value);
  }

  // ---- sessions: keyed by a blind index of the session id, grouped by a blind index of the peer
  /**
   * Stamped with the next state counter value, which is stored in the same transaction. Inside a group
   * commit the row is written once, with the batch's last state of the session, right before COMMIT
   * (`batchHooks`); a read in between sees the held state.
   */
  putSession(input: SessionRecord): void {
    if (!this.#batch.active) {
      this.#writeSession(input);
      return;
    }
    // The peer's rows are loaded first, so the held list is all of the peer's sessions.
    this.getSessions(input.peer);
    this.#batch.put(input);
  }

  #writeSession(input: SessionRecord): void {
    const version = this.stateVersion() + 1;
    this.#putCounter(version);
    this.#counterRaised = true;
    const session: SessionRecord = { ...input, stateVersion: version };
    const handle = this.#blind("sessions", session.sessionId);
    const peer = this.#blind("contacts", session.peer);
    const record = sealRow(this.#keys, "sessions", handle, encodeRecord("session", session));
    this.#run(
      "INSERT OR REPLACE INTO sessions (handle, peer, updated_at, record) VALUES (?, ?, ?, ?)",
      handle,
      peer,
      session.updatedAt,
      record,
    );
    this.#sessions.set(toHex(handle), record, session);
  }

  /** The peer's sessions, most recently updated first (the one to send on). */
  getSessions(peer: string): SessionRecord[] {
    if (this.#batch.active) {
      const held = this.#batch.get(peer);
      if (held !== undefined) return held.sort((a, b) => b.updatedAt - a.updatedAt);
      const stored = this.#storedSessions(peer);
      this.#batch.loaded(peer, stored);
      return stored;
    }
    return this.#storedSessions(peer);
  }

  #storedSessions(peer: string): SessionRecord[] {
    const rows = this.#all(
      "SELECT handle, record FROM sessions WHERE peer = ?",
      this.#blind("contacts", peer),
    );
    const sessions = rows.map((row) =>
      this.#open(this.#sessions, "sessions", bytesOf(row.handle), bytesOf(row.record), (plain) =>
        decodeRecord("session", plain),
      ),
    );
    // The peer and updated_at columns are not authenticated: check the peer and order by the sealed time,
    // so an edited column can neither move a session to another contact nor pick the one we send on.
    for (const session of sessions) {
      if (session.peer !== peer) throw new NanoError("local_record_tampered", "a session row was moved");
    }
    // A row written under a later counter than the database holds: the counter row was put back from
    // an older copy while this row was not (a partial restore). Not used: it could be the older one.
    if (sessions.length > 0) {
      const counter = this.stateVersion();
      for (const session of sessions) {
        if ((session.stateVersion ?? 0) > counter) throw rolledBack(counter, session.stateVersion!);
      }
    }
    return sessions.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  deleteSession(sessionId: Uint8Array): boolean {
    const handle = this.#blind("sessions", sessionId);
    this.#sessions.delete(toHex(handle));
    this.#batch.delete(sessionId);
    this.secretsDeleted();
    return this.#run("DELETE FROM sessions WHERE handle = ?", handle) > 0;
  }

  /** Where the commit queue tells the held sessions about its batches, works and COMMIT. */
  readonly batchHooks: BatchHooks = {
    begin: () => this.#batch.begin(),
    savepoint: () => this.#batch.savepoint(),
    rollback: () => this.#batch.rollback(),
    flush: () => {
      for (const session of this.#batch.written()) {
        this.#writeSession(session);
        session.state.fill(0);
      }
    },
    committed: () => {
      const raised = this.#raisedInTransaction;
      if (raised !== null) this.#committedCounter = Math.max(this.#committedCounter, raised);
    },
    end: () => {
      this.#raisedInTransaction = null;
      this.#batch.end();
    },
  };

  /**
   * This transaction deleted or overwrote secrets (a consumed or expired prekey, a dropped session):
   * once it commits, the WAL is checkpointed and truncated, so the old row bytes do not linger in the
   * `-wal` file (audit finding 8). Per-message session updates do not call this: their superseded
   * chain keys leave the WAL when it is next truncated (such a commit, or close).
   */
  secretsDeleted(): void {
    this.#secretsDeleted = true;
  }

  /** Whether a session write raised the state counter since the last call; resets it. */
  takeCounterRaised(): boolean {
    const raised = this.#counterRaised;
    this.#counterRaised = false;
    return raised;
  }

  /** Whether a committed transaction asked for the WAL to be truncated; resets the request. */
  takeSecretsDeleted(): boolean {
    const requested = this.#secretsDeleted;
    this.#secretsDeleted = false;
    return requested;
  }

  // ---- replay cache of first messages that consumed no one-time key
  /** True when the digest was new (and is now stored), false for a replay. */
  rememberReplay(digest: Uint8Array, expiresAt: number): boolean {
    const blinded = this.#blind("replay_cache", digest);
    return (
      this.#run("INSERT OR IGNORE INTO replay_cache (digest, expires_at) VALUES (?, ?)", blinded, expiresAt) >
      0
    );
  }

  hasReplay(digest: Uint8Array): boolean {
    const blinded = this.#blind("replay_cache", digest);
    return this.#get("SELECT 1 AS hit FROM replay_cache WHERE digest = ?", blinded) !== undefined;
  }

  pruneReplay(now: number): number {
    return this.#run("DELETE FROM replay_cache WHERE expires_at <= ?", now);
  }

  // ---- prekey secrets: prekey ids travel only inside seals, so they are blinded here too
  putPrekeySecret(prekey: PrekeySecretRecord): void {
    const handle = this.#blind("prekey_secrets", prekey.id);
    const record = sealRow(this.#keys, "prekey_secrets", handle, encodeRecord("prekey", prekey));
    this.#run("INSERT OR REPLACE INTO prekey_secrets (handle, record) VALUES (?, ?)", handle, record);
  }

  getPrekeySecret(id: Uint8Array): PrekeySecretRecord | null {
    const handle = this.#blind("prekey_secrets", id);
    const row = this.#get("SELECT record FROM prekey_secrets WHERE handle = ?", handle);
    if (row === undefined) return null;
    // Not remembered: prekey secrets are read once per first contact, not per message, and a consumed
    // one-time secret must not outlive its row in memory.
    return decodeRecord("prekey", openRow(this.#keys, "prekey_secrets", handle, bytesOf(row.record)));
  }

  listPrekeySecrets(): PrekeySecretRecord[] {
    return this.#all("SELECT handle, record FROM prekey_secrets").map((row) =>
      decodeRecord("prekey", openRow(this.#keys, "prekey_secrets", bytesOf(row.handle), bytesOf(row.record))),
    );
  }

  deletePrekeySecret(id: Uint8Array): boolean {
    const handle = this.#blind("prekey_secrets", id);
    this.secretsDeleted();
    return this.#run("DELETE FROM prekey_secrets WHERE handle = ?", handle) > 0;
  }

  // ---- outbox: client message ids are sent to the relay, so they are the row key in the clear
  /** Idempotent: an id already present is left as it is and false is returned. */
  insertOutbox(entry: NewOutboxEntry): boolean {
    const key = utf8(entry.clientMessageId);
    const { recipient, envelope, createdAt } = entry;
    const record = sealRow(
      this.#keys,
      "outbox",
      key,
      encodeRecord("outbox", { recipient, envelope, createdAt }),
    );
    return (
      this.#run(
        `INSERT OR IGNORE INTO outbox (client_message_id, seq, attempts, next_attempt_at, record)
         VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox), 0, ?, ?)`,
        entry.clientMessageId,
        entry.createdAt,
        record,
      ) > 0
    );
  }

  #outboxEntry(row: Row): OutboxEntry {
    const clientMessageId = String(row.client_message_id);
    const sealed = openRow(this.#keys, "outbox", utf8(clientMessageId), bytesOf(row.record));
    const { recipient, envelope, createdAt } = decodeRecord("outbox", sealed);
    return {
      clientMessageId,
      recipient,
      envelope,
      createdAt,
      attempts: numberOf(row.attempts),
      nextAttemptAt: numberOf(row.next_attempt_at),
      lastError: row.last_error === null ? null : String(row.last_error),
    };
  }

  /** Pending entries in send order; with `dueAt`, only those whose backoff has elapsed. */
  listOutbox(dueAt?: number): OutboxEntry[] {
    const rows =
      dueAt === undefined
        ? this.#all("SELECT * FROM outbox ORDER BY seq")
        : this.#all("SELECT * FROM outbox WHERE next_attempt_at <= ? ORDER BY seq", dueAt);
    return rows.map((row) => this.#outboxEntry(row));
  }

  /**
   * Pending entries in send order WITHOUT opening their sealed records (the recipient and envelope
   * stay sealed): a flush opens only the ones it may post, not every entry already in flight.
   */
  listOutboxState(): OutboxEntryState[] {
    return this.#all("SELECT client_message_id, attempts, next_attempt_at FROM outbox ORDER BY seq").map(
      (row) => ({
        clientMessageId: String(row.client_message_id),
        attempts: numberOf(row.attempts),
        nextAttemptAt: numberOf(row.next_attempt_at),
      }),
    );
  }

  getOutbox(clientMessageId: string): OutboxEntry | null {
    const row = this.#get("SELECT * FROM outbox WHERE client_message_id = ?", clientMessageId);
    return row === undefined ? null : this.#outboxEntry(row);
  }

  countOutbox(): number {
    return numberOf(this.#get("SELECT COUNT(*) AS n FROM outbox")?.n);
  }

  recordOutboxFailure(clientMessageId: string, nextAttemptAt: number, errorCode: string): void {
    this.#run(
      "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE client_message_id = ?",
      nextAttemptAt,
      errorCode,
      clientMessageId,
    );
  }

  removeOutbox(clientMessageId: string): boolean {
    return this.#run("DELETE FROM outbox WHERE client_message_id = ?", clientMessageId) > 0;
  }

  // ---- received messages: redelivery of one relay message id is stored once
  /**
   * A message enters unshown and unread (a receipt: shown, and outside history). It is marked shown
   * only when the application took it (`markShown`), so a crash in between shows it on the next
   * receive instead of never (issue 13, loss 1).
   */
  insertReceived(message: ReceivedMessage): boolean {
    const handle = this.#blind("received", message.messageId);
    const { record, body } = this.#sealMessage("received", handle, message);
    const history = message.contentType !== RECEIPT_CONTENT;
    return (
      this.#run(
        `INSERT OR IGNORE INTO received (handle, record, body, shown, unread, peer, at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        handle,
        record,
        body,
        history ? 0 : 1,
        history ? 1 : 0,
        history ? this.#blind("contacts", message.sender) : null,
        message.receivedAt,
        message.expiresAt ?? null,
      ) > 0
    );
  }

  /** The application took the message (onMessage returned, the CLI printed it); `read`: a person saw it. */
  markShown(messageId: string, read: boolean): boolean {
    const handle = this.#blind("received", messageId);
    return (
      this.#run(
        `UPDATE received SET shown = 1${read ? ", unread = 0" : ""} WHERE handle = ? AND shown = 0`,
        handle,
      ) > 0
    );
  }

  /**
   * Messages committed and not yet shown, in arrival order (what a crash left between commit and show).
   * A message whose timer ran out by `now` is never shown: it waits only for the sweep.
   */
  listUnshown(limit = 1000, now = Date.now()): (ReceivedMessage & { readonly seq: number })[] {
    return this.#all(
      `SELECT seq, handle, record, body FROM received
         WHERE shown = 0 AND (expires_at IS NULL OR expires_at > ?) ORDER BY seq LIMIT ?`,
      now,
      limit,
    )
      .map((row) => ({ seq: numberOf(row.seq), ...this.#received(row) }))
      .filter((message) => live(message, now));
  }

  /**
   * A message row's sealed record and, for a long body (BODY_APART_BYTES), its body sealed apart under
   * its own table name (`received-body`, `sent-body`: neither can stand in for the other or a record).
   */
  #sealMessage(
    table: "received" | "sent",
    key: Uint8Array,
    message: ReceivedMessage | SentMessage,
  ): { record: Uint8Array; body: Uint8Array | null } {
    if (message.body.length < BODY_APART_BYTES) {
      return { record: sealRow(this.#keys, table, key, encodeRecord(table, message)), body: null };
    }
    const record = encodeRecord(table, { ...message, body: new Uint8Array(0), bodyApart: true });
    return {
      record: sealRow(this.#keys, table, key, record),
      body: sealRow(this.#keys, `${table}-body`, key, message.body),
    };
  }

  /**
   * The body the record names: its own, or the `body` column's when the record says it is apart. A
   * column the record does not name, or a missing one it does, is tampering (a cleared column must not
   * read as an empty message).
   */
  #bodyOf(
    table: "received" | "sent",
    key: Uint8Array,
    record: { readonly body: Uint8Array; readonly bodyApart?: true | undefined },
    column: Row[string] | undefined,
  ): Uint8Array {
    const present = column !== undefined && column !== null;
    if (record.bodyApart !== true) {
      if (present) throw new NanoError("local_record_tampered", `a ${table} row has a body it does not name`);
      return record.body;
    }
    if (!present) throw new NanoError("local_record_tampered", `a ${table} row lost its body`);
    return openRow(this.#keys, `${table}-body`, key, bytesOf(column));
  }

  #received(row: Row): ReceivedMessage {
    const handle = bytesOf(row.handle);
    const { bodyApart, ...message } = decodeRecord(
      "received",
      openRow(this.#keys, "received", handle, bytesOf(row.record)),
    );
    return { ...message, body: this.#bodyOf("received", handle, { ...message, bodyApart }, row.body) };
  }

  #sent(row: Row): SentMessage {
    const key = utf8(String(row.client_message_id));
    const { bodyApart, ...sent } = decodeRecord(
      "sent",
      openRow(this.#keys, "sent", key, bytesOf(row.record)),
    );
    if (sent.clientMessageId !== row.client_message_id)
      throw new NanoError("local_record_tampered", "a sent row holds another message id");
    return { ...sent, body: this.#bodyOf("sent", key, { ...sent, bodyApart }, row.body) };
  }

  // ---- sent messages: history only (the outbox holds what is still to be posted)
  insertSent(message: SentMessage): void {
    const key = utf8(message.clientMessageId);
    const { record, body } = this.#sealMessage("sent", key, message);
    this.#run(
      "INSERT OR IGNORE INTO sent (client_message_id, peer, at, expires_at, record, body) VALUES (?, ?, ?, ?, ?, ?)",
      message.clientMessageId,
      this.#blind("contacts", message.recipient),
      message.sentAt,
      message.expiresAt ?? null,
      record,
      body,
    );
  }

  // ---- quarantine: messages that could not be opened, kept until retried or discarded
  /** Idempotent per relay message id (a redelivery after a crash before the ack is kept once). */
  quarantine(message: QuarantinedMessage): boolean {
    const handle = this.#blind("quarantine", message.messageId);
    const record = sealRow(this.#keys, "quarantine", handle, encodeRecord("quarantined", message));
    return (
      this.#run(
        "INSERT OR IGNORE INTO quarantine (handle, at, record) VALUES (?, ?, ?)",
        handle,
        message.quarantinedAt,
        record,
      ) > 0
    );
  }

  listQuarantine(): QuarantinedMessage[] {
    return this.#all("SELECT handle, record FROM quarantine ORDER BY seq").map((row) =>
      decodeRecord(
        "quarantined",
        openRow(this.#keys, "quarantine", bytesOf(row.handle), bytesOf(row.record)),
      ),
    );
  }

  countQuarantine(): number {
    return numberOf(this.#get("SELECT COUNT(*) AS n FROM quarantine")?.n);
  }

  /** Removes a quarantined message (opened on a retry, or discarded); its envelope leaves the WAL. */
  removeQuarantined(messageId: string): boolean {
    const removed =
      this.#run("DELETE FROM quarantine WHERE handle = ?", this.#blind("quarantine", messageId)) > 0;
    if (removed) this.secretsDeleted();
    return removed;
  }

  // ---- intents: sends accepted while the relay was unreachable, not yet encrypted
  insertIntent(intent: IntentRecord): void {
    const key = utf8(intent.clientMessageId);
    const record = sealRow(this.#keys, "intents", key, encodeRecord("intent", intent));
    this.#run(
      `INSERT INTO intents (client_message_id, seq, expires_at, record)
       VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM intents), ?, ?)`,
      intent.clientMessageId,
      intent.expireAfterSeconds === undefined ? null : intent.createdAt + intent.expireAfterSeconds * 1000,
      record,
    );
  }

  /** Intents in the order they were accepted. */
  listIntents(): PendingIntent[] {
    return this.#all("SELECT * FROM intents ORDER BY seq").map((row) => {
      const key = utf8(String(row.client_message_id));
      const intent = decodeRecord("intent", openRow(this.#keys, "intents", key, bytesOf(row.record)));
      if (intent.clientMessageId !== row.client_message_id)
        throw new NanoError("local_record_tampered", "an intent row holds another message id");
      return {
        ...intent,
        attempts: numberOf(row.attempts),
        lastError: row.last_error === null ? null : String(row.last_error),
      };
    });
  }

  countIntents(): number {
    return numberOf(this.#get("SELECT COUNT(*) AS n FROM intents")?.n);
  }

  recordIntentFailure(clientMessageId: string, errorCode: string): void {
    this.#run(
      "UPDATE intents SET attempts = attempts + 1, last_error = ? WHERE client_message_id = ?",
      errorCode,
      clientMessageId,
    );
  }

  /** The intent's plaintext (a file's bytes too) leaves the WAL with the commit that removes it. */
  removeIntent(clientMessageId: string): boolean {
    const removed = this.#run("DELETE FROM intents WHERE client_message_id = ?", clientMessageId) > 0;
    if (removed) this.secretsDeleted();
    return removed;
  }

  /** Removes a sent message from history (an outbox entry cancelled before the relay had it). */
  deleteSent(clientMessageId: string): boolean {
    return this.#run("DELETE FROM sent WHERE client_message_id = ?", clientMessageId) > 0;
  }

  /**
   * The outbox in send order, each entry with what was sent (its `sent` row; null for entries queued
   * before history was kept, or pruned from it).
   */
  listPendingSent(): { readonly entry: OutboxEntry; readonly sent: SentMessage | null }[] {
    return this.#all(
      `SELECT o.*, s.record AS sent_record, s.body AS sent_body FROM outbox o
         LEFT JOIN sent s ON s.client_message_id = o.client_message_id ORDER BY o.seq`,
    ).map((row) => ({
      entry: this.#outboxEntry(row),
      sent:
        row.sent_record === null
          ? null
          : this.#sent({
              client_message_id: row.client_message_id ?? null,
              record: row.sent_record ?? null,
              body: row.sent_body ?? null,
            }),
    }));
  }

  /**
   * The newest `limit` messages of one conversation (or all), from `since` on, oldest first. The
   * `peer` and `at` columns only select: the peer is checked against the sealed record, so an edited
   * column cannot move a message into another conversation.
   */
  history(query: HistoryQuery): StoredHistoryEntry[] {
    const peer = query.peer === undefined ? null : this.#blind("contacts", query.peer);
    return this.#historyRows(peer, query.since ?? 0, query.limit, query.now ?? Date.now())
      .filter((entry) => query.peer === undefined || peerOf(entry) === query.peer)
      .reverse();
  }

  #historyRows(peer: Uint8Array | null, since: number, limit: number, now: number): StoredHistoryEntry[] {
    const notExpired = "(expires_at IS NULL OR expires_at > ?)";
    const where = peer === null ? `at >= ? AND ${notExpired}` : `peer = ? AND at >= ? AND ${notExpired}`;
    const params: SQLInputValue[] =
      peer === null ? [since, now, since, now] : [peer, since, now, peer, since, now];
    return this.#all(
      `SELECT 'in' AS direction, seq, handle, NULL AS client_message_id, unread, at, record, body
         FROM received WHERE peer IS NOT NULL AND ${where}
       UNION ALL
       SELECT 'out', seq, NULL, client_message_id, 0, at, record, body FROM sent WHERE ${where}
       ORDER BY at DESC, seq DESC LIMIT ?`,
      ...params,
      limit,
    )
      .map(
        (row): StoredHistoryEntry =>
          row.direction === "in"
            ? { direction: "in", message: this.#received(row), unread: numberOf(row.unread) === 1 }
            : { direction: "out", message: this.#sent(row) },
      )
      .filter((entry) => live(entry.message, now));
  }

  /** Every conversation with a message not expired by `now`, the most recent first. */
  conversations(now = Date.now()): StoredConversation[] {
    const rows = this.#all(
      `SELECT peer, SUM(unread) AS unread, MAX(at) AS last FROM (
         SELECT peer, unread, at FROM received
           WHERE peer IS NOT NULL AND (expires_at IS NULL OR expires_at > ?)
         UNION ALL SELECT peer, 0, at FROM sent WHERE expires_at IS NULL OR expires_at > ?)
       GROUP BY peer ORDER BY last DESC`,
      now,
      now,
    );
    return rows.flatMap((row) => {
      const [last] = this.#historyRows(bytesOf(row.peer), 0, 1, now);
      return last === undefined ? [] : [{ peer: peerOf(last), last, unread: numberOf(row.unread) }];
    });
  }

  // ---- disappearing messages (docs/client.md "Disappearing messages")
  /**
   * Deletes every received and sent row whose timer ran out by `now`, shown or not (and every intent:
   * a send still waiting for the relay whose timer ran out is never sent), and asks for the
   * WAL to be truncated after the commit (secure_delete zeroes the freed cells in the database; the
   * checkpoint carries that into the file and truncation drops the old page images): the plaintext
   * leaves local.db and local.db-wal with this transaction. The deleted received rows' blind handles
   * are remembered for REDELIVERY_WINDOW_MS, so a message the relay delivers again is skipped, not
   * refused. Returns the received attachment rows deleted (their saved files are the caller's).
   */
  sweepExpired(now: number): SweepResult {
    const files: string[] = [];
    for (const row of this.#all(
      "SELECT handle, record, body FROM received WHERE expires_at <= ? AND peer IS NOT NULL",
      now,
    )) {
      const message = this.#received(row);
      if (message.contentType !== "attachment") continue;
      const saved = savedAttachmentPath(message.body);
      if (saved !== null) files.push(saved);
    }
    this.#run(
      `INSERT OR IGNORE INTO expired_received (handle, forget_at)
       SELECT handle, ? FROM received WHERE expires_at <= ?`,
      now + REDELIVERY_WINDOW_MS,
      now,
    );
    const deleted =
      this.#run("DELETE FROM received WHERE expires_at <= ?", now) +
      this.#run("DELETE FROM sent WHERE expires_at <= ?", now) +
      this.#run("DELETE FROM intents WHERE expires_at <= ?", now);
    this.#run("DELETE FROM expired_received WHERE forget_at <= ?", now);
    if (deleted > 0) this.secretsDeleted();
    return { deleted, files };
  }

  /** The earliest time a row's timer runs out, or null when none has one. */
  nextExpiry(): number | null {
    const row = this.#get(
      `SELECT MIN(at) AS next FROM (SELECT MIN(expires_at) AS at FROM received
         UNION ALL SELECT MIN(expires_at) FROM sent UNION ALL SELECT MIN(expires_at) FROM intents)`,
    );
    return row?.next === null || row?.next === undefined ? null : numberOf(row.next);
  }

  /**
   * A message whose timer had run out when it arrived: its plaintext is never stored or shown; only its
   * blind handle is kept (as the sweep keeps it), so a redelivery is skipped.
   */
  rememberExpired(messageId: string, now: number): void {
    this.#run(
      "INSERT OR IGNORE INTO expired_received (handle, forget_at) VALUES (?, ?)",
      this.#blind("received", messageId),
      now + REDELIVERY_WINDOW_MS,
    );
  }

  /** The conversation's settings, or null when none were set. */
  getConversation(peer: string): ConversationSettings | null {
    const handle = this.#blind("contacts", peer);
    const row = this.#get("SELECT record FROM conversation_settings WHERE peer = ?", handle);
    if (row === undefined) return null;
    const settings = decodeRecord(
      "conversation",
      openRow(this.#keys, "conversation_settings", handle, bytesOf(row.record)),
    );
    if (settings.peer !== peer)
      throw new NanoError("local_record_tampered", "a conversation row holds another peer");
    return settings;
  }

  putConversation(settings: ConversationSettings): void {
    const handle = this.#blind("contacts", settings.peer);
    const record = sealRow(
      this.#keys,
      "conversation_settings",
      handle,
      encodeRecord("conversation", settings),
    );
    this.#run("INSERT OR REPLACE INTO conversation_settings (peer, record) VALUES (?, ?)", handle, record);
  }

  /** Marks a conversation's received messages read; returns how many were unread. */
  markRead(peer: string): number {
    return this.#run(
      "UPDATE received SET unread = 0 WHERE peer = ? AND unread = 1",
      this.#blind("contacts", peer),
    );
  }

  /**
   * Deletes history older than `before` (the local retention setting). Unshown messages stay until
   * they are shown. A deleted received row no longer deduplicates its relay id: the relay removed that
   * message when it was acknowledged, right after its commit, long before any retention runs out.
   */
  pruneHistory(before: number): number {
    const deleted =
      this.#run("DELETE FROM received WHERE shown = 1 AND at < ?", before) +
      this.#run("DELETE FROM sent WHERE at < ?", before);
    // Plaintext left the tables: let it leave the WAL too.
    if (deleted > 0) this.secretsDeleted();
    return deleted;
  }

  /** Fills `peer` and `at` of rows written before migration 2 (history selects on them). */
  backfillHistory(): number {
    const rows = this.#all("SELECT seq, handle, record, body FROM received WHERE at IS NULL");
    for (const row of rows) {
      const message = this.#received(row);
      const history = message.contentType !== RECEIPT_CONTENT;
      this.#run(
        "UPDATE received SET peer = ?, at = ? WHERE seq = ?",
        history ? this.#blind("contacts", message.sender) : null,
        message.receivedAt,
        numberOf(row.seq),
      );
    }
    return rows.length;
  }

  /** Stored before (or deleted by its timer lately): a redelivery of this relay id is skipped. */
  hasReceived(messageId: string): boolean {
    const handle = this.#blind("received", messageId);
    return (
      this.#get(
        `SELECT 1 AS hit FROM received WHERE handle = ?
         UNION ALL SELECT 1 FROM expired_received WHERE handle = ?`,
        handle,
        handle,
      ) !== undefined
    );
  }

  /**
   * Messages in arrival order after sequence number `after`; `seq` is an unauthenticated order hint.
   * Rows whose timer ran out by `now` are left out.
   */
  listReceived(after = 0, limit = 1000, now = Date.now()): (ReceivedMessage & { readonly seq: number })[] {
    return this.#all(
      `SELECT seq, handle, record, body FROM received
         WHERE seq > ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY seq LIMIT ?`,
      after,
      now,
      limit,
    ).map((row) => ({ seq: numberOf(row.seq), ...this.#received(row) }));
  }

  // ---- meta
  /** A sealed named value (the own identity record, device key and certificate). */
  putSecretMeta(name: string, value: Uint8Array): void {
    if (name === KEY_CHECK) throw new RangeError("reserved meta name");
    const record = sealRow(this.#keys, "meta", utf8(name), value);
    this.#run("INSERT OR REPLACE INTO meta (name, record) VALUES (?, ?)", name, record);
  }

  getSecretMeta(name: string): Uint8Array | null {
    const row = this.#get("SELECT record FROM meta WHERE name = ?", name);
    if (row === undefined) return null;
    return openRow(this.#keys, "meta", utf8(name), bytesOf(row.record));
  }

  deleteSecretMeta(name: string): void {
    if (name === KEY_CHECK) throw new RangeError("reserved meta name");
    this.#run("DELETE FROM meta WHERE name = ?", name);
  }

  /**
   * A new database gets its key-check row; an existing one must open it under this key. One that holds
   * rows but no key-check had it deleted: refused, not taken as new — sealing a key-check under the key
   * this open was given (another home's keystore) would make it refuse its own key from then on.
   */
  /** Whether any table of the database has a row (a new database has none before its key-check). */
  #holdsRows(): boolean {
    const tables = this.#db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string }[];
    return tables.some(
      ({ name }) =>
        this.#db.prepare(`SELECT 1 FROM "${name.replaceAll('"', '""')}" LIMIT 1`).get() !== undefined,
    );
  }

  checkKey(): void {
    const row = this.#get("SELECT record FROM meta WHERE name = ?", KEY_CHECK);
    const rowKey = utf8(KEY_CHECK);
    if (row === undefined) {
      if (this.#holdsRows()) {
        throw new NanoError(
          "local_record_tampered",
          "the local database holds rows but not its key-check row: it was deleted",
        );
      }
      this.#run(
        "INSERT INTO meta (name, record) VALUES (?, ?)",
        KEY_CHECK,
        sealRow(this.#keys, "meta", rowKey, KEY_CHECK_PLAINTEXT),
      );
      return;
    }
    try {
      openRow(this.#keys, "meta", rowKey, bytesOf(row.record));
    } catch (cause) {
      throw new NanoError(
        "local_record_tampered",
        "the local database was sealed under another key (a keystore from another home?)",
        { cause },
      );
    }
  }
}

/**
 * The client's local state: one SQLite file (WAL, synchronous=FULL, secure_delete) in the home
 * directory, created 0600. Operations are serialized through one FIFO queue so a transaction that
 * awaits is never interleaved with another caller's writes on the same connection; transactions queued
 * together share one durable commit (group commit, src/client/local-store/local-commit-queue.ts).
 */
export class LocalStore implements LocalStoreApi {
  readonly #db: DatabaseSync;
  readonly #keys: LocalKeys;
  readonly #tables: SqliteTables;
  readonly #queue: LocalCommitQueue;
  readonly #path: string;
  /** The counter the anchor file was last written with (state-anchor.ts). */
  #anchored: number;
  /** The one anchor write in flight, if any; `#anchorDue` asks it for one more round. */
  #anchoring: Promise<void> | null = null;
  #anchorDue = false;

  private constructor(db: DatabaseSync, keys: LocalKeys, path: string) {
    this.#db = db;
    this.#keys = keys;
    this.#tables = new SqliteTables(db, keys);
    this.#queue = new LocalCommitQueue(db, MAX_BATCH, this.#tables.batchHooks);
    this.#path = path;
    this.#anchored = 0;
  }

  /** Opens (creating 0600 if needed) and migrates the database at `path` under `databaseKey`. */
  static async open(path: string, databaseKey: Uint8Array): Promise<LocalStore> {
    // Create the file ourselves so it is 0600 from its first byte; SQLite gives -wal/-shm the same mode.
    closeSync(openSync(path, constants.O_CREAT | constants.O_RDWR | constants.O_NOFOLLOW, PRIVATE_FILE_MODE));
    await assertPrivate(path, "local database");
    // The busy timeout from the first statement: switching to WAL takes a lock, and a second process
    // opening the same home at that moment must wait for it, not fail with SQLITE_BUSY at once.
    const db = new DatabaseSync(path, { timeout: 5000 });
    const keys = deriveLocalKeys(copyBytes(databaseKey));
    try {
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;");
      db.exec("PRAGMA foreign_keys = ON;");
      migrate(db);
      const store = new LocalStore(db, keys, path);
      store.#tables.checkKey();
      store.#tables.backfillHistory();
      // Every command that opens the store deletes what is due first (docs/client.md "Disappearing
      // messages"), before anything could read it.
      // One transaction, as a watch's sweep: a kill or a full disk in it leaves all the due rows or none.
      // A full disk does not lock the user out of their history: the due rows stay out of view by their
      // sealed deadlines, and closing (or the next open) sweeps again.
      let swept: ReturnType<LocalTables["sweepExpired"]> = { deleted: 0, files: [] };
      tolerateFullDisk(path, () => {
        db.exec("BEGIN IMMEDIATE");
        try {
          swept = store.#tables.sweepExpired(Date.now());
          db.exec("COMMIT");
        } catch (error) {
          // SQLite may have rolled back already (a full disk): a second ROLLBACK would hide the cause.
          if (db.isTransaction) db.exec("ROLLBACK");
          throw error;
        }
      });
      store.#tables.takeSecretsDeleted();
      // Always, not only after this sweep: a process killed between a commit that deleted secrets (a
      // sweep, retention, a spent key) and its truncation left the old row bytes in the database file
      // (the WAL holds the zeroed pages until a checkpoint) or in the WAL. A clean close leaves no WAL,
      // so this costs nothing then.
      tolerateFullDisk(path, () => db.exec("PRAGMA wal_checkpoint(TRUNCATE)"));
      if (swept.deleted > 0) await removeSavedFiles(swept.files);
      // Before anything in it is used: a database older than this home's last committed state.
      const anchor = await readAnchor(path, keys);
      const counter = store.#tables.stateVersion();
      if (anchor !== null && counter < anchor) throw rolledBack(counter, anchor);
      store.#anchored = anchor ?? 0;
      return store;
    } catch (error) {
      db.close();
      wipeLocalKeys(keys);
      throw error;
    }
  }

  /**
   * Runs `work` atomically and durably: all of its writes commit together, or none do, and the promise
   * resolves only after the commit reached the disk. Transactions queued together share one commit, each
   * in its own savepoint (a throwing work is undone alone and rejects with its own error; a failed COMMIT
   * rejects all of them). `work` must not call the store itself (that is refused: it would wait for
   * itself); it uses the tables it is given.
   */
  async transaction<T>(work: (tables: LocalTables) => T | Promise<T>): Promise<T> {
    try {
      return await this.#queue.submit("transaction", () => work(this.#tables));
    } finally {
      // After the commit: old row bytes of deleted secrets leave the WAL (SqliteTables.secretsDeleted).
      if (this.#tables.takeSecretsDeleted()) await this.#truncateWal();
      if (this.#tables.takeCounterRaised()) this.#raiseAnchor();
    }
  }

  /**
   * Moves the anchor up to the committed state counter, in the background after each commit that
   * raised it, one write at a time (writes asked for meanwhile coalesce into one more). Moving it only
   * at close left it where the run began when the process was killed or the machine lost power, so any
   * copy of local.db taken during a long run (a watching receive, an SDK app) was accepted back later.
   * Now the anchor trails the disk by at most the write in flight. The counter is read through the
   * commit queue, so only a committed value is ever anchored (an anchor ahead of the database would
   * refuse the real, newest state).
   */
  #raiseAnchor(): void {
    this.#anchorDue = true;
    if (this.#anchoring !== null) return;
    this.#anchoring = (async () => {
      while (this.#anchorDue) {
        this.#anchorDue = false;
        const counter = await this.read((tables) => tables.stateVersion());
        if (counter <= this.#anchored) continue;
        await writeAnchor(this.#path, this.#keys, counter);
        this.#anchored = counter;
      }
    })()
      // A failed write (a full disk, a closed store) keeps the lower anchor: less strict, never wrong.
      .catch(() => {})
      .finally(() => {
        this.#anchoring = null;
      });
  }

  /**
   * Deletes the messages whose timer ran out by `now` (LocalTables.sweepExpired) in one durable commit,
   * after which the WAL is truncated, then the files their attachments were saved to. Returns how many
   * rows went. `receive --watch` runs it on a timer; opening the store runs it once.
   */
  async sweepExpired(now = Date.now()): Promise<number> {
    const swept = await this.transaction((tables) => tables.sweepExpired(now));
    await removeSavedFiles(swept.files);
    return swept.deleted;
  }

  /** The earliest local time a stored message's timer runs out, or null. */
  nextExpiry(): Promise<number | null> {
    return this.read((tables) => tables.nextExpiry());
  }

  /** Checkpoints the WAL into the database (secure_delete zeroes freed bytes) and truncates it. */
  #truncateWal(): Promise<void> {
    return this.#queue.submit("checkpoint", () => {
      this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    });
  }

  /**
   * One operation outside an explicit transaction (SQLite commits each statement on its own). Queued
   * behind a transaction, it joins that transaction's shared commit instead and settles after it.
   */
  read<T>(work: (tables: LocalTables) => T): Promise<T> {
    return this.#queue.submit("read", () => work(this.#tables));
  }

  /**
   * One operation committed WITHOUT waiting for the disk (synchronous = NORMAL for its commit, WAL): it
   * becomes durable with the next normal commit or checkpoint, and a crash before that may undo it.
   * Only for writes whose loss is harmless by construction: removing an outbox entry the relay
   * acknowledged (undone, it is resent under the same client message id, which the relay stores
   * once), so a send waits for the disk once, not twice. Queued behind a transaction, it simply becomes
   * part of that transaction's durable commit (no extra cost).
   */
  relaxed<T>(work: (tables: LocalTables) => T): Promise<T> {
    return this.#queue.submit("relaxed", () => work(this.#tables));
  }

  /** Commits made and works they held: how well group commit batches (tests, benchmarks). */
  commitStats(): CommitStats {
    return this.#queue.stats;
  }

  /** The connection's `PRAGMA synchronous` (2 = FULL): every commit but `relaxed`'s waits for the disk. */
  synchronousLevel(): Promise<number> {
    return this.read(() => {
      const row = this.#db.prepare("PRAGMA synchronous").get() as { synchronous: number } | undefined;
      return row?.synchronous ?? -1;
    });
  }

  putContact(contact: ContactRecord): Promise<void> {
    return this.read((tables) => tables.putContact(contact));
  }

  getContact(username: string): Promise<ContactRecord | null> {
    return this.read((tables) => tables.getContact(username));
  }

  listContacts(): Promise<ContactRecord[]> {
    return this.read((tables) => tables.listContacts());
  }

  async putSession(session: SessionRecord): Promise<void> {
    await this.read((tables) => tables.putSession(session));
    if (this.#tables.takeCounterRaised()) this.#raiseAnchor();
  }

  getSessions(peer: string): Promise<SessionRecord[]> {
    return this.read((tables) => tables.getSessions(peer));
  }

  putPrekeySecret(prekey: PrekeySecretRecord): Promise<void> {
    return this.read((tables) => tables.putPrekeySecret(prekey));
  }

  getPrekeySecret(id: Uint8Array): Promise<PrekeySecretRecord | null> {
    return this.read((tables) => tables.getPrekeySecret(id));
  }

  rememberReplay(digest: Uint8Array, expiresAt: number): Promise<boolean> {
    return this.read((tables) => tables.rememberReplay(digest, expiresAt));
  }

  insertReceived(message: ReceivedMessage): Promise<boolean> {
    return this.read((tables) => tables.insertReceived(message));
  }

  listReceived(after?: number, limit?: number): Promise<(ReceivedMessage & { readonly seq: number })[]> {
    return this.read((tables) => tables.listReceived(after, limit));
  }

  countOutbox(): Promise<number> {
    return this.read((tables) => tables.countOutbox());
  }

  countIntents(): Promise<number> {
    return this.read((tables) => tables.countIntents());
  }

  async close(): Promise<void> {
    // What came due while this client ran (a receive that printed a short-lived message) goes now,
    // not at the next command. Best effort: closing must not fail for it, and the next open sweeps.
    const now = Date.now();
    const next = await this.nextExpiry().catch(() => null);
    if (next !== null && next <= now) await this.sweepExpired(now).catch(() => 0);
    this.#anchorDue = false;
    await this.#anchoring;
    await this.#queue.close();
    try {
      // Every commit is durable by now: the anchor may move up to the database's counter. A failed
      // write (a full disk, a home being removed) keeps the previous, lower anchor: less strict, never
      // wrong, and no reason to fail a command whose work is committed.
      // The highest counter this process knows committed: the database's, or — when an older copy was
      // put back under the open store (stateVersion refuses it) — the one it had before, so the next
      // open refuses that copy instead of adopting it.
      try {
        this.#tables.stateVersion();
      } catch {
        // local_state_rolled_back: committedCounter() still holds the value before the copy.
      }
      await writeAnchor(this.#path, this.#keys, this.#tables.committedCounter()).catch(() => {});
    } finally {
      this.#tables.forget();
      this.#db.close();
      wipeLocalKeys(this.#keys);
    }
  }
}
