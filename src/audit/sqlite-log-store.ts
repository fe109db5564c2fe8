/**
 * MerkleLogStore over node:sqlite. One database can hold several logs (the audit log and the key
 * transparency log) told apart by `log_id`. The DDL is exported so the relay's migration system can
 * adopt it verbatim; `SqliteLogStore` applies it itself (idempotently) when it opens a database.
 *
 * Durability: WAL with synchronous=FULL, and each append is one IMMEDIATE transaction, so an append
 * acknowledged to the caller survives a power cut and a crashed append leaves nothing behind.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { NanoError } from "../errors/index.ts";
import type { LogAppendBatch, MerkleLogStore, StoredEntry, SubtreeNode } from "./log-store.ts";

/**
 * Tables in creation order. STRICT so a tampered or buggy writer cannot store text where a hash
 * belongs; the CHECKs mirror the invariants the log relies on.
 */
export const MERKLE_LOG_SQLITE_DDL: readonly string[] = Object.freeze([
  `CREATE TABLE IF NOT EXISTS merkle_log_head (
  log_id TEXT PRIMARY KEY NOT NULL,
  tree_size INTEGER NOT NULL CHECK (tree_size >= 0)
) STRICT`,
  `CREATE TABLE IF NOT EXISTS merkle_log_entries (
  log_id TEXT NOT NULL,
  idx INTEGER NOT NULL CHECK (idx >= 0),
  data BLOB NOT NULL,
  PRIMARY KEY (log_id, idx)
) STRICT`,
  `CREATE TABLE IF NOT EXISTS merkle_log_nodes (
  log_id TEXT NOT NULL,
  level INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
  idx INTEGER NOT NULL CHECK (idx >= 0),
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (log_id, level, idx)
) STRICT, WITHOUT ROWID`,
]);

/** Pragmas for a database this store opens itself; a shared database is the relay's to configure. */
export const MERKLE_LOG_SQLITE_PRAGMAS: readonly string[] = Object.freeze([
  "PRAGMA journal_mode = WAL",
  "PRAGMA synchronous = FULL",
  "PRAGMA busy_timeout = 5000",
  // 32 MiB of page cache: proofs touch the upper B-tree pages of the node table over and over.
  "PRAGMA cache_size = -32768",
]);

export interface SqliteLogStoreOptions {
  /** Which log in the database; defaults to "audit". */
  readonly logId?: string;
}

interface Statements {
  readonly size: StatementSync;
  readonly insertHead: StatementSync;
  readonly updateHead: StatementSync;
  readonly insertEntry: StatementSync;
  readonly insertNode: StatementSync;
  readonly entry: StatementSync;
  readonly entries: StatementSync;
  readonly node: StatementSync;
  readonly nodes: StatementSync;
}

function asBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new NanoError("log_store_inconsistent", "the store holds a non-blob value where bytes belong");
  return value;
}

export class SqliteLogStore implements MerkleLogStore {
  readonly logId: string;
  readonly #db: DatabaseSync;
  readonly #owned: boolean;
  readonly #sql: Statements;

  /** Opens (and creates) the database at `path`, or uses an already open `DatabaseSync`. */
  constructor(database: string | DatabaseSync, options: SqliteLogStoreOptions = {}) {
    this.logId = options.logId ?? "audit";
    this.#owned = typeof database === "string";
    this.#db = typeof database === "string" ? new DatabaseSync(database) : database;
    if (this.#owned) for (const pragma of MERKLE_LOG_SQLITE_PRAGMAS) this.#db.exec(pragma);
    for (const ddl of MERKLE_LOG_SQLITE_DDL) this.#db.exec(ddl);
    const db = this.#db;
    this.#sql = {
      size: db.prepare("SELECT tree_size FROM merkle_log_head WHERE log_id = ?"),
      insertHead: db.prepare("INSERT OR IGNORE INTO merkle_log_head (log_id, tree_size) VALUES (?, 0)"),
      updateHead: db.prepare("UPDATE merkle_log_head SET tree_size = ? WHERE log_id = ?"),
      insertEntry: db.prepare("INSERT INTO merkle_log_entries (log_id, idx, data) VALUES (?, ?, ?)"),
      insertNode: db.prepare("INSERT INTO merkle_log_nodes (log_id, level, idx, hash) VALUES (?, ?, ?, ?)"),
      entry: db.prepare("SELECT data FROM merkle_log_entries WHERE log_id = ? AND idx = ?"),
      entries: db.prepare(
        "SELECT idx, data FROM merkle_log_entries WHERE log_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
      ),
      node: db.prepare("SELECT hash FROM merkle_log_nodes WHERE log_id = ? AND level = ? AND idx = ?"),
      nodes: db.prepare(
        "SELECT idx, hash FROM merkle_log_nodes WHERE log_id = ? AND level = ? AND idx >= ? AND idx < ? ORDER BY idx",
      ),
    };
  }

  #size(): number {
    const row = this.#sql.size.get(this.logId);
    if (row === undefined) return 0;
    const size = row.tree_size;
    if (typeof size !== "number")
      throw new NanoError("log_store_inconsistent", "the stored tree size is not an integer");
    return size;
  }

  async size(): Promise<number> {
    return this.#size();
  }

  /** The size, synchronously: for appends inside a caller's synchronous transaction. */
  sizeSync(): number {
    return this.#size();
  }

  /** A stored subtree hash, synchronously. */
  nodeSync(level: number, index: number): Uint8Array | undefined {
    const row = this.#sql.node.get(this.logId, level, index);
    return row === undefined ? undefined : asBytes(row.hash);
  }

  async append(batch: LogAppendBatch): Promise<void> {
    this.appendSync(batch);
  }

  /**
   * `append` without the promise: the relay's group commit runs its writes synchronously inside one
   * transaction, so a log entry must be written there, with the change it records.
   */
  appendSync(batch: LogAppendBatch): void {
    const db = this.#db;
    // Inside the relay's own transaction (an audit event logged with the change it records) the
    // append nests as a savepoint and commits with it; otherwise it is its own IMMEDIATE transaction,
    // taking the write lock before reading the size so two processes cannot both append at one size.
    const nested = db.isTransaction;
    db.exec(nested ? "SAVEPOINT merkle_log_append" : "BEGIN IMMEDIATE");
    try {
      const size = this.#size();
      if (batch.start !== size)
        throw new NanoError(
          "log_append_conflict",
          `append expected size ${batch.start} but the store holds ${size}`,
        );
      this.#sql.insertHead.run(this.logId);
      for (const [offset, data] of batch.entries.entries())
        this.#sql.insertEntry.run(this.logId, batch.start + offset, data);
      for (const node of batch.nodes) this.#sql.insertNode.run(this.logId, node.level, node.index, node.hash);
      this.#sql.updateHead.run(batch.start + batch.entries.length, this.logId);
      db.exec(nested ? "RELEASE merkle_log_append" : "COMMIT");
    } catch (error) {
      db.exec(nested ? "ROLLBACK TO merkle_log_append; RELEASE merkle_log_append" : "ROLLBACK");
      if (error instanceof NanoError) throw error;
      // A primary-key clash means rows exist beyond the recorded size: the store was edited.
      throw new NanoError(
        "log_store_inconsistent",
        "the store rejected the append; it holds rows beyond its size",
        { cause: error },
      );
    }
  }

  async entry(index: number): Promise<Uint8Array | undefined> {
    const row = this.#sql.entry.get(this.logId, index);
    return row === undefined ? undefined : asBytes(row.data);
  }

  async entries(start: number, end: number): Promise<StoredEntry[]> {
    return this.#sql.entries
      .all(this.logId, start, end)
      .map((row) => ({ index: Number(row.idx), data: asBytes(row.data) }));
  }

  async node(level: number, index: number): Promise<Uint8Array | undefined> {
    return this.nodeSync(level, index);
  }

  async nodes(level: number, start: number, end: number): Promise<SubtreeNode[]> {
    return this.#sql.nodes
      .all(this.logId, level, start, end)
      .map((row) => ({ level, index: Number(row.idx), hash: asBytes(row.hash) }));
  }

  /** Closes the database if this store opened it; a shared database stays open. */
  close(): void {
    if (this.#owned) this.#db.close();
  }
}
