/**
 * MerkleLogStore over PostgreSQL, for relays that share one database. Several logs live in the same
 * tables, told apart by `log_id` (the relay's "audit" and "kt"). The tables are created by the
 * relay's PostgreSQL migrations (src/store/postgres/migrations).
 *
 * One sequencer: every append locks the log's head row (SELECT ... FOR UPDATE) inside its transaction
 * and reads the size under that lock, so appends from any number of relays are serialized by the
 * database into one append-only sequence; a writer that computed its batch for an older size gets
 * `log_append_conflict` and nothing is written.
 */
import { NanoError } from "../errors/index.ts";
import {
  bytes,
  type Pool,
  type PoolClient,
  type Queryable,
  query,
  transaction,
} from "../store/postgres/connection.ts";
import type { LogAppendBatch, MerkleLogStore, StoredEntry, SubtreeNode } from "./log-store.ts";
import { appendedNodes, checkEntrySizes } from "./merkle-append.ts";
import type { AppendResult } from "./merkle-log.ts";

const UNIQUE_VIOLATION = "23505";

async function lockedSize(client: PoolClient, logId: string): Promise<number> {
  await query(
    client,
    "INSERT INTO merkle_log_head (log_id, tree_size) VALUES ($1, 0) ON CONFLICT DO NOTHING",
    [logId],
  );
  const [row] = await query(client, "SELECT tree_size FROM merkle_log_head WHERE log_id = $1 FOR UPDATE", [
    logId,
  ]);
  return Number(row?.tree_size ?? 0);
}

async function nodeOn(db: Queryable, logId: string, level: number, index: number) {
  const [row] = await query(
    db,
    "SELECT hash FROM merkle_log_nodes WHERE log_id = $1 AND level = $2 AND idx = $3",
    [logId, level, index],
  );
  return row === undefined ? undefined : bytes(row.hash);
}

/** Writes a batch whose start was checked against the locked head. */
async function writeBatch(client: PoolClient, logId: string, batch: LogAppendBatch): Promise<void> {
  try {
    await client.query(
      "INSERT INTO merkle_log_entries (log_id, idx, data) SELECT $1, * FROM unnest($2::bigint[], $3::bytea[])",
      [
        logId,
        batch.entries.map((_, offset) => batch.start + offset),
        batch.entries.map((e) => Buffer.from(e)),
      ],
    );
    await client.query(
      "INSERT INTO merkle_log_nodes (log_id, level, idx, hash) SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])",
      [
        logId,
        batch.nodes.map((n) => n.level),
        batch.nodes.map((n) => n.index),
        batch.nodes.map((n) => Buffer.from(n.hash)),
      ],
    );
    await client.query("UPDATE merkle_log_head SET tree_size = $2 WHERE log_id = $1", [
      logId,
      batch.start + batch.entries.length,
    ]);
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION)
      // Rows exist beyond the recorded size: the tables were edited behind the log's back.
      throw new NanoError(
        "log_store_inconsistent",
        "the store rejected the append; it holds rows beyond its size",
        {
          cause: error,
        },
      );
    throw error;
  }
}

/**
 * The sequencer for callers that log inside their own transaction (an account claim and its
 * key-transparency binding commit together): locks the head, computes the new leaves' subtree hashes
 * from the stored right edge, writes them. The lock is held until the caller's COMMIT.
 */
export async function appendInTransaction(
  client: PoolClient,
  logId: string,
  entries: readonly Uint8Array[],
): Promise<AppendResult> {
  checkEntrySizes(entries);
  const start = await lockedSize(client, logId);
  if (entries.length === 0) return { start, size: start };
  const append = appendedNodes(start, entries);
  let step = append.next();
  while (!step.done) step = append.next(await nodeOn(client, logId, step.value.level, step.value.index));
  await writeBatch(client, logId, { start, entries, nodes: step.value });
  return { start, size: start + entries.length };
}

export class PostgresLogStore implements MerkleLogStore {
  readonly logId: string;
  readonly #pool: Pool;

  constructor(pool: Pool, options: { logId?: string } = {}) {
    this.#pool = pool;
    this.logId = options.logId ?? "audit";
  }

  async size(): Promise<number> {
    const [row] = await query(this.#pool, "SELECT tree_size FROM merkle_log_head WHERE log_id = $1", [
      this.logId,
    ]);
    return Number(row?.tree_size ?? 0);
  }

  async append(batch: LogAppendBatch): Promise<void> {
    await transaction(this.#pool, async (client) => {
      const size = await lockedSize(client, this.logId);
      if (batch.start !== size)
        throw new NanoError(
          "log_append_conflict",
          `append expected size ${batch.start} but the store holds ${size}`,
        );
      for (const node of batch.nodes)
        if (!Number.isSafeInteger(node.level) || node.level < 0 || !Number.isSafeInteger(node.index))
          throw new RangeError(`invalid subtree position (${node.level}, ${node.index})`);
      await writeBatch(client, this.logId, batch);
    });
  }

  async entry(index: number): Promise<Uint8Array | undefined> {
    const [row] = await query(
      this.#pool,
      "SELECT e.data FROM merkle_log_entries e JOIN merkle_log_head h USING (log_id) WHERE e.log_id = $1 AND e.idx = $2 AND e.idx < h.tree_size",
      [this.logId, index],
    );
    return row === undefined ? undefined : bytes(row.data);
  }

  async entries(start: number, end: number): Promise<StoredEntry[]> {
    const rows = await query(
      this.#pool,
      "SELECT idx, data FROM merkle_log_entries WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
      [this.logId, start, end],
    );
    return rows.map((row) => ({ index: Number(row.idx), data: bytes(row.data) }));
  }

  async node(level: number, index: number): Promise<Uint8Array | undefined> {
    return nodeOn(this.#pool, this.logId, level, index);
  }

  async nodes(level: number, start: number, end: number): Promise<SubtreeNode[]> {
    const rows = await query(
      this.#pool,
      "SELECT idx, hash FROM merkle_log_nodes WHERE log_id = $1 AND level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx",
      [this.logId, level, start, end],
    );
    return rows.map((row) => ({ level, index: Number(row.idx), hash: bytes(row.hash) }));
  }
}
