import type { DatabaseSync, StatementSync } from "node:sqlite";

/**
 * Statements of one node:sqlite connection, prepared once per SQL text: compiling a statement costs
 * more than running it, and the same few dozen texts run for every message. Shared by the relay's
 * SQLite store and the client's local store. Bounded by the SQL texts in the code (never built from
 * data), so it needs no eviction; it lives and dies with its connection.
 */
export class StatementCache {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  prepared(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
