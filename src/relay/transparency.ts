/**
 * The relay's two Merkle logs in its SQLite database (docs/audit.md, "Relay integration"):
 * - "audit": security events (audit-event.ts leaves), appended inside the transaction of the change
 *   they record where there is one (the store journal), otherwise through the group commit;
 * - "kt": key transparency, one kt-leaf.ts binding per accepted claim and identity update, written in
 *   the claim's or update's own transaction, so no binding is ever served that is not logged.
 * Checkpoints are signed on an interval and on demand and every one is stored.
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import {
  type AuditEventType,
  type AuditOutcome,
  type DetailValue,
  encodeAuditEvent,
} from "../audit/audit-event.ts";
import { ktBinding } from "../audit/kt-leaf.ts";
import { signCheckpoint } from "../audit/log-signer.ts";
import type { MerkleLogStore } from "../audit/log-store.ts";
import { MerkleLog } from "../audit/merkle-log.ts";
import { commitPersonalData } from "../audit/salted-commitment.ts";
import { SqliteLogStore } from "../audit/sqlite-log-store.ts";
import { appendSync } from "../audit/sqlite-sync-append.ts";
import { utf8 } from "../crypto/index.ts";
import { nodePrimitives } from "../crypto/node-provider.ts";
import { NanoError } from "../errors/index.ts";
import type { AccountRecord, StoreJournal, WriteContext } from "../store/types.ts";
import { actorPseudonym, LOG_IDS, type LogId, type RelayLogKey } from "./audit-log-key.ts";

/** What a caller knows about an event; personal fields become commitments here. */
export interface RelayAuditEvent {
  readonly type: AuditEventType;
  readonly outcome: AuditOutcome;
  readonly time: number;
  readonly correlationId?: string;
  /** The account acting or acted on: logged as a pseudonym plus a salted commitment. */
  readonly username?: string;
  /** A client address: logged only as a salted commitment. */
  readonly address?: string;
  /**
   * An account named only by its pseudonym, without a commitment: an erasure's own event, where the
   * name is exactly what is being forgotten (ignored when `username` is given).
   */
  readonly pseudonymOf?: string;
  /** The operator's OS user who ran a command: a salted commitment (operators are people too). */
  readonly operator?: string;
  /** The operator's stated reason: free text that may name anyone, so a salted commitment. */
  readonly reason?: string;
  readonly details?: Readonly<Record<string, DetailValue>>;
}

export interface StoredCheckpoint {
  readonly logId: LogId;
  readonly size: number;
  readonly issuedAt: number;
  readonly note: string;
}

export interface KtProof {
  readonly index: number;
  readonly leaf: Uint8Array;
  readonly usernameSalt: Uint8Array;
  readonly inclusionProof: Uint8Array[];
  readonly checkpoint: StoredCheckpoint;
}

/** Runs a synchronous write durably: the relay's group commit, or a plain transaction (commands). */
export type WriteRunner = <T>(work: () => T) => Promise<T>;

export function transactionRunner(db: DatabaseSync): WriteRunner {
  return async <T>(work: () => T): Promise<T> => {
    db.exec("BEGIN IMMEDIATE");
    try {
      const value = work();
      db.exec("COMMIT");
      return value;
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  };
}

const CORRELATION = /^[\x21-\x7e]{0,64}$/;

/**
 * What the rest of the relay uses of its Merkle logs, whichever database holds them: RelayTransparency
 * (SQLite, one process) and PostgresTransparency (src/relay/cluster, several relays).
 */
export interface TransparencyService {
  readonly key: RelayLogKey;
  readonly stores: Readonly<Record<LogId, MerkleLogStore>>;
  readonly logs: Readonly<Record<LogId, MerkleLog>>;
  /** Appends an event that has no transaction of its own, durably. Returns its index. */
  record(event: RelayAuditEvent): Promise<number>;
  latestCheckpoint(logId: LogId): Promise<StoredCheckpoint | undefined>;
  checkpoints(logId: LogId): Promise<StoredCheckpoint[]>;
  checkpoint(logId: LogId, atLeast?: number): Promise<StoredCheckpoint>;
  checkpointAll(): Promise<void>;
  ktProof(username: string): Promise<KtProof | undefined>;
  consistency(logId: LogId, from: number, to: number): Promise<Uint8Array[]>;
  erase(username: string, time: number): Promise<number>;
}

/** The leaf of an audit event and the personal data behind its salted commitments. */
export function auditLeaf(
  key: RelayLogKey,
  event: RelayAuditEvent,
): { leaf: Uint8Array; salts: [field: string, salt: Uint8Array, data: Uint8Array][] } {
  const personal: [string, Uint8Array][] = [];
  if (event.username !== undefined) personal.push(["username", utf8(event.username)]);
  if (event.address !== undefined) personal.push(["address", utf8(event.address)]);
  if (event.operator !== undefined) personal.push(["operator", utf8(event.operator)]);
  if (event.reason !== undefined) personal.push(["reason", utf8(event.reason)]);
  const commitments: Record<string, Uint8Array> = {};
  const salts: [string, Uint8Array, Uint8Array][] = [];
  for (const [field, data] of personal) {
    const { commitment, salt } = commitPersonalData(nodePrimitives, data);
    commitments[field] = commitment;
    salts.push([field, salt, data]);
  }
  const correlationId = CORRELATION.test(event.correlationId ?? "") ? (event.correlationId ?? "") : "";
  const leaf = encodeAuditEvent({
    time: event.time,
    type: event.type,
    outcome: event.outcome,
    correlationId,
    actor:
      (event.username ?? event.pseudonymOf) === undefined
        ? undefined
        : actorPseudonym(key, (event.username ?? event.pseudonymOf)!),
    commitments,
    details: event.details ?? {},
  });
  return { leaf, salts };
}

export class RelayTransparency implements TransparencyService {
  readonly key: RelayLogKey;
  readonly stores: Readonly<Record<LogId, SqliteLogStore>>;
  readonly logs: Readonly<Record<LogId, MerkleLog>>;
  readonly #run: WriteRunner;
  readonly #now: () => number;
  readonly #sql: Record<
    | "personal"
    | "latestBinding"
    | "setBinding"
    | "saltOf"
    | "latestCheckpoint"
    | "insertCheckpoint"
    | "checkpoints"
    | "erase"
    | "unbind",
    StatementSync
  >;

  constructor(options: { db: DatabaseSync; key: RelayLogKey; run: WriteRunner; now: () => number }) {
    const { db } = options;
    this.key = options.key;
    this.#run = options.run;
    this.#now = options.now;
    const stores = {} as Record<LogId, SqliteLogStore>;
    const logs = {} as Record<LogId, MerkleLog>;
    for (const id of LOG_IDS) {
      stores[id] = new SqliteLogStore(db, { logId: id });
      logs[id] = new MerkleLog(stores[id]);
    }
    this.stores = Object.freeze(stores);
    this.logs = Object.freeze(logs);
    this.#sql = {
      personal: db.prepare(
        "INSERT INTO merkle_log_personal_data (log_id, idx, field, salt, data) VALUES (?, ?, ?, ?, ?)",
      ),
      latestBinding: db.prepare("SELECT idx FROM kt_latest_binding WHERE username = ?"),
      setBinding: db.prepare(
        "INSERT INTO kt_latest_binding (username, idx) VALUES (?, ?) ON CONFLICT (username) DO UPDATE SET idx = excluded.idx",
      ),
      saltOf: db.prepare(
        "SELECT salt, data FROM merkle_log_personal_data WHERE log_id = 'kt' AND idx = ? AND field = 'username'",
      ),
      latestCheckpoint: db.prepare(
        "SELECT tree_size, issued_at, note FROM merkle_log_checkpoints WHERE log_id = ? ORDER BY tree_size DESC LIMIT 1",
      ),
      insertCheckpoint: db.prepare(
        "INSERT OR IGNORE INTO merkle_log_checkpoints (log_id, tree_size, issued_at, note) VALUES (?, ?, ?, ?)",
      ),
      erase: db.prepare("DELETE FROM merkle_log_personal_data WHERE field = 'username' AND data = ?"),
      unbind: db.prepare("DELETE FROM kt_latest_binding WHERE username = ?"),
      checkpoints: db.prepare(
        "SELECT tree_size, issued_at, note FROM merkle_log_checkpoints WHERE log_id = ? ORDER BY tree_size",
      ),
    };
  }

  /** Appends one audit event; call inside the transaction of the change it records. Returns its index. */
  appendEventSync(event: RelayAuditEvent): number {
    const { leaf, salts } = auditLeaf(this.key, event);
    const { start } = appendSync(this.stores.audit, [leaf]);
    for (const [field, salt, data] of salts) this.#sql.personal.run("audit", start, field, salt, data);
    return start;
  }

  /** Appends the binding username -> H(IR); call inside the claim's or update's transaction. */
  bindSync(username: string, identityHash: Uint8Array, recordVersion: number, time: number): number {
    const { leaf, salt } = ktBinding(nodePrimitives, username, identityHash, recordVersion, time);
    const { start } = appendSync(this.stores.kt, [leaf]);
    this.#sql.personal.run("kt", start, "username", salt, utf8(username));
    this.#sql.setBinding.run(username, start);
    return start;
  }

  /** The journal the SQLite store calls inside account-change transactions. */
  journal(): StoreJournal {
    return {
      accountClaimed: (account: AccountRecord, context: WriteContext) => {
        this.bindSync(account.username, account.identityHash, context.recordVersion ?? 0, account.createdAt);
        this.appendEventSync({
          type: "account_claimed",
          outcome: "success",
          time: account.createdAt,
          username: account.username,
          ...(context.correlationId === undefined ? {} : { correlationId: context.correlationId }),
        });
      },
      identityReplaced: (username, next, now, context) => {
        this.bindSync(username, next.identityHash, context.recordVersion ?? 0, now);
        this.appendEventSync({
          type: "identity_updated",
          outcome: "success",
          time: now,
          username,
          ...(context.correlationId === undefined ? {} : { correlationId: context.correlationId }),
        });
      },
    };
  }

  /** Appends an event that has no transaction of its own, durably (group commit). */
  record(event: RelayAuditEvent): Promise<number> {
    return this.#run(() => this.appendEventSync(event));
  }

  async latestCheckpoint(logId: LogId): Promise<StoredCheckpoint | undefined> {
    return this.#latestCheckpoint(logId);
  }

  #latestCheckpoint(logId: LogId): StoredCheckpoint | undefined {
    const row = this.#sql.latestCheckpoint.get(logId);
    return row === undefined
      ? undefined
      : { logId, size: Number(row.tree_size), issuedAt: Number(row.issued_at), note: String(row.note) };
  }

  async checkpoints(logId: LogId): Promise<StoredCheckpoint[]> {
    return this.#sql.checkpoints.all(logId).map((row) => ({
      logId,
      size: Number(row.tree_size),
      issuedAt: Number(row.issued_at),
      note: String(row.note),
    }));
  }

  /**
   * Signs a checkpoint of the log's current size unless the latest one already covers `atLeast`
   * (default: the current size). Stored before it is returned; one checkpoint per size.
   */
  async checkpoint(logId: LogId, atLeast?: number): Promise<StoredCheckpoint> {
    const latest = this.#latestCheckpoint(logId);
    const size = await this.logs[logId].size();
    if (latest !== undefined && latest.size >= (atLeast ?? size)) return latest;
    const rootHash = await this.logs[logId].rootHash(size);
    const signing = this.key.signing[logId];
    const note = signCheckpoint({ origin: signing.name, size, rootHash, extensions: [] }, signing);
    this.#sql.insertCheckpoint.run(logId, size, this.#now(), note);
    const stored = this.#latestCheckpoint(logId);
    if (stored === undefined) throw new NanoError("log_store_inconsistent", "a stored checkpoint vanished");
    return stored;
  }

  /** Checkpoints both logs if they grew (the interval timer). */
  async checkpointAll(): Promise<void> {
    for (const id of LOG_IDS) await this.checkpoint(id);
  }

  /** The newest binding of `username` with its inclusion proof at a checkpoint that covers it. */
  async ktProof(username: string): Promise<KtProof | undefined> {
    const row = this.#sql.latestBinding.get(username);
    if (row === undefined) return undefined;
    const index = Number(row.idx);
    const checkpoint = await this.checkpoint("kt", index + 1);
    const salt = this.#sql.saltOf.get(index);
    // An erased binding (salt deleted) can no longer be shown to belong to anyone.
    if (salt === undefined) return undefined;
    const leaf = await this.logs.kt.entry(index);
    const inclusionProof = await this.logs.kt.inclusionProof(index, checkpoint.size);
    return { index, leaf, usernameSalt: salt.salt as Uint8Array, inclusionProof, checkpoint };
  }

  /** PROOF(from, to) of one log; `to` must not exceed the latest checkpoint. */
  async consistency(logId: LogId, from: number, to: number): Promise<Uint8Array[]> {
    return this.logs[logId].consistencyProof(from, to);
  }

  /**
   * Erasure: deletes every side-table row holding `username` (both logs) and its latest-binding
   * pointer, and logs the erasure as an admin action (pseudonymous, no commitment: the name is what is
   * being forgotten). Leaves, roots and checkpoints are untouched, so the logs stay verifiable; the
   * username's bindings can no longer be proven to anyone. Returns the number of rows erased.
   */
  async erase(username: string, time: number): Promise<number> {
    return this.#run(() => {
      const data = utf8(username);
      const erased = Number(this.#sql.erase.run(data).changes);
      this.#sql.unbind.run(username);
      this.appendEventSync({
        type: "admin_action",
        outcome: "success",
        time,
        details: { action: "erase_personal_data", rows: erased },
      });
      return erased;
    });
  }
}
