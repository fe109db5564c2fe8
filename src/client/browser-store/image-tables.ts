import { toHex, utf8 } from "../../crypto/bytes.ts";
import { NanoError } from "../../errors/index.ts";
import {
  type ContactRecord,
  decodeRecord,
  encodeRecord,
  type IntentRecord,
  type OutboxEntry,
  type PendingIntent,
  type PrekeySecretRecord,
  type QuarantinedMessage,
  type ReceivedMessage,
  type SentMessage,
  type SessionRecord,
} from "../local-store/local-records.ts";
import {
  type HistoryQuery,
  type LocalTables,
  type NewOutboxEntry,
  type OutboxEntryState,
  peerOf,
  RECEIPT_CONTENT,
  type StoredConversation,
  type StoredHistoryEntry,
} from "../local-store/local-tables.ts";
import {
  decodeCounter,
  encodeCounter,
  rolledBack,
  STATE_COUNTER_META,
} from "../local-store/state-counter.ts";
import {
  type Draft,
  type ImageRow,
  type RowColumns,
  RowRecord,
  TABLE_RECORD_KIND,
  type TableName,
  type TableRecords,
} from "./store-image.ts";

/** The meta row that proves the database key: sealed at creation, opened at every open. */
export const KEY_CHECK = "key-check";
export const KEY_CHECK_PLAINTEXT = utf8("nano local store");

/** Computes a blind index (sealed-row-format.ts), remembered by the store across transactions. */
export type BlindIndexer = (table: string, value: Uint8Array | string) => Uint8Array;

/**
 * The tables (local-tables.ts) over a draft of the IndexedDB store's image. Every method is the SQLite
 * store's statement for statement: the same clear columns select, the same sealed record is checked
 * (a session's peer, a sent row's id), the same rows count. Records cross the boundary as copies: what
 * a caller changes or wipes is not what the image holds. Writes encode the record at once (a record
 * that does not match its schema is refused inside the work, as in SQLite) and keep it for the
 * commit's seal.
 */
export class ImageTables implements LocalTables {
  readonly #draft: Draft;
  readonly #blind: BlindIndexer;
  #counterRaised = false;

  constructor(draft: Draft, blind: BlindIndexer) {
    this.#draft = draft;
    this.#blind = blind;
  }

  /** Whether a session write raised the state counter in this transaction. */
  get counterRaised(): boolean {
    return this.#counterRaised;
  }

  #handle(table: string, value: Uint8Array | string): { rowKey: Uint8Array; key: string } {
    const rowKey = this.#blind(table, value);
    return { rowKey, key: toHex(rowKey) };
  }

  #put<K extends TableName>(
    table: K,
    key: string,
    rowKey: Uint8Array,
    record: TableRecords[K],
    columns: RowColumns = {},
  ): void {
    const kind = TABLE_RECORD_KIND[table];
    let encoded: Uint8Array;
    let opened: unknown;
    if (kind === "none") {
      encoded = new Uint8Array(0);
      opened = null;
    } else if (kind === "raw") {
      encoded = Uint8Array.from(record as Uint8Array);
      opened = Uint8Array.from(record as Uint8Array);
    } else {
      encoded = encodeRecord(kind, record as object);
      // The image holds what a read of the sealed row would give: the schema's output, no undefined.
      opened = decodeRecord(kind, encoded);
    }
    this.#draft.put(table, key, {
      rowKey: Uint8Array.from(rowKey),
      columns,
      record: RowRecord.decoded(opened as TableRecords[K]),
      sealed: null,
      encoded,
    });
  }

  /** A copy of the row's record; the row's error when its stored bytes did not open. */
  #open<K extends TableName>(_table: K, row: ImageRow): TableRecords[K] {
    if (row.broken !== undefined) throw row.broken;
    return structuredClone(row.record?.value()) as TableRecords[K];
  }

  /** Only the columns change: the sealed bytes are written again as they are. */
  #update(table: TableName, key: string, row: ImageRow, columns: RowColumns): void {
    this.#draft.put(table, key, { ...row, columns: { ...row.columns, ...columns } });
  }

  #bySeq(table: TableName, where: (row: ImageRow) => boolean = () => true): [string, ImageRow][] {
    return [...this.#draft.entries(table)]
      .filter(([, row]) => where(row))
      .sort(([, a], [, b]) => (a.columns.seq ?? 0) - (b.columns.seq ?? 0));
  }

  #maxSeq(table: TableName): number {
    let max = 0;
    for (const [, row] of this.#draft.entries(table)) max = Math.max(max, row.columns.seq ?? 0);
    return max;
  }

  #count(table: TableName): number {
    let count = 0;
    for (const _ of this.#draft.entries(table)) count += 1;
    return count;
  }

  // ---- contacts
  putContact(contact: ContactRecord): void {
    const { rowKey, key } = this.#handle("contacts", contact.username);
    this.#put("contacts", key, rowKey, contact);
  }

  getContact(username: string): ContactRecord | null {
    const { key } = this.#handle("contacts", username);
    const row = this.#draft.get("contacts", key);
    if (row === undefined) return null;
    const contact = this.#open("contacts", row);
    if (contact.username !== username) {
      throw new NanoError("local_record_tampered", "a contact row holds another username");
    }
    return contact;
  }

  requireContact(username: string): ContactRecord {
    const contact = this.getContact(username);
    if (contact === null) throw new NanoError("contact_not_found", `no contact named ${username}`);
    return contact;
  }

  listContacts(): ContactRecord[] {
    return [...this.#draft.entries("contacts")]
      .map(([, row]) => this.#open("contacts", row))
      .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  }

  deleteContact(username: string): boolean {
    return this.#draft.delete("contacts", this.#handle("contacts", username).key);
  }

  // ---- sessions and the state counter
  stateVersion(): number {
    const stored = this.getSecretMeta(STATE_COUNTER_META);
    return stored === null ? 0 : decodeCounter(stored);
  }

  putSession(input: SessionRecord): void {
    const version = this.stateVersion() + 1;
    this.putSecretMeta(STATE_COUNTER_META, encodeCounter(version));
    this.#counterRaised = true;
    const session: SessionRecord = { ...input, stateVersion: version };
    const { rowKey, key } = this.#handle("sessions", session.sessionId);
    const peer = toHex(this.#blind("contacts", session.peer));
    this.#put("sessions", key, rowKey, session, { peer, updatedAt: session.updatedAt });
  }

  getSessions(peer: string): SessionRecord[] {
    const blinded = toHex(this.#blind("contacts", peer));
    const sessions = [...this.#draft.entries("sessions")]
      .filter(([, row]) => row.columns.peer === blinded)
      .map(([, row]) => this.#open("sessions", row));
    // The peer column only selects: an edited column can move no session to another contact.
    for (const session of sessions) {
      if (session.peer !== peer) throw new NanoError("local_record_tampered", "a session row was moved");
    }
    if (sessions.length > 0) {
      const counter = this.stateVersion();
      for (const session of sessions) {
        if ((session.stateVersion ?? 0) > counter) throw rolledBack(counter, session.stateVersion!);
      }
    }
    return sessions.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  deleteSession(sessionId: Uint8Array): boolean {
    return this.#draft.delete("sessions", this.#handle("sessions", sessionId).key);
  }

  /** Nothing to do here: IndexedDB has no WAL this store could truncate (docs/web.md "Browser storage"). */
  secretsDeleted(): void {}

  // ---- replay cache
  rememberReplay(digest: Uint8Array, expiresAt: number): boolean {
    const { rowKey, key } = this.#handle("replay_cache", digest);
    if (this.#draft.get("replay_cache", key) !== undefined) return false;
    this.#put("replay_cache", key, rowKey, null, { expiresAt });
    return true;
  }

  hasReplay(digest: Uint8Array): boolean {
    return this.#draft.get("replay_cache", this.#handle("replay_cache", digest).key) !== undefined;
  }

  pruneReplay(now: number): number {
    let pruned = 0;
    for (const [key, row] of [...this.#draft.entries("replay_cache")]) {
      if ((row.columns.expiresAt ?? 0) <= now) pruned += Number(this.#draft.delete("replay_cache", key));
    }
    return pruned;
  }

  // ---- prekey secrets
  putPrekeySecret(prekey: PrekeySecretRecord): void {
    const { rowKey, key } = this.#handle("prekey_secrets", prekey.id);
    this.#put("prekey_secrets", key, rowKey, prekey);
  }

  getPrekeySecret(id: Uint8Array): PrekeySecretRecord | null {
    const row = this.#draft.get("prekey_secrets", this.#handle("prekey_secrets", id).key);
    return row === undefined ? null : this.#open("prekey_secrets", row);
  }

  listPrekeySecrets(): PrekeySecretRecord[] {
    return [...this.#draft.entries("prekey_secrets")].map(([, row]) => this.#open("prekey_secrets", row));
  }

  deletePrekeySecret(id: Uint8Array): boolean {
    return this.#draft.delete("prekey_secrets", this.#handle("prekey_secrets", id).key);
  }

  // ---- outbox: client message ids are the row key in the clear, as in SQLite
  insertOutbox(entry: NewOutboxEntry): boolean {
    if (this.#draft.get("outbox", entry.clientMessageId) !== undefined) return false;
    const { recipient, envelope, createdAt } = entry;
    this.#put(
      "outbox",
      entry.clientMessageId,
      utf8(entry.clientMessageId),
      { recipient, envelope, createdAt },
      { seq: this.#maxSeq("outbox") + 1, attempts: 0, nextAttemptAt: createdAt, lastError: null },
    );
    return true;
  }

  #outboxEntry(clientMessageId: string, row: ImageRow): OutboxEntry {
    const { recipient, envelope, createdAt } = this.#open("outbox", row);
    return {
      clientMessageId,
      recipient,
      envelope,
      createdAt,
      attempts: row.columns.attempts ?? 0,
      nextAttemptAt: row.columns.nextAttemptAt ?? 0,
      lastError: row.columns.lastError ?? null,
    };
  }

  listOutbox(dueAt?: number): OutboxEntry[] {
    return this.#bySeq(
      "outbox",
      (row) => dueAt === undefined || (row.columns.nextAttemptAt ?? 0) <= dueAt,
    ).map(([id, row]) => this.#outboxEntry(id, row));
  }

  listOutboxState(): OutboxEntryState[] {
    return this.#bySeq("outbox").map(([clientMessageId, row]) => ({
      clientMessageId,
      attempts: row.columns.attempts ?? 0,
      nextAttemptAt: row.columns.nextAttemptAt ?? 0,
    }));
  }

  getOutbox(clientMessageId: string): OutboxEntry | null {
    const row = this.#draft.get("outbox", clientMessageId);
    return row === undefined ? null : this.#outboxEntry(clientMessageId, row);
  }

  countOutbox(): number {
    return this.#count("outbox");
  }

  recordOutboxFailure(clientMessageId: string, nextAttemptAt: number, errorCode: string): void {
    const row = this.#draft.get("outbox", clientMessageId);
    if (row === undefined) return;
    this.#update("outbox", clientMessageId, row, {
      attempts: (row.columns.attempts ?? 0) + 1,
      nextAttemptAt,
      lastError: errorCode,
    });
  }

  removeOutbox(clientMessageId: string): boolean {
    return this.#draft.delete("outbox", clientMessageId);
  }

  // ---- received messages
  insertReceived(message: ReceivedMessage): boolean {
    const { rowKey, key } = this.#handle("received", message.messageId);
    if (this.#draft.get("received", key) !== undefined) return false;
    const history = message.contentType !== RECEIPT_CONTENT;
    this.#put("received", key, rowKey, message, {
      seq: this.#draft.nextSequence("received"),
      shown: !history,
      unread: history,
      peer: history ? toHex(this.#blind("contacts", message.sender)) : null,
      at: message.receivedAt,
    });
    return true;
  }

  markShown(messageId: string, read: boolean): boolean {
    const { key } = this.#handle("received", messageId);
    const row = this.#draft.get("received", key);
    if (row === undefined || row.columns.shown === true) return false;
    this.#update("received", key, row, read ? { shown: true, unread: false } : { shown: true });
    return true;
  }

  listUnshown(limit = 1000): (ReceivedMessage & { readonly seq: number })[] {
    return this.#bySeq("received", (row) => row.columns.shown !== true)
      .slice(0, limit)
      .map(([, row]) => ({ seq: row.columns.seq ?? 0, ...this.#open("received", row) }));
  }

  hasReceived(messageId: string): boolean {
    return this.#draft.get("received", this.#handle("received", messageId).key) !== undefined;
  }

  listReceived(after = 0, limit = 1000): (ReceivedMessage & { readonly seq: number })[] {
    return this.#bySeq("received", (row) => (row.columns.seq ?? 0) > after)
      .slice(0, limit)
      .map(([, row]) => ({ seq: row.columns.seq ?? 0, ...this.#open("received", row) }));
  }

  // ---- sent messages
  #sent(clientMessageId: string, row: ImageRow): SentMessage {
    const sent = this.#open("sent", row);
    if (sent.clientMessageId !== clientMessageId)
      throw new NanoError("local_record_tampered", "a sent row holds another message id");
    return sent;
  }

  insertSent(message: SentMessage): void {
    if (this.#draft.get("sent", message.clientMessageId) !== undefined) return;
    this.#put("sent", message.clientMessageId, utf8(message.clientMessageId), message, {
      seq: this.#draft.nextSequence("sent"),
      peer: toHex(this.#blind("contacts", message.recipient)),
      at: message.sentAt,
    });
  }

  deleteSent(clientMessageId: string): boolean {
    return this.#draft.delete("sent", clientMessageId);
  }

  listPendingSent(): { readonly entry: OutboxEntry; readonly sent: SentMessage | null }[] {
    return this.#bySeq("outbox").map(([id, row]) => {
      const sent = this.#draft.get("sent", id);
      return { entry: this.#outboxEntry(id, row), sent: sent === undefined ? null : this.#sent(id, sent) };
    });
  }

  // ---- quarantine
  quarantine(message: QuarantinedMessage): boolean {
    const { rowKey, key } = this.#handle("quarantine", message.messageId);
    if (this.#draft.get("quarantine", key) !== undefined) return false;
    this.#put("quarantine", key, rowKey, message, {
      seq: this.#draft.nextSequence("quarantine"),
      at: message.quarantinedAt,
    });
    return true;
  }

  listQuarantine(): QuarantinedMessage[] {
    return this.#bySeq("quarantine").map(([, row]) => this.#open("quarantine", row));
  }

  countQuarantine(): number {
    return this.#count("quarantine");
  }

  removeQuarantined(messageId: string): boolean {
    return this.#draft.delete("quarantine", this.#handle("quarantine", messageId).key);
  }

  // ---- intents
  insertIntent(intent: IntentRecord): void {
    // SQLite's plain INSERT fails on a second intent with the same id: so does this.
    if (this.#draft.get("intents", intent.clientMessageId) !== undefined) {
      throw new NanoError("invalid_argument", "an intent with this client message id is already stored");
    }
    this.#put("intents", intent.clientMessageId, utf8(intent.clientMessageId), intent, {
      seq: this.#maxSeq("intents") + 1,
      attempts: 0,
      lastError: null,
    });
  }

  listIntents(): PendingIntent[] {
    return this.#bySeq("intents").map(([id, row]) => {
      const intent = this.#open("intents", row);
      if (intent.clientMessageId !== id)
        throw new NanoError("local_record_tampered", "an intent row holds another message id");
      return { ...intent, attempts: row.columns.attempts ?? 0, lastError: row.columns.lastError ?? null };
    });
  }

  countIntents(): number {
    return this.#count("intents");
  }

  recordIntentFailure(clientMessageId: string, errorCode: string): void {
    const row = this.#draft.get("intents", clientMessageId);
    if (row === undefined) return;
    this.#update("intents", clientMessageId, row, {
      attempts: (row.columns.attempts ?? 0) + 1,
      lastError: errorCode,
    });
  }

  removeIntent(clientMessageId: string): boolean {
    return this.#draft.delete("intents", clientMessageId);
  }

  // ---- history
  history(query: HistoryQuery): StoredHistoryEntry[] {
    const peer = query.peer === undefined ? null : toHex(this.#blind("contacts", query.peer));
    return this.#historyRows(peer, query.since ?? 0, query.limit)
      .filter((entry) => query.peer === undefined || peerOf(entry) === query.peer)
      .reverse();
  }

  /** SQLite's `UNION ALL ... ORDER BY at DESC, seq DESC LIMIT`: select on columns, then open. */
  #historyRows(peer: string | null, since: number, limit: number): StoredHistoryEntry[] {
    const selected = (row: ImageRow): boolean =>
      row.columns.peer != null &&
      (peer === null || row.columns.peer === peer) &&
      (row.columns.at ?? 0) >= since;
    const candidates = [
      ...[...this.#draft.entries("received")]
        .filter(([, row]) => selected(row))
        .map(([id, row]) => ({ in: true, id, row })),
      ...[...this.#draft.entries("sent")]
        .filter(([, row]) => selected(row))
        .map(([id, row]) => ({ in: false, id, row })),
    ].sort(
      (a, b) =>
        (b.row.columns.at ?? 0) - (a.row.columns.at ?? 0) ||
        (b.row.columns.seq ?? 0) - (a.row.columns.seq ?? 0),
    );
    return candidates.slice(0, Math.max(0, limit)).map(
      (candidate): StoredHistoryEntry =>
        candidate.in
          ? {
              direction: "in",
              message: this.#open("received", candidate.row),
              unread: candidate.row.columns.unread === true,
            }
          : { direction: "out", message: this.#sent(candidate.id, candidate.row) },
    );
  }

  /**
   * SQLite's GROUP BY peer (unread summed, newest first) with each group's newest row found in the same
   * pass — (at, seq) the largest, as `#historyRows(peer, 0, 1)` would pick it — so only that row is
   * opened, not every conversation's history sorted.
   */
  conversations(): StoredConversation[] {
    interface Group {
      unread: number;
      newest: { in: boolean; id: string; row: ImageRow };
    }
    const groups = new Map<string, Group>();
    const newer = (a: ImageRow, b: ImageRow): boolean =>
      (a.columns.at ?? 0) > (b.columns.at ?? 0) ||
      ((a.columns.at ?? 0) === (b.columns.at ?? 0) && (a.columns.seq ?? 0) > (b.columns.seq ?? 0));
    const add = (incoming: boolean, id: string, row: ImageRow): void => {
      const peer = row.columns.peer;
      if (peer == null) return;
      const unread = incoming && row.columns.unread === true ? 1 : 0;
      const group = groups.get(peer);
      if (group === undefined) groups.set(peer, { unread, newest: { in: incoming, id, row } });
      else {
        group.unread += unread;
        if (newer(row, group.newest.row)) group.newest = { in: incoming, id, row };
      }
    };
    for (const [id, row] of this.#draft.entries("received")) add(true, id, row);
    for (const [id, row] of this.#draft.entries("sent")) add(false, id, row);
    return [...groups.values()]
      .sort((a, b) => (b.newest.row.columns.at ?? 0) - (a.newest.row.columns.at ?? 0))
      .map((group) => {
        const { newest } = group;
        const last: StoredHistoryEntry = newest.in
          ? {
              direction: "in",
              message: this.#open("received", newest.row),
              unread: newest.row.columns.unread === true,
            }
          : { direction: "out", message: this.#sent(newest.id, newest.row) };
        return { peer: peerOf(last), last, unread: group.unread };
      });
  }

  markRead(peer: string): number {
    const blinded = toHex(this.#blind("contacts", peer));
    let marked = 0;
    for (const [key, row] of [...this.#draft.entries("received")]) {
      if (row.columns.peer !== blinded || row.columns.unread !== true) continue;
      this.#update("received", key, row, { unread: false });
      marked += 1;
    }
    return marked;
  }

  pruneHistory(before: number): number {
    let deleted = 0;
    for (const [key, row] of [...this.#draft.entries("received")]) {
      if (row.columns.shown === true && (row.columns.at ?? 0) < before)
        deleted += Number(this.#draft.delete("received", key));
    }
    for (const [key, row] of [...this.#draft.entries("sent")]) {
      if ((row.columns.at ?? 0) < before) deleted += Number(this.#draft.delete("sent", key));
    }
    return deleted;
  }

  // ---- meta
  putSecretMeta(name: string, value: Uint8Array): void {
    if (name === KEY_CHECK) throw new RangeError("reserved meta name");
    this.#put("meta", name, utf8(name), value);
  }

  getSecretMeta(name: string): Uint8Array | null {
    const row = this.#draft.get("meta", name);
    return row === undefined ? null : this.#open("meta", row);
  }

  deleteSecretMeta(name: string): void {
    if (name === KEY_CHECK) throw new RangeError("reserved meta name");
    this.#draft.delete("meta", name);
  }

  /** The key-check row of a new store (IdbLocalStore.open); refused through putSecretMeta. */
  putKeyCheck(): void {
    this.#put("meta", KEY_CHECK, utf8(KEY_CHECK), KEY_CHECK_PLAINTEXT);
  }
}
