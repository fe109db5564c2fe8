/**
 * The compliance commands' store on PostgreSQL (docs/compliance.md, docs/cluster.md): the same reads,
 * erasure and holds as the SQLite one (src/store/sqlite/compliance.ts), each change with its audit event
 * in one transaction through the cluster's shared Merkle log. Relays keep running meanwhile: an erased
 * account's tokens are gone from the shared table, so every relay refuses them at the next request.
 */
import { NanoError } from "../../errors/index.ts";
import {
  bytes,
  type Pool,
  type PoolClient,
  type Queryable,
  query,
  transaction,
} from "../../store/postgres/connection.ts";
import type { AccountData, AccountRecord, ErasureResult, LegalHold } from "../../store/types.ts";
import type { LogId } from "../audit-log-key.ts";
import type { ComplianceStore } from "../compliance/compliance-store.ts";
import type { RelayAuditEvent } from "../transparency.ts";
import type { PostgresTransparency } from "./postgres-transparency.ts";

function accountOf(row: Record<string, unknown>): AccountRecord {
  return {
    username: String(row.username),
    skeleton: String(row.skeleton),
    identityHash: bytes(row.identity_hash),
    identityRecord: bytes(row.identity_record),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export class PostgresComplianceStore implements ComplianceStore {
  readonly #pool: Pool;
  readonly #transparency: PostgresTransparency;

  constructor(pool: Pool, transparency: PostgresTransparency) {
    this.#pool = pool;
    this.#transparency = transparency;
  }

  async #account(db: Queryable, username: string): Promise<AccountRecord | null> {
    const [row] = await query(db, "SELECT * FROM accounts WHERE username = $1", [username]);
    return row === undefined ? null : accountOf(row);
  }

  async #hold(db: Queryable, username: string): Promise<LegalHold | null> {
    const [row] = await query(db, "SELECT username, placed_at FROM legal_holds WHERE username = $1", [
      username,
    ]);
    return row === undefined ? null : { username: String(row.username), placedAt: Number(row.placed_at) };
  }

  account(username: string): Promise<AccountRecord | null> {
    return this.#account(this.#pool, username);
  }

  async accountData(username: string, options: { envelopes: boolean }): Promise<AccountData | null> {
    const db = this.#pool;
    const account = await this.#account(db, username);
    if (account === null) return null;
    const prekeys = await query(
      db,
      `SELECT b.suite, b.uploaded_at, b.signed_prekey_created_at,
              (SELECT count(*) FROM one_time_prekeys o WHERE o.username = b.username AND o.suite = b.suite) AS n
       FROM prekey_bundles b WHERE b.username = $1 ORDER BY b.suite`,
      [username],
    );
    const tokens = await query(db, "SELECT expires_at FROM tokens WHERE username = $1 ORDER BY expires_at", [
      username,
    ]);
    const pending = await query(
      db,
      `SELECT seq, sender, size, created_at, expires_at${options.envelopes ? ", envelope" : ""}
       FROM messages WHERE recipient = $1 ORDER BY seq`,
      [username],
    );
    const sent = await query(
      db,
      "SELECT seq, recipient, size, created_at, expires_at FROM messages WHERE sender = $1 ORDER BY recipient, seq",
      [username],
    );
    const owned = await query(
      db,
      `SELECT a.hash, a.size, a.created_at, a.expires_at,
              (SELECT count(*) FROM attachment_recipients r WHERE r.hash = a.hash) AS n
       FROM attachments a WHERE a.owner = $1 ORDER BY a.created_at, a.hash`,
      [username],
    );
    const received = await query(
      db,
      `SELECT a.hash, a.owner, a.size, a.expires_at, r.fetched_at
       FROM attachment_recipients r JOIN attachments a ON a.hash = r.hash
       WHERE r.username = $1 ORDER BY a.created_at, a.hash`,
      [username],
    );
    return {
      account,
      prekeys: prekeys.map((row) => ({
        suite: Number(row.suite),
        uploadedAt: Number(row.uploaded_at),
        signedPrekeyCreatedAt: Number(row.signed_prekey_created_at),
        oneTimePrekeys: Number(row.n),
      })),
      tokens: tokens.map((row) => ({ expiresAt: Number(row.expires_at) })),
      pendingMessages: pending.map((row) => ({
        id: Number(row.seq),
        sender: String(row.sender),
        size: Number(row.size),
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
        ...(options.envelopes ? { envelope: bytes(row.envelope) } : {}),
      })),
      sentPending: sent.map((row) => ({
        id: Number(row.seq),
        recipient: String(row.recipient),
        size: Number(row.size),
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      })),
      attachmentsOwned: owned.map((row) => ({
        hash: String(row.hash),
        size: Number(row.size),
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
        recipients: Number(row.n),
      })),
      attachmentsReceived: received.map((row) => ({
        hash: String(row.hash),
        owner: String(row.owner),
        size: Number(row.size),
        expiresAt: Number(row.expires_at),
        fetchedAt: row.fetched_at === null ? null : Number(row.fetched_at),
      })),
      hold: await this.#hold(db, username),
    };
  }

  async personalData(logId: LogId, index: number): Promise<{ field: string; data: string }[]> {
    const rows = await query(
      this.#pool,
      "SELECT field, data FROM merkle_log_personal_data WHERE log_id = $1 AND idx = $2 ORDER BY field",
      [logId, index],
    );
    return rows.map((row) => ({
      field: String(row.field),
      data: Buffer.from(bytes(row.data)).toString("utf8"),
    }));
  }

  async ktSalts(username: string): Promise<{ index: number; salt: Uint8Array }[]> {
    const rows = await query(
      this.#pool,
      "SELECT idx, salt FROM merkle_log_personal_data WHERE log_id = 'kt' AND field = 'username' AND data = $1 ORDER BY idx",
      [Buffer.from(username, "utf8")],
    );
    return rows.map((row) => ({ index: Number(row.idx), salt: bytes(row.salt) }));
  }

  erase(
    username: string,
    skeletonKey: Uint8Array,
    now: number,
    coolingOffMs: number,
    event: (result: ErasureResult) => RelayAuditEvent,
  ): Promise<ErasureResult> {
    return transaction(this.#pool, async (tx) => {
      // The account row locked first: a concurrent claim, update or hold waits for this erasure.
      const [locked] = await query(tx, "SELECT username FROM accounts WHERE username = $1 FOR UPDATE", [
        username,
      ]);
      if (locked === undefined) throw new NanoError("account_not_found", `no account is named ${username}`);
      if ((await this.#hold(tx, username)) !== null)
        throw new NanoError(
          "account_on_hold",
          `${username} is under a legal hold; release it first (nano-relay compliance release)`,
        );
      const result = await this.#eraseIn(tx, username, skeletonKey, now, coolingOffMs);
      await this.#transparency.appendEvent(tx, event(result));
      return result;
    });
  }

  async #eraseIn(
    tx: PoolClient,
    username: string,
    skeletonKey: Uint8Array,
    now: number,
    coolingOffMs: number,
  ): Promise<ErasureResult> {
    const count = async (sql: string) => Number((await query(tx, sql, [username]))[0]?.n ?? 0);
    const tokens = await count("SELECT count(*) AS n FROM tokens WHERE username = $1");
    const prekeys =
      (await count("SELECT count(*) AS n FROM prekey_bundles WHERE username = $1")) +
      (await count("SELECT count(*) AS n FROM one_time_prekeys WHERE username = $1"));
    // Others' mailbox counters lose what this account sent them (rows locked in recipient order).
    for (const row of await query(
      tx,
      `SELECT recipient, count(*) AS n, sum(size) AS b FROM messages
       WHERE sender = $1 AND recipient <> sender GROUP BY recipient ORDER BY recipient`,
      [username],
    ))
      await query(
        tx,
        "UPDATE mailboxes SET messages = messages - $1, bytes = bytes - $2 WHERE recipient = $3",
        [Number(row.n), Number(row.b), String(row.recipient)],
      );
    const messages = (
      await query(tx, "DELETE FROM messages WHERE recipient = $1 OR sender = $1 RETURNING 1", [username])
    ).length;
    await query(tx, "DELETE FROM sent_messages WHERE sender = $1 OR recipient = $1", [username]);
    await query(tx, "DELETE FROM mailboxes WHERE recipient = $1", [username]);
    const blobs = (await query(tx, "SELECT hash FROM attachments WHERE owner = $1", [username])).map((row) =>
      String(row.hash),
    );
    await query(tx, "DELETE FROM attachment_recipients WHERE username = $1", [username]);
    const attachments = (await query(tx, "DELETE FROM attachments WHERE owner = $1 RETURNING 1", [username]))
      .length;
    await query(tx, "DELETE FROM accounts WHERE username = $1", [username]);
    const personalDataRows = (
      await query(
        tx,
        `DELETE FROM merkle_log_personal_data WHERE (log_id, idx) IN
           (SELECT log_id, idx FROM merkle_log_personal_data WHERE field = 'username' AND data = $1) RETURNING 1`,
        [Buffer.from(username, "utf8")],
      )
    ).length;
    await query(tx, "DELETE FROM kt_latest_binding WHERE username = $1", [username]);
    const tombstoneUntil = now + coolingOffMs;
    await query(
      tx,
      `INSERT INTO account_tombstones (skeleton_key, erased_at, until) VALUES ($1, $2, $3)
       ON CONFLICT (skeleton_key) DO UPDATE SET erased_at = excluded.erased_at, until = excluded.until`,
      [skeletonKey, now, tombstoneUntil],
    );
    return { messages, attachments, tokens, prekeys, personalDataRows, blobs, tombstoneUntil };
  }

  setHold(
    username: string,
    hold: boolean,
    now: number,
    event: (changed: boolean) => RelayAuditEvent,
  ): Promise<boolean> {
    return transaction(this.#pool, async (tx) => {
      let changed: boolean;
      if (hold) {
        const [locked] = await query(tx, "SELECT 1 FROM accounts WHERE username = $1 FOR SHARE", [username]);
        if (locked === undefined) throw new NanoError("account_not_found", `no account is named ${username}`);
        changed =
          (
            await query(
              tx,
              "INSERT INTO legal_holds (username, placed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
              [username, now],
            )
          ).length === 1;
      } else
        changed =
          (await query(tx, "DELETE FROM legal_holds WHERE username = $1 RETURNING 1", [username])).length ===
          1;
      await this.#transparency.appendEvent(tx, event(changed));
      return changed;
    });
  }

  async latestErasure(): Promise<number | null> {
    const [row] = await query(this.#pool, "SELECT max(erased_at) AS latest FROM account_tombstones");
    return row?.latest === null || row?.latest === undefined ? null : Number(row.latest);
  }

  async counts(now: number): Promise<{ activeHolds: number; liveTombstones: number }> {
    const [holds] = await query(this.#pool, "SELECT count(*) AS n FROM legal_holds");
    const [tombstones] = await query(
      this.#pool,
      "SELECT count(*) AS n FROM account_tombstones WHERE until > $1",
      [now],
    );
    return { activeHolds: Number(holds?.n ?? 0), liveTombstones: Number(tombstones?.n ?? 0) };
  }
}
