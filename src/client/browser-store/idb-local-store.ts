import { copyBytes, equalBytes, fromHex, toHex, utf8 } from "../../crypto/bytes.ts";
import { NanoError } from "../../errors/index.ts";
import { decodeRecord } from "../local-store/local-records.ts";
import type { LocalStoreApi, LocalTables } from "../local-store/local-tables.ts";
import {
  BLIND_INDEX_LENGTH,
  blindIndexWith,
  deriveLocalKeysWith,
  type LocalKeys,
  openRowWith,
  type RowSealPrimitives,
  sealRowWith,
} from "../local-store/sealed-row-format.ts";
import {
  ANCHOR_ROW,
  ANCHOR_TABLE,
  decodeCounter,
  encodeCounter,
  rolledBack,
  STATE_COUNTER_META,
} from "../local-store/state-counter.ts";
import {
  ConnectionClosedError,
  indexedDbFactory,
  openDatabase,
  requestResult,
  transactionDone,
} from "./idb-requests.ts";
import { ImageTables, KEY_CHECK, KEY_CHECK_PLAINTEXT } from "./image-tables.ts";
import {
  Draft,
  type ImageRow,
  type RowChange,
  type RowColumns,
  RowRecord,
  StoreImage,
  TABLE_NAMES,
  TABLE_RECORD_KIND,
  type TableName,
} from "./store-image.ts";

/**
 * IndexedDB schema version of the store's database (its object stores are TABLE_NAMES). 2 added the
 * disappearing messages' expired_received and conversation_settings (the upgrade creates what is
 * missing; the expiry columns are optional values of the existing stores).
 */
export const IDB_SCHEMA_VERSION = 2;
/**
 * The schema version that added each object store. An upgrade from version N creates only the stores
 * added after N: a database at N that lacks one of N's own stores was damaged (deleted and made again
 * by other code of the origin) and must be refused as such, not quietly given empty tables.
 */
const TABLE_ADDED_IN: Readonly<Record<TableName, number>> = {
  meta: 1,
  contacts: 1,
  sessions: 1,
  replay_cache: 1,
  prekey_secrets: 1,
  outbox: 1,
  received: 1,
  sent: 1,
  intents: 1,
  quarantine: 1,
  expired_received: 2,
  conversation_settings: 2,
};
const ANCHOR_STORE = "anchor";
const ANCHOR_KEY = "state-version";
/** Blind indexes remembered; the memory starts over when full (as in the SQLite store). */
const BLIND_INDEX_CACHE_SIZE = 4096;
/** Tables whose IndexedDB key is a blind index (hex); the others are keyed by a name or message id. */
const BLIND_KEYED: ReadonlySet<TableName> = new Set([
  "contacts",
  "sessions",
  "replay_cache",
  "prekey_secrets",
  "received",
  "quarantine",
  "expired_received",
  "conversation_settings",
]);

export interface IdbLocalStoreOptions {
  /** The IndexedDB database's name (the anchor lives in `<name>.anchor`); one per identity. */
  readonly name: string;
  /** The local store key from the keystore contents (keystore-contents.ts). */
  readonly databaseKey: Uint8Array;
  /** HKDF, randomness and the AEAD: a CryptoProvider's `primitives` (createWebProvider in a page). */
  readonly primitives: RowSealPrimitives;
  /** The platform's by default. */
  readonly indexedDB?: IDBFactory;
  /**
   * The Web Locks manager that keeps a second tab from opening the same store (`navigator.locks` by
   * default); null only where there is none, and then only one page may open the store at a time.
   */
  readonly locks?: LockManager | null;
  /**
   * Removes what the store keeps of expired attachments outside its rows: the received files' locations
   * (an IdbAttachmentSink's `removeAll`), called after each sweep's commit. Best effort, as Node's file
   * removal: a failure must not keep the rows from going (a later `prune` catches what is left).
   */
  readonly removeFiles?: (locations: readonly string[]) => Promise<unknown>;
}

/** What one object store row holds: the sealed record (absent for the replay cache) and the columns. */
type StoredValue = RowColumns & { readonly record?: Uint8Array };

function anchorName(name: string): string {
  return `${name}.anchor`;
}

function versionTooNew(): NanoError {
  return new NanoError(
    "local_store_version_unsupported",
    `the browser's local store has a schema newer than this app's ${IDB_SCHEMA_VERSION}`,
  );
}

function tampered(message: string, cause?: unknown): NanoError {
  return new NanoError("local_record_tampered", message, cause === undefined ? undefined : { cause });
}

const NUMBER_COLUMNS = [
  "seq",
  "at",
  "updatedAt",
  "expiresAt",
  "forgetAt",
  "attempts",
  "nextAttemptAt",
] as const;

/** The clear columns of a stored value, type-checked (a wrong type is a tampered row, as in SQLite). */
function columnsOf(value: Record<string, unknown>): RowColumns {
  const columns: Record<string, unknown> = {};
  for (const name of NUMBER_COLUMNS) {
    if (!(name in value)) continue;
    if (typeof value[name] !== "number" || !Number.isSafeInteger(value[name]))
      throw tampered(`a ${name} column is not an integer`);
    columns[name] = value[name];
  }
  for (const name of ["shown", "unread"] as const) {
    if (!(name in value)) continue;
    if (typeof value[name] !== "boolean") throw tampered(`a ${name} column is not a boolean`);
    columns[name] = value[name];
  }
  for (const name of ["peer", "lastError"] as const) {
    if (!(name in value)) continue;
    if (value[name] !== null && typeof value[name] !== "string")
      throw tampered(`a ${name} column is not text`);
    columns[name] = value[name];
  }
  return columns as RowColumns;
}

function storedValue(row: ImageRow, sealed: Uint8Array | null): StoredValue {
  return sealed === null ? { ...row.columns } : { ...row.columns, record: sealed };
}

/**
 * The client's local store in the browser (docs/web.md "Browser storage"): the same tables, the same
 * sealed rows and the same transaction semantics as the SQLite LocalStore, over IndexedDB.
 *
 * IndexedDB is asynchronous and the tables are not, so the store keeps every row opened in memory (a
 * StoreImage, loaded and authenticated at open) and runs each work synchronously against a
 * copy-on-write draft of it. When the work returns, the rows it changed are sealed (asynchronously,
 * through the provider's AEAD, before any IndexedDB request: a transaction would commit itself across
 * that await) and written together with its deletions in ONE readwrite transaction with durability
 * "strict"; the draft becomes the image only on `complete`. A work that throws writes nothing and a
 * failed or aborted transaction leaves the image as it was, so memory never runs ahead of the disk.
 *
 * Works run one at a time in call order (no group commit: each transaction commits alone). One tab
 * only: a Web Lock held from open to close refuses a second page (`local_store_busy`), since two images
 * of one store would each overwrite the other's sessions.
 */
export class IdbLocalStore implements LocalStoreApi {
  readonly #name: string;
  readonly #database: IDBDatabase;
  readonly #anchorDatabase: IDBDatabase;
  readonly #keys: LocalKeys;
  readonly #primitives: RowSealPrimitives;
  readonly #image = new StoreImage();
  readonly #blinded = new Map<string, Uint8Array>();
  readonly #releaseLock: () => void;
  readonly #removeFiles: ((locations: readonly string[]) => Promise<unknown>) | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  /** True while a work's synchronous part runs: a store call made then would wait for itself. */
  #inWork = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  #anchored = 0;
  #anchoring: Promise<void> | null = null;
  #anchorDue = false;

  private constructor(
    name: string,
    database: IDBDatabase,
    anchorDatabase: IDBDatabase,
    keys: LocalKeys,
    primitives: RowSealPrimitives,
    releaseLock: () => void,
    removeFiles: ((locations: readonly string[]) => Promise<unknown>) | undefined,
  ) {
    this.#removeFiles = removeFiles;
    this.#name = name;
    this.#database = database;
    this.#anchorDatabase = anchorDatabase;
    this.#keys = keys;
    this.#primitives = primitives;
    this.#releaseLock = releaseLock;
  }

  /**
   * Opens (creating if needed) the store `name` under `databaseKey`: every row is read and opened
   * now; a row that does not authenticate is kept as broken and throws `local_record_tampered` when a
   * work reads it. Refused: a store sealed under another key (`local_record_tampered`), one older than
   * its anchor (`local_state_rolled_back`), a newer schema, a second tab (`local_store_busy`).
   */
  static async open(options: IdbLocalStoreOptions): Promise<IdbLocalStore> {
    const factory = indexedDbFactory(options.indexedDB);
    const releaseLock = await acquireStoreLock(options.name, options.locks);
    const keys = deriveLocalKeysWith(options.primitives.hkdf, copyBytes(options.databaseKey));
    let database: IDBDatabase | undefined;
    let anchorDatabase: IDBDatabase | undefined;
    try {
      database = await openDatabase(
        factory,
        options.name,
        IDB_SCHEMA_VERSION,
        (db, oldVersion) => {
          for (const table of TABLE_NAMES)
            if (TABLE_ADDED_IN[table] > oldVersion && !db.objectStoreNames.contains(table))
              db.createObjectStore(table);
        },
        versionTooNew,
      );
      anchorDatabase = await openDatabase(
        factory,
        anchorName(options.name),
        1,
        (db) => {
          if (!db.objectStoreNames.contains(ANCHOR_STORE)) db.createObjectStore(ANCHOR_STORE);
        },
        versionTooNew,
      );
      requireObjectStores(database, TABLE_NAMES);
      requireObjectStores(anchorDatabase, [ANCHOR_STORE]);
      const store = new IdbLocalStore(
        options.name,
        database,
        anchorDatabase,
        keys,
        options.primitives,
        releaseLock,
        options.removeFiles,
      );
      await store.#load();
      await store.#checkKey();
      // As the SQLite store: what came due while no page had the store open goes before anything reads
      // it (docs/client.md "Disappearing messages"), in one transaction. A commit that fails (a full
      // quota) does not lock the user out: the due rows stay out of view by their sealed deadlines,
      // and closing or the next open sweeps again.
      await store.sweepExpired().catch((error: unknown) => {
        if (!NanoError.is(error, "browser_storage_unavailable")) throw error;
      });
      const anchor = await store.#readAnchor();
      const counter = await store.read((tables) => tables.stateVersion());
      if (anchor !== null && counter < anchor) throw rolledBack(counter, anchor);
      store.#anchored = anchor ?? 0;
      return store;
    } catch (error) {
      database?.close();
      anchorDatabase?.close();
      keys.recordKey.fill(0);
      keys.indexKey.fill(0);
      releaseLock();
      throw error;
    }
  }

  /**
   * Deletes the store `name` and its anchor (an account deleted in the app). Close the store first: an
   * open one's connection closes itself when asked (versionchange), and its later commits then fail
   * with `browser_storage_unavailable`.
   */
  static async destroy(name: string, indexedDB?: IDBFactory): Promise<void> {
    const factory = indexedDbFactory(indexedDB);
    await requestResult(factory.deleteDatabase(name));
    await requestResult(factory.deleteDatabase(anchorName(name)));
  }

  /** The store's name (its IndexedDB database). */
  get name(): string {
    return this.#name;
  }

  transaction<T>(work: (tables: LocalTables) => T | Promise<T>): Promise<T> {
    return this.#enqueue(work, "strict");
  }

  /** One operation; if it writes, that is one durable transaction like `transaction`. */
  read<T>(work: (tables: LocalTables) => T): Promise<T> {
    return this.#enqueue(work, "strict");
  }

  /** Committed with durability "relaxed": the browser may report it before it reached the disk. */
  relaxed<T>(work: (tables: LocalTables) => T): Promise<T> {
    return this.#enqueue(work, "relaxed");
  }

  /**
   * Deletes the messages whose timer ran out by `now` in one IndexedDB transaction, then their received
   * files through `removeFiles` (best effort); returns how many rows went.
   */
  async sweepExpired(now = Date.now()): Promise<number> {
    const swept = await this.transaction((tables) => tables.sweepExpired(now));
    if (swept.files.length > 0 && this.#removeFiles !== undefined)
      await this.#removeFiles(swept.files).catch(() => {});
    return swept.deleted;
  }

  nextExpiry(): Promise<number | null> {
    return this.read((tables) => tables.nextExpiry());
  }

  /**
   * Every call returns the one closing (a second caller must not close the connections again). Works
   * queued before it still run and commit; one asked for from the moment close is called is refused.
   */
  close(): Promise<void> {
    if (this.#closing === null) {
      this.#closed = true;
      this.#closing = this.#close();
    }
    return this.#closing;
  }

  async #close(): Promise<void> {
    // What came due while the page had the store open goes now, after the queued works and in one
    // transaction (best effort: the next open sweeps). Scheduled past the closed check: the store
    // refuses every other work from here on.
    const now = Date.now();
    await this.#schedule((tables) => {
      const next = tables.nextExpiry();
      return next !== null && next <= now ? tables.sweepExpired(now).deleted : 0;
    }, "strict").catch(() => 0);
    await this.#tail.catch(() => {});
    this.#anchorDue = false;
    await this.#anchoring;
    try {
      // Every commit is complete: the anchor may move up to the committed counter (see #raiseAnchor).
      await this.#writeAnchor(this.#committedCounter()).catch(() => {});
    } finally {
      this.#database.close();
      this.#anchorDatabase.close();
      this.#image.wipe();
      this.#blinded.clear();
      this.#keys.recordKey.fill(0);
      this.#keys.indexKey.fill(0);
      this.#releaseLock();
    }
  }

  #enqueue<T>(
    work: (tables: LocalTables) => T | Promise<T>,
    durability: IDBTransactionDurability,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("local store is closed"));
    if (this.#inWork) {
      // As the SQLite store refuses it. Only a call from the work's synchronous part is seen here (a
      // page has no AsyncLocalStorage); one made after the work's first await waits forever.
      return Promise.reject(
        new Error(
          "a local store operation was started inside another one's work; use the tables it was given",
        ),
      );
    }
    return this.#schedule(work, durability);
  }

  /** Queues a work after every one before it (the closed and re-entrancy checks are the caller's). */
  #schedule<T>(
    work: (tables: LocalTables) => T | Promise<T>,
    durability: IDBTransactionDurability,
  ): Promise<T> {
    const run = this.#tail.then(() => this.#run(work, durability));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #run<T>(
    work: (tables: LocalTables) => T | Promise<T>,
    durability: IDBTransactionDurability,
  ): Promise<T> {
    const draft = new Draft(this.#image);
    const tables = new ImageTables(draft, (table, value) => this.#blind(table, value));
    let result: T;
    try {
      let pending: T | Promise<T>;
      this.#inWork = true;
      try {
        pending = work(tables);
      } finally {
        this.#inWork = false;
      }
      result = await pending;
    } finally {
      draft.finish();
    }
    if (!draft.empty) {
      await this.#commit(draft, durability);
      if (tables.counterRaised) this.#raiseAnchor();
    }
    return result;
  }

  /** Seals the draft's new rows, writes them and its deletions in one transaction, then publishes. */
  async #commit(draft: Draft, durability: IDBTransactionDurability): Promise<void> {
    const changes = draft.changes();
    const sealed = new Map<RowChange, Uint8Array>();
    try {
      await Promise.all(
        changes.map(async (change) => {
          const row = change.row;
          if (row === null || row.sealed !== null || row.encoded === undefined) return;
          if (TABLE_RECORD_KIND[change.table] === "none") return;
          sealed.set(
            change,
            await sealRowWith(this.#primitives, this.#keys, change.table, row.rowKey, row.encoded),
          );
        }),
      );
    } finally {
      for (const change of changes) change.row?.encoded?.fill(0);
    }
    const tables = [...new Set(changes.map((change) => change.table))];
    try {
      const transaction = this.#database.transaction(tables, "readwrite", { durability });
      const done = transactionDone(transaction);
      try {
        for (const change of changes) {
          const objectStore = transaction.objectStore(change.table);
          if (change.row === null) objectStore.delete(change.key);
          else objectStore.put(storedValue(change.row, sealed.get(change) ?? change.row.sealed), change.key);
        }
      } catch (error) {
        // A request that throws as it is made (a value the browser cannot clone, a closed connection)
        // must not let the requests before it commit on their own: all of the work, or none of it.
        transaction.abort();
        await done.catch(() => {});
        throw error;
      }
      await done;
    } catch (cause) {
      throw new NanoError("browser_storage_unavailable", commitFailure(cause), { cause });
    }
    draft.publish(changes, sealed);
  }

  #blind(table: string, value: Uint8Array | string): Uint8Array {
    const key = `${table}\0${typeof value === "string" ? `s${value}` : `b${toHex(value)}`}`;
    let index = this.#blinded.get(key);
    if (index === undefined) {
      index = blindIndexWith(this.#primitives.hkdf, this.#keys, table, value);
      if (this.#blinded.size >= BLIND_INDEX_CACHE_SIZE) this.#blinded.clear();
      this.#blinded.set(key, index);
    }
    return index;
  }

  /** Reads every object store in one readonly transaction and opens every row. */
  async #load(): Promise<void> {
    const transaction = this.#database.transaction([...TABLE_NAMES], "readonly");
    const reads = TABLE_NAMES.map((table) => {
      const objectStore = transaction.objectStore(table);
      return Promise.all([requestResult(objectStore.getAllKeys()), requestResult(objectStore.getAll())]);
    });
    const loaded = await Promise.all(reads);
    await Promise.all(
      TABLE_NAMES.map(async (table, index) => {
        const [keys, values] = loaded[index]!;
        const rows = this.#image.rows(table);
        let highest = 0;
        await Promise.all(
          keys.map(async (key, position) => {
            if (typeof key !== "string") return; // not a key this store writes: never read
            const row = await this.#openStored(table, key, values[position]);
            highest = Math.max(highest, row.columns.seq ?? 0);
            rows.set(key, row);
          }),
        );
        this.#image.sequences.set(table, highest);
      }),
    );
  }

  /** One stored row, opened; a row that fails any check is kept as broken, never dropped silently. */
  async #openStored(table: TableName, key: string, value: unknown): Promise<ImageRow> {
    const rowKey = BLIND_KEYED.has(table) ? blindKey(key) : utf8(key);
    // The clear columns still select a broken row (as SQLite selects it and fails to open it), so a
    // listing that would have shown it throws instead of leaving it out silently.
    let columns: RowColumns = {};
    // A broken row keeps the bytes it is stored with: a column update (markShown, a retry counter)
    // writes them back as they are, as SQLite's UPDATE of a clear column does, not a row without them.
    let storedBytes: Uint8Array | null = null;
    try {
      if (rowKey === null) throw tampered(`a row key of ${table} is not a blind index`);
      if (value === null || typeof value !== "object") throw tampered(`a row of ${table} is not a record`);
      const stored = value as Record<string, unknown>;
      columns = columnsOf(stored);
      const kind = TABLE_RECORD_KIND[table];
      if (kind === "none") return { rowKey, columns, record: RowRecord.decoded(null), sealed: null };
      const sealed = stored.record;
      if (!(sealed instanceof Uint8Array)) throw tampered(`a sealed column of ${table} is not bytes`);
      storedBytes = sealed;
      const plain = await openRowWith(this.#primitives, this.#keys, table, rowKey, sealed);
      const record =
        kind === "raw"
          ? RowRecord.decoded(plain)
          : RowRecord.pending(plain, (bytes) => decodeRecord(kind, bytes));
      return { rowKey, columns, record: record as ImageRow["record"], sealed };
    } catch (error) {
      const broken = error instanceof NanoError ? error : tampered(`a row of ${table} cannot be read`, error);
      return { rowKey: rowKey ?? new Uint8Array(0), columns, broken, sealed: storedBytes };
    }
  }

  /**
   * A new store gets its key-check row; an existing one must open it under this key. A store that
   * holds rows but no key-check had it deleted: it is refused, not taken as new — writing a key-check
   * under whatever key this open was given (another identity's keystore) would make the store refuse
   * its own key from then on.
   */
  async #checkKey(): Promise<void> {
    const row = this.#image.rows("meta").get(KEY_CHECK);
    if (row === undefined) {
      if ([...this.#image.tables.values()].some((rows) => rows.size > 0)) {
        throw tampered("the local store holds rows but not its key-check row: it was deleted");
      }
      const draft = new Draft(this.#image);
      new ImageTables(draft, (table, value) => this.#blind(table, value)).putKeyCheck();
      await this.#commit(draft, "strict");
      return;
    }
    if (row.broken !== undefined || !equalBytes(row.record?.value() as Uint8Array, KEY_CHECK_PLAINTEXT)) {
      throw tampered(
        "the local store was sealed under another key (a keystore from another identity?)",
        row.broken,
      );
    }
  }

  /** The counter as committed (the image holds only committed rows between works). */
  #committedCounter(): number {
    const row = this.#image.rows("meta").get(STATE_COUNTER_META);
    const value = row?.record?.value();
    return value instanceof Uint8Array ? decodeCounter(value) : 0;
  }

  async #readAnchor(): Promise<number | null> {
    const transaction = this.#anchorDatabase.transaction(ANCHOR_STORE, "readonly");
    const sealed = await requestResult(transaction.objectStore(ANCHOR_STORE).get(ANCHOR_KEY));
    if (sealed === undefined) return null;
    if (!(sealed instanceof Uint8Array)) throw tampered("the local state anchor is not bytes");
    return decodeCounter(await openRowWith(this.#primitives, this.#keys, ANCHOR_TABLE, ANCHOR_ROW, sealed));
  }

  async #writeAnchor(counter: number): Promise<void> {
    if (counter <= this.#anchored) return;
    const sealed = await sealRowWith(
      this.#primitives,
      this.#keys,
      ANCHOR_TABLE,
      ANCHOR_ROW,
      encodeCounter(counter),
    );
    const transaction = this.#anchorDatabase.transaction(ANCHOR_STORE, "readwrite", { durability: "strict" });
    const done = transactionDone(transaction);
    transaction.objectStore(ANCHOR_STORE).put(sealed, ANCHOR_KEY);
    await done;
    this.#anchored = counter;
  }

  /**
   * Moves the anchor up to the committed counter after a commit that raised it, one write at a time
   * (requests meanwhile coalesce), as the SQLite store does: it trails the store by at most the write
   * in flight, and never runs ahead of it (only published, i.e. committed, counters are anchored).
   */
  #raiseAnchor(): void {
    this.#anchorDue = true;
    if (this.#anchoring !== null) return;
    this.#anchoring = (async () => {
      while (this.#anchorDue) {
        this.#anchorDue = false;
        await this.#writeAnchor(this.#committedCounter());
      }
    })()
      // A failed write keeps the lower anchor: less strict, never wrong.
      .catch(() => {})
      .finally(() => {
        this.#anchoring = null;
      });
  }
}

/** What a failed commit's error says: whether it is known that nothing of it was written. */
function commitFailure(cause: unknown): string {
  if (cause instanceof ConnectionClosedError) {
    // Memory keeps the state before this commit; the disk has that state or this commit's, whole.
    return "the browser closed the local store's database during a commit (site data cleared, or a storage failure): the commit is on disk whole or not at all; open the store again to see which";
  }
  if (cause instanceof DOMException && cause.name === "QuotaExceededError")
    return "the browser's storage quota is full: nothing of this transaction was written";
  return "an IndexedDB commit failed: nothing of it was written";
}

/**
 * A database at this schema's version lacks an object store only when it was deleted and made again
 * by other code of the origin (a script, another app on the same origin): a typed refusal instead of
 * the NotFoundError a transaction over it would throw.
 */
function requireObjectStores(database: IDBDatabase, names: readonly string[]): void {
  const missing = names.filter((name) => !database.objectStoreNames.contains(name));
  if (missing.length > 0) {
    throw new NanoError(
      "local_store_damaged",
      `the browser's local store database ${database.name} lacks its object stores ${missing.join(", ")}`,
    );
  }
}

function blindKey(key: string): Uint8Array | null {
  if (key.length !== BLIND_INDEX_LENGTH * 2 || !/^[0-9a-f]+$/.test(key)) return null;
  return fromHex(key);
}

/**
 * Takes the store's Web Lock for as long as it is open; `local_store_busy` when another page holds it.
 * Returns the release.
 */
async function acquireStoreLock(name: string, locks: LockManager | null | undefined): Promise<() => void> {
  const manager =
    locks === undefined
      ? ((globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks ?? null)
      : locks;
  if (manager === null) return () => {};
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const granted = await new Promise<boolean>((resolve, reject) => {
    manager
      .request(`nano-local-store:${name}`, { mode: "exclusive", ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock === null ? undefined : held;
      })
      .catch(reject);
  });
  if (!granted) throw new NanoError("local_store_busy", "another tab has this local store open");
  return release;
}
