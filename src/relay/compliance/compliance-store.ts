/**
 * What the `nano-relay compliance` commands need from a relay's database, whichever it is (SQLite,
 * PostgreSQL): account data for an export, erasure and holds with their audit event in the same
 * transaction, and the personal-data side tables behind the logs' commitments. docs/compliance.md.
 */
import type { DatabaseSync } from "node:sqlite";
import { SqliteCompliance } from "../../store/sqlite/compliance.ts";
import type { AccountData, AccountRecord, ErasureResult } from "../../store/types.ts";
import type { LogId } from "../audit-log-key.ts";
import {
  type RelayAuditEvent,
  type RelayTransparency,
  transactionRunner,
  type WriteRunner,
} from "../transparency.ts";

export interface ComplianceStore {
  account(username: string): Promise<AccountRecord | null>;
  accountData(username: string, options: { envelopes: boolean }): Promise<AccountData | null>;
  /** The personal-data side-table rows of one leaf (field and UTF-8 data), still present. */
  personalData(logId: LogId, index: number): Promise<{ field: string; data: string }[]>;
  /** The username's key-transparency leaves (index and salt) whose salt is still present. */
  ktSalts(username: string): Promise<{ index: number; salt: Uint8Array }[]>;
  /**
   * Erases the account (src/store/sqlite/compliance.ts says what goes) and appends `event(result)` to
   * the audit log in the same transaction. account_on_hold / account_not_found leave everything as it was.
   */
  erase(
    username: string,
    skeletonKey: Uint8Array,
    now: number,
    coolingOffMs: number,
    event: (result: ErasureResult) => RelayAuditEvent,
  ): Promise<ErasureResult>;
  /** Places (hold = true) or lifts a hold and appends `event(changed)` in the same transaction. */
  setHold(
    username: string,
    hold: boolean,
    now: number,
    event: (changed: boolean) => RelayAuditEvent,
  ): Promise<boolean>;
  counts(now: number): Promise<{ activeHolds: number; liveTombstones: number }>;
  /**
   * When the newest erasure happened (its tombstone's time), or null when none is kept: a running relay
   * watches it to end the sessions of accounts erased by another process (src/relay/erasure-watch.ts).
   */
  latestErasure(): Promise<number | null>;
}

/** SQLite: one connection, the command's own transactions (the relay's writers wait on its lock). */
export class SqliteComplianceStore implements ComplianceStore {
  readonly #db: DatabaseSync;
  readonly #store: SqliteCompliance;
  readonly #transparency: RelayTransparency;
  readonly #run: WriteRunner;

  /** `run`: the command's own transactions by default; a running relay passes its group commit. */
  constructor(db: DatabaseSync, transparency: RelayTransparency, run: WriteRunner = transactionRunner(db)) {
    this.#db = db;
    this.#store = new SqliteCompliance(db);
    this.#transparency = transparency;
    this.#run = run;
  }

  async account(username: string): Promise<AccountRecord | null> {
    return this.#store.account(username);
  }

  async accountData(username: string, options: { envelopes: boolean }): Promise<AccountData | null> {
    return this.#store.accountData(username, options);
  }

  async personalData(logId: LogId, index: number): Promise<{ field: string; data: string }[]> {
    return this.#db
      .prepare("SELECT field, data FROM merkle_log_personal_data WHERE log_id = ? AND idx = ? ORDER BY field")
      .all(logId, index)
      .map((row) => ({
        field: String(row.field),
        data: Buffer.from(row.data as Uint8Array).toString("utf8"),
      }));
  }

  async ktSalts(username: string): Promise<{ index: number; salt: Uint8Array }[]> {
    return this.#db
      .prepare(
        "SELECT idx, salt FROM merkle_log_personal_data WHERE log_id = 'kt' AND field = 'username' AND data = ? ORDER BY idx",
      )
      .all(Buffer.from(username, "utf8"))
      .map((row) => ({ index: Number(row.idx), salt: row.salt as Uint8Array }));
  }

  erase(
    username: string,
    skeletonKey: Uint8Array,
    now: number,
    coolingOffMs: number,
    event: (result: ErasureResult) => RelayAuditEvent,
  ): Promise<ErasureResult> {
    return this.#run(() => {
      // Zero what this erasure deletes instead of leaving it in free space (only for this work: on a
      // relay's connection, the rest of its writes keep the default).
      const previous = Number(this.#db.prepare("PRAGMA secure_delete").get()?.secure_delete ?? 0);
      this.#db.exec("PRAGMA secure_delete = ON");
      try {
        const result = this.#store.eraseSync(username, skeletonKey, now, coolingOffMs);
        this.#transparency.appendEventSync(event(result));
        return result;
      } finally {
        this.#db.exec(`PRAGMA secure_delete = ${previous === 1 ? "ON" : previous === 2 ? "FAST" : "OFF"}`);
      }
    });
  }

  setHold(
    username: string,
    hold: boolean,
    now: number,
    event: (changed: boolean) => RelayAuditEvent,
  ): Promise<boolean> {
    return this.#run(() => {
      const changed = hold ? this.#store.placeHoldSync(username, now) : this.#store.releaseHoldSync(username);
      this.#transparency.appendEventSync(event(changed));
      return changed;
    });
  }

  async latestErasure(): Promise<number | null> {
    return this.#store.latestErasure();
  }

  async counts(now: number): Promise<{ activeHolds: number; liveTombstones: number }> {
    const n = (sql: string, ...params: number[]) => Number(this.#db.prepare(sql).get(...params)?.n ?? 0);
    return {
      activeHolds: n("SELECT count(*) AS n FROM legal_holds"),
      liveTombstones: n("SELECT count(*) AS n FROM account_tombstones WHERE until > ?", now),
    };
  }

  /**
   * After an erasure: SQLite keeps deleted bytes in free pages and in its write-ahead log, so rewrite
   * the database (VACUUM, unless told not to) and truncate the WAL (retried while a reader holds it).
   */
  async scrub(vacuum: boolean): Promise<{ vacuumed: boolean; walTruncated: boolean }> {
    if (vacuum) this.#db.exec("VACUUM");
    for (let attempt = 0; attempt < 20; attempt++) {
      const row = this.#db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number } | undefined;
      if (row?.busy === 0) return { vacuumed: vacuum, walTruncated: true };
      await new Promise((done) => setTimeout(done, 50));
    }
    return { vacuumed: vacuum, walTruncated: false };
  }
}
