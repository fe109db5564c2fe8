/**
 * The relay's two Merkle logs in PostgreSQL, shared by every relay of a cluster (docs/cluster.md): the
 * same leaves, side tables and checkpoints as RelayTransparency on SQLite (src/relay/transparency.ts),
 * written through the database's one sequencer (the head row locked in the appending transaction,
 * src/audit/postgres-log-store.ts). Claims and identity updates log their binding and event inside
 * their own transaction (the journal); other events are their own transaction.
 */

import { ktBinding } from "../../audit/kt-leaf.ts";
import { signCheckpoint } from "../../audit/log-signer.ts";
import { MerkleLog } from "../../audit/merkle-log.ts";
import { appendInTransaction, PostgresLogStore } from "../../audit/postgres-log-store.ts";
import { utf8 } from "../../crypto/index.ts";
import { nodePrimitives } from "../../crypto/node-provider.ts";
import { NanoError } from "../../errors/index.ts";
import {
  bytes,
  type Pool,
  type PoolClient,
  type Queryable,
  query,
  transaction,
} from "../../store/postgres/connection.ts";
import type { PostgresJournal } from "../../store/postgres/journal.ts";
import { LOG_IDS, type LogId, type RelayLogKey } from "../audit-log-key.ts";
import {
  auditLeaf,
  type KtProof,
  type RelayAuditEvent,
  type StoredCheckpoint,
  type TransparencyService,
} from "../transparency.ts";
import type { InclusionProof, InclusionProofCache } from "./proof-cache.ts";

function checkpointRow(logId: LogId, row: Record<string, unknown>): StoredCheckpoint {
  return { logId, size: Number(row.tree_size), issuedAt: Number(row.issued_at), note: String(row.note) };
}

export class PostgresTransparency implements TransparencyService {
  readonly key: RelayLogKey;
  readonly stores: Readonly<Record<LogId, PostgresLogStore>>;
  readonly logs: Readonly<Record<LogId, MerkleLog>>;
  readonly #pool: Pool;
  readonly #now: () => number;
  /** In a cluster with Redis: inclusion proofs through L1/L2 (proof-cache.ts). */
  #proofs: InclusionProofCache | null = null;

  constructor(options: { pool: Pool; key: RelayLogKey; now: () => number }) {
    this.#pool = options.pool;
    this.key = options.key;
    this.#now = options.now;
    const stores = {} as Record<LogId, PostgresLogStore>;
    const logs = {} as Record<LogId, MerkleLog>;
    for (const id of LOG_IDS) {
      stores[id] = new PostgresLogStore(options.pool, { logId: id });
      logs[id] = new MerkleLog(stores[id]);
    }
    this.stores = Object.freeze(stores);
    this.logs = Object.freeze(logs);
  }

  /** Appends one audit event inside the caller's transaction. Returns its index. */
  async appendEvent(tx: PoolClient, event: RelayAuditEvent): Promise<number> {
    const { leaf, salts } = auditLeaf(this.key, event);
    const { start } = await appendInTransaction(tx, "audit", [leaf]);
    for (const [field, salt, data] of salts)
      await query(
        tx,
        "INSERT INTO merkle_log_personal_data (log_id, idx, field, salt, data) VALUES ('audit', $1, $2, $3, $4)",
        [start, field, salt, data],
      );
    return start;
  }

  /** Appends the binding username -> H(IR) inside the claim's or update's transaction. */
  async bind(
    tx: PoolClient,
    username: string,
    identityHash: Uint8Array,
    recordVersion: number,
    time: number,
  ): Promise<number> {
    const { leaf, salt } = ktBinding(nodePrimitives, username, identityHash, recordVersion, time);
    const { start } = await appendInTransaction(tx, "kt", [leaf]);
    await query(
      tx,
      "INSERT INTO merkle_log_personal_data (log_id, idx, field, salt, data) VALUES ('kt', $1, 'username', $2, $3)",
      [start, salt, utf8(username)],
    );
    await query(
      tx,
      "INSERT INTO kt_latest_binding (username, idx) VALUES ($1, $2) ON CONFLICT (username) DO UPDATE SET idx = excluded.idx",
      [username, start],
    );
    return start;
  }

  /** The journal the PostgreSQL store calls inside account-change transactions. */
  journal(): PostgresJournal {
    const correlation = (id: string | undefined) => (id === undefined ? {} : { correlationId: id });
    return {
      accountClaimed: async (tx, account, context) => {
        await this.bind(
          tx,
          account.username,
          account.identityHash,
          context.recordVersion ?? 0,
          account.createdAt,
        );
        await this.appendEvent(tx, {
          type: "account_claimed",
          outcome: "success",
          time: account.createdAt,
          username: account.username,
          ...correlation(context.correlationId),
        });
      },
      identityReplaced: async (tx, username, next, now, context) => {
        await this.bind(tx, username, next.identityHash, context.recordVersion ?? 0, now);
        await this.appendEvent(tx, {
          type: "identity_updated",
          outcome: "success",
          time: now,
          username,
          ...correlation(context.correlationId),
        });
      },
    };
  }

  record(event: RelayAuditEvent): Promise<number> {
    return transaction(this.#pool, (tx) => this.appendEvent(tx, event));
  }

  async #latest(db: Queryable, logId: LogId): Promise<StoredCheckpoint | undefined> {
    const [row] = await query(
      db,
      "SELECT tree_size, issued_at, note FROM merkle_log_checkpoints WHERE log_id = $1 ORDER BY tree_size DESC LIMIT 1",
      [logId],
    );
    return row === undefined ? undefined : checkpointRow(logId, row);
  }

  latestCheckpoint(logId: LogId): Promise<StoredCheckpoint | undefined> {
    return this.#latest(this.#pool, logId);
  }

  async checkpoints(logId: LogId): Promise<StoredCheckpoint[]> {
    const rows = await query(
      this.#pool,
      "SELECT tree_size, issued_at, note FROM merkle_log_checkpoints WHERE log_id = $1 ORDER BY tree_size",
      [logId],
    );
    return rows.map((row) => checkpointRow(logId, row));
  }

  /**
   * As RelayTransparency.checkpoint. Relays checkpoint on their own timers; two signing the same size
   * store one row (the first), and any size they sign is a size the one log really had.
   */
  async checkpoint(logId: LogId, atLeast?: number): Promise<StoredCheckpoint> {
    const latest = await this.#latest(this.#pool, logId);
    const size = await this.logs[logId].size();
    if (latest !== undefined && latest.size >= (atLeast ?? size)) return latest;
    const rootHash = await this.logs[logId].rootHash(size);
    const signing = this.key.signing[logId];
    const note = signCheckpoint({ origin: signing.name, size, rootHash, extensions: [] }, signing);
    await query(
      this.#pool,
      "INSERT INTO merkle_log_checkpoints (log_id, tree_size, issued_at, note) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
      [logId, size, this.#now(), note],
    );
    const stored = await this.#latest(this.#pool, logId);
    if (stored === undefined) throw new NanoError("log_store_inconsistent", "a stored checkpoint vanished");
    return stored;
  }

  async checkpointAll(): Promise<void> {
    for (const id of LOG_IDS) await this.checkpoint(id);
  }

  /** Serves inclusion proofs through `cache` from now on (a relay in a cluster with Redis). */
  cacheProofs(cache: InclusionProofCache): void {
    this.#proofs = cache;
  }

  async ktProof(username: string): Promise<KtProof | undefined> {
    const [row] = await query(this.#pool, "SELECT idx FROM kt_latest_binding WHERE username = $1", [
      username,
    ]);
    if (row === undefined) return undefined;
    const index = Number(row.idx);
    const checkpoint = await this.checkpoint("kt", index + 1);
    const [salt] = await query(
      this.#pool,
      "SELECT salt FROM merkle_log_personal_data WHERE log_id = 'kt' AND idx = $1 AND field = 'username'",
      [index],
    );
    // An erased binding (salt deleted) can no longer be shown to belong to anyone.
    if (salt === undefined) return undefined;
    const compute = async (): Promise<InclusionProof> => ({
      leaf: await this.logs.kt.entry(index),
      path: await this.logs.kt.inclusionProof(index, checkpoint.size),
    });
    const proof = await (this.#proofs === null
      ? compute()
      : this.#proofs.get(index, checkpoint.size, compute));
    return {
      index,
      leaf: proof.leaf,
      usernameSalt: bytes(salt.salt),
      inclusionProof: [...proof.path],
      checkpoint,
    };
  }

  consistency(logId: LogId, from: number, to: number): Promise<Uint8Array[]> {
    return this.logs[logId].consistencyProof(from, to);
  }

  erase(username: string, time: number): Promise<number> {
    return transaction(this.#pool, async (tx) => {
      const erased = await query(
        tx,
        "DELETE FROM merkle_log_personal_data WHERE field = 'username' AND data = $1 RETURNING 1",
        [utf8(username)],
      );
      await query(tx, "DELETE FROM kt_latest_binding WHERE username = $1", [username]);
      await this.appendEvent(tx, {
        type: "admin_action",
        outcome: "success",
        time,
        details: { action: "erase_personal_data", rows: erased.length },
      });
      return erased.length;
    });
  }
}
