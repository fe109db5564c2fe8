import type { NanoError } from "../../errors/index.ts";
import type {
  ContactRecord,
  IntentRecord,
  PrekeySecretRecord,
  QuarantinedMessage,
  ReceivedMessage,
  RecordKind,
  SentMessage,
  SessionRecord,
} from "../local-store/local-records.ts";

/**
 * The IndexedDB store's memory: every row of the store, opened, plus the bytes it is stored as. The
 * tables (image-tables.ts) run a transaction's work synchronously against a `Draft` of it — a
 * copy-on-write view that records the rows the work put or deleted — and the store publishes the draft
 * into the image only after IndexedDB reported the commit complete. A work that throws, or a commit
 * that fails, drops its draft: the image is exactly what is on disk.
 *
 * The object stores and their clear columns mirror the SQLite schema (local-schema.ts): only blind
 * indexes, client message ids, times, sequence numbers and retry counters are in the clear; every
 * record is sealed in the same format (sealed-row-format.ts).
 */
export const TABLE_NAMES = Object.freeze([
  "meta",
  "contacts",
  "sessions",
  "replay_cache",
  "prekey_secrets",
  "outbox",
  "received",
  "sent",
  "intents",
  "quarantine",
] as const);
export type TableName = (typeof TABLE_NAMES)[number];

/** The outbox's sealed part (its retry bookkeeping is in the clear). */
export interface OutboxPayload {
  readonly recipient: string;
  readonly envelope: Uint8Array;
  readonly createdAt: number;
}

/** What each table's sealed record holds once opened; the replay cache seals nothing. */
export interface TableRecords {
  meta: Uint8Array;
  contacts: ContactRecord;
  sessions: SessionRecord;
  replay_cache: null;
  prekey_secrets: PrekeySecretRecord;
  outbox: OutboxPayload;
  received: ReceivedMessage;
  sent: SentMessage;
  intents: IntentRecord;
  quarantine: QuarantinedMessage;
}

/** The record encoding (local-records.ts) of each table; meta values are sealed as they are. */
export const TABLE_RECORD_KIND: Readonly<Record<TableName, RecordKind | "raw" | "none">> = Object.freeze({
  meta: "raw",
  contacts: "contact",
  sessions: "session",
  replay_cache: "none",
  prekey_secrets: "prekey",
  outbox: "outbox",
  received: "received",
  sent: "sent",
  intents: "intent",
  quarantine: "quarantined",
});

/**
 * The clear columns, as in the SQLite schema. Blind indexes are kept as hex strings (`peer`). Which
 * are set depends on the table: sessions (peer, updatedAt), replay_cache (expiresAt), outbox (seq,
 * attempts, nextAttemptAt, lastError), received (seq, shown, unread, peer|null, at), sent (seq, peer,
 * at), intents (seq, attempts, lastError), quarantine (seq, at).
 */
export interface RowColumns {
  readonly seq?: number;
  readonly peer?: string | null;
  readonly at?: number;
  readonly updatedAt?: number;
  readonly expiresAt?: number;
  readonly attempts?: number;
  readonly nextAttemptAt?: number;
  readonly lastError?: string | null;
  readonly shown?: boolean;
  readonly unread?: boolean;
}

/**
 * A row's record. Rows written in this session hold it decoded; rows loaded at open hold the opened
 * (authenticated) plaintext and decode it on first read: decoding — JSON, base64 and the schema — was
 * most of the time an open took (bench/browser-storage.ts: 1,000 messages reopened in about a third of
 * the time without it), and a session reads a small part of its history. A plaintext that does not
 * decode throws `local_record_tampered` on every read, as SQLite throws when it opens such a row.
 */
export class RowRecord<T = unknown> {
  #plain: Uint8Array | null;
  #value: T | undefined;
  #error: unknown;
  readonly #decode: ((plain: Uint8Array) => T) | null;

  private constructor(
    plain: Uint8Array | null,
    value: T | undefined,
    decode: ((plain: Uint8Array) => T) | null,
  ) {
    this.#plain = plain;
    this.#value = value;
    this.#decode = decode;
  }

  static decoded<T>(value: T): RowRecord<T> {
    return new RowRecord<T>(null, value, null);
  }

  static pending<T>(plain: Uint8Array, decode: (plain: Uint8Array) => T): RowRecord<T> {
    return new RowRecord<T>(plain, undefined, decode);
  }

  /** The decoded record (the image's own: callers copy it before it leaves the store). */
  value(): T {
    if (this.#error !== undefined) throw this.#error;
    if (this.#plain !== null && this.#decode !== null) {
      try {
        this.#value = this.#decode(this.#plain);
      } catch (error) {
        this.#error = error;
        throw error;
      } finally {
        this.#plain.fill(0);
        this.#plain = null;
      }
    }
    return this.#value as T;
  }

  /** Zeroes every byte it holds (its row was deleted or replaced, or the store is closing). */
  wipe(): void {
    this.#plain?.fill(0);
    this.#plain = null;
    zeroBytes(this.#value);
  }
}

/** One row. Immutable but for its record's decoding: a change is a new row object in a draft. */
export interface ImageRow<K extends TableName = TableName> {
  /** The row key bound into the seal's associated data (a blind index, a message id's UTF-8, a name). */
  readonly rowKey: Uint8Array;
  readonly columns: RowColumns;
  /** The opened record; absent when the stored bytes did not open (`broken`). */
  readonly record?: RowRecord<TableRecords[K]>;
  /** Why the stored row is unusable: thrown when a work reads it, as the SQLite store throws on open. */
  readonly broken?: NanoError;
  /**
   * The stored sealed bytes (a broken row's too, so that a column update writes them back unchanged);
   * null while the record is new or changed and not sealed yet.
   */
  readonly sealed: Uint8Array | null;
  /** The record's encoding, kept only until the commit seals it. */
  readonly encoded?: Uint8Array;
}

export type TableRows = Map<string, ImageRow>;

/** Every table's rows by their IndexedDB key, and the highest sequence number each table used. */
export class StoreImage {
  readonly tables: ReadonlyMap<TableName, TableRows>;
  readonly sequences = new Map<TableName, number>();

  constructor() {
    this.tables = new Map(TABLE_NAMES.map((name) => [name, new Map()]));
  }

  rows(table: TableName): TableRows {
    return this.tables.get(table)!;
  }

  /** Zeroes every byte field the image holds (the store is closing). */
  wipe(): void {
    for (const rows of this.tables.values()) {
      for (const row of rows.values()) row.record?.wipe();
      rows.clear();
    }
  }
}

/** One change a draft makes: the new row, or null for a deletion. */
export type RowChange = { readonly table: TableName; readonly key: string; readonly row: ImageRow | null };

/**
 * A transaction's view: reads see the draft's own changes over the image; writes go to the draft only.
 * Once its work has settled the draft is finished and refuses every read and write: a write then
 * (through tables the work kept, or from a task it left running) would belong to no transaction —
 * lost without a word, or, made while the commit seals, in the draft but not in what is written.
 */
export class Draft {
  readonly #image: StoreImage;
  readonly #changes = new Map<TableName, Map<string, ImageRow | null>>();
  readonly #sequences = new Map<TableName, number>();
  #finished = false;

  constructor(image: StoreImage) {
    this.#image = image;
  }

  /** The work settled: from now on only the commit reads the draft (changes, publish). */
  finish(): void {
    this.#finished = true;
  }

  #usable(): void {
    if (this.#finished) {
      throw new Error(
        "the tables of a finished local store transaction were used: a work must make all of its reads and writes before it settles",
      );
    }
  }

  get(table: TableName, key: string): ImageRow | undefined {
    this.#usable();
    const changed = this.#changes.get(table);
    if (changed?.has(key)) return changed.get(key) ?? undefined;
    return this.#image.rows(table).get(key);
  }

  put(table: TableName, key: string, row: ImageRow): void {
    this.#usable();
    this.#tableChanges(table).set(key, row);
  }

  delete(table: TableName, key: string): boolean {
    this.#usable();
    const existed = this.get(table, key) !== undefined;
    if (existed) this.#tableChanges(table).set(key, null);
    return existed;
  }

  /** Every row of `table` as the draft sees it, as [key, row] pairs (in no particular order). */
  *entries(table: TableName): Generator<[string, ImageRow]> {
    this.#usable();
    const changed = this.#changes.get(table);
    for (const [key, row] of this.#image.rows(table)) {
      if (changed?.has(key)) continue;
      yield [key, row];
    }
    if (changed === undefined) return;
    for (const [key, row] of changed) if (row !== null) yield [key, row];
  }

  /** The next sequence number of an AUTOINCREMENT-like table (never one the image handed out). */
  nextSequence(table: TableName): number {
    this.#usable();
    const next = (this.#sequences.get(table) ?? this.#image.sequences.get(table) ?? 0) + 1;
    this.#sequences.set(table, next);
    return next;
  }

  get empty(): boolean {
    return this.#changes.size === 0;
  }

  changes(): RowChange[] {
    const out: RowChange[] = [];
    for (const [table, rows] of this.#changes) for (const [key, row] of rows) out.push({ table, key, row });
    return out;
  }

  /**
   * After the commit completed: the image becomes what was written. `changes` are the objects
   * `changes()` returned for the commit, `sealed` the bytes each new or changed record was sealed to.
   */
  publish(changes: readonly RowChange[], sealed: ReadonlyMap<RowChange, Uint8Array>): void {
    for (const change of changes) {
      const rows = this.#image.rows(change.table);
      const previous = rows.get(change.key);
      if (change.row === null) {
        rows.delete(change.key);
        // A deleted row's secrets do not outlive it in memory (a consumed prekey, an old session).
        previous?.record?.wipe();
        continue;
      }
      const { encoded: _plain, ...row } = change.row;
      rows.set(change.key, { ...row, sealed: sealed.get(change) ?? row.sealed });
      if (previous !== undefined && previous.record !== row.record) previous.record?.wipe();
    }
    for (const [table, value] of this.#sequences) this.#image.sequences.set(table, value);
  }

  #tableChanges(table: TableName): Map<string, ImageRow | null> {
    let rows = this.#changes.get(table);
    if (rows === undefined) {
      rows = new Map();
      this.#changes.set(table, rows);
    }
    return rows;
  }
}

export function zeroBytes(value: unknown): void {
  if (value instanceof Uint8Array) value.fill(0);
  else if (value !== null && typeof value === "object")
    for (const inner of Object.values(value)) zeroBytes(inner);
}
