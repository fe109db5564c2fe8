/**
 * Connections to PostgreSQL: one pool per relay process, with the settings every query relies on, and
 * the one place where a driver error becomes a typed NanoError. `pg` and its pool are CommonJS; this
 * file is the only one that touches the module object.
 */
import pg from "pg";
import { NanoError } from "../../errors/index.ts";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** A pool or a client inside a transaction: anything a statement can run on. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, "query">;
export type Row = Record<string, unknown>;

/** OID of BIGINT: parsed as a JS number (counts, sequence numbers and ms timestamps stay below 2^53). */
const INT8_OID = 20;
const types = new pg.TypeOverrides();
types.setTypeParser(INT8_OID, (value: string) => Number(value));

export interface PoolOptions {
  readonly url: string;
  /** Connections per relay process; the PostgreSQL server's max_connections bounds the sum (docs/cluster.md). */
  readonly max?: number;
  /** How long a query waits for a free connection or a connect before it fails. */
  readonly connectTimeoutMs?: number;
  /** Server-side limit for one statement, so a stuck query cannot hold a mailbox lock forever. */
  readonly statementTimeoutMs?: number;
  readonly applicationName?: string;
  /** Schema for every unqualified name (default: the server's search_path). Tests isolate by schema. */
  readonly schema?: string;
}

/**
 * How much longer than the server's statement timeout the driver waits for an answer. A server that
 * stops answering with its connection open (a hung host, packets dropped) enforces no timeout at all:
 * without one here a send, an ack or a readiness probe would wait for TCP to give up (many minutes).
 * The margin lets the server's own timeout, which rolls the statement back, fire first.
 */
const CLIENT_TIMEOUT_MARGIN_MS = 5000;
/** Readiness asks often and must answer quickly: a probe gets this long. */
const PING_TIMEOUT_MS = 2000;

export function openPool(options: PoolOptions): Pool {
  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
    keepAlive: true,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? "nano-relay",
    types,
    ...(options.schema === undefined ? {} : { options: `-c search_path=${checkSchema(options.schema)}` }),
  });
  // An idle client that loses its server emits here; without a listener that would crash the process.
  // The next query on the pool opens a fresh connection (or fails with store_unavailable).
  pool.on("error", () => {});
  // Every statement sent is one round trip to the server: counted for the metrics and the cluster
  // benchmark (the cost per message of the PostgreSQL layer).
  pool.on("connect", (client) => {
    // A checked-out client whose connection breaks (reset, server restart, failover) emits 'error'
    // outside any query; the pool listens only while the client is idle, and an unheard 'error' kills
    // the relay. The failure itself reaches the statement in flight or the next one on this client
    // (which then is not returned to the pool: transaction() and pool.query release it as broken).
    client.on("error", () => {});
    const send = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      roundTrips.set(pool, (roundTrips.get(pool) ?? 0) + 1);
      return send(...args);
    };
  });
  return pool;
}

/** Statements sent through each pool, kept with the pool (not per client: a process may have several). */
const roundTrips = new WeakMap<Pool, number>();

export function poolRoundTrips(pool: Pool): number {
  return roundTrips.get(pool) ?? 0;
}

function checkSchema(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new TypeError(`not a plain schema name: ${schema}`);
  return schema;
}

/** SQLSTATEs after which the same transaction, run again from the start, can succeed. */
const RETRYABLE = new Set(["40001", "40P01"]);

export function isRetryable(error: unknown): boolean {
  return RETRYABLE.has((error as { code?: string } | null)?.code ?? "");
}

/**
 * A failure of the database itself (not of our logic) as `store_unavailable`. The caller learns that
 * nothing may be assumed about the write (for a send: no ack was given, retry with the same client
 * message id); the driver's message stays in `cause` for the log and never reaches a client.
 */
export function storeError(error: unknown, what = "the database did not answer"): NanoError {
  if (NanoError.is(error)) return error;
  return new NanoError("store_unavailable", what, { cause: error });
}

/** Runs `work` in one transaction on one connection; retries serialization failures and deadlocks. */
export async function transaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw storeError(error);
    }
    let broken = false;
    try {
      await client.query("BEGIN");
      const value = await work(client);
      await client.query("COMMIT");
      return value;
    } catch (error) {
      try {
        await client.query("ROLLBACK");
      } catch {
        // The connection is gone: it must not go back into the pool.
        broken = true;
      }
      if (isRetryable(error) && attempt < attempts) continue;
      if (NanoError.is(error)) throw error;
      throw storeError(error);
    } finally {
      client.release(broken);
    }
  }
}

/** Does the server answer within PING_TIMEOUT_MS? (readiness; never throws) */
export async function ping(pool: Pool): Promise<boolean> {
  // pg honours query_timeout per statement; its types know it only on the pool's configuration.
  const probe: pg.QueryConfig & { query_timeout: number } = {
    text: "SELECT 1 AS one",
    query_timeout: PING_TIMEOUT_MS,
  };
  try {
    const result = await pool.query(probe);
    return (result.rows[0] as { one?: unknown } | undefined)?.one === 1;
  } catch {
    return false;
  }
}

/** One statement; driver failures become store_unavailable. */
export async function query(db: Queryable, sql: string, params: readonly unknown[] = []): Promise<Row[]> {
  try {
    const result = await db.query(sql, params as unknown[]);
    return result.rows as Row[];
  } catch (error) {
    throw storeError(error);
  }
}

/** A copy as a plain Uint8Array: the driver's Buffers may share a pooled slab with other values. */
export function bytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  throw new TypeError("expected a BYTEA column");
}
