/**
 * RelayStore over PostgreSQL, for several relay processes sharing one database (docs/cluster.md).
 * Passes the same conformance suite as SQLite (test/store/conformance.ts). What differs from SQLite
 * is how atomicity is had when other processes write at the same time:
 * - sends: one `nano_enqueue` call per group-commit batch; per-mailbox sequence numbers taken under
 *   the mailbox row lock (enqueue-batcher.ts, migrations/0001_core.up.sql);
 * - one-time prekeys: `FOR UPDATE SKIP LOCKED` picks a row no concurrent fetch holds, and the same
 *   statement deletes it: a key is handed out once whichever relay serves the fetch;
 * - claims: `ON CONFLICT DO NOTHING` waits for a concurrent insert of the same name or skeleton and
 *   then sees it: one winner;
 * - identity replacement and attachment quotas: row and advisory locks inside one transaction.
 */
import { auditLeafTime } from "../../audit/audit-event.ts";
import { constantTimeEqual } from "../../crypto/index.ts";
import type {
  AccountRecord,
  AccountStore,
  AttachmentRecord,
  AttachmentStore,
  MailboxStore,
  OneTimePrekey,
  PrekeyStore,
  RelayStore,
  RetentionStore,
  StoredBundle,
  StoredMessage,
  TokenRecord,
} from "../types.ts";
import {
  bytes,
  openPool,
  type Pool,
  type PoolOptions,
  ping,
  query,
  type Row,
  transaction,
} from "./connection.ts";
import { EnqueueBatcher } from "./enqueue-batcher.ts";
import type { PostgresJournal } from "./journal.ts";
import { migratePostgres } from "./migrations.ts";

export interface PostgresStoreOptions extends PoolOptions {
  readonly maxBatch?: number;
  /** Apply pending migrations on open (tests; the relay migrates explicitly so each step is audited). */
  readonly migrate?: boolean;
}

function account(row: Row): AccountRecord {
  return {
    username: String(row.username),
    skeleton: String(row.skeleton),
    identityHash: bytes(row.identity_hash),
    identityRecord: bytes(row.identity_record),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function bundle(row: Row): StoredBundle {
  return {
    suite: Number(row.suite),
    bundle: bytes(row.bundle),
    lastResort: bytes(row.last_resort),
    signedPrekeyCreatedAt: Number(row.signed_prekey_created_at),
    uploadedAt: Number(row.uploaded_at),
  };
}

function message(row: Row): StoredMessage {
  return {
    id: Number(row.seq),
    sender: String(row.sender),
    recipient: String(row.recipient),
    envelope: bytes(row.envelope),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

function attachment(row: Row): AttachmentRecord {
  return {
    hash: String(row.hash),
    owner: String(row.owner),
    size: Number(row.size),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

export class PostgresStore implements RelayStore {
  readonly pool: Pool;
  readonly writer: EnqueueBatcher;
  readonly accounts: AccountStore;
  readonly prekeys: PrekeyStore;
  readonly mailboxes: MailboxStore;
  readonly attachments: AttachmentStore;
  readonly retention: RetentionStore;
  /** Audit and key-transparency entries written inside account-change transactions. */
  journal: PostgresJournal | null = null;
  #closed = false;

  private constructor(pool: Pool, maxBatch: number) {
    this.pool = pool;
    this.writer = new EnqueueBatcher(pool, maxBatch);
    this.accounts = this.#accountStore();
    this.prekeys = this.#prekeyStore();
    this.mailboxes = this.#mailboxStore();
    this.attachments = this.#attachmentStore();
    this.retention = {
      purgeAuditPersonalData: (cutoff, batch) => this.#purgeAuditPersonalData(cutoff, batch),
      expireTombstones: async (now) =>
        (await query(this.pool, "DELETE FROM account_tombstones WHERE until <= $1 RETURNING 1", [now]))
          .length,
    };
  }

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const pool = openPool(options);
    try {
      if (options.migrate === true) await migratePostgres(pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresStore(pool, options.maxBatch ?? 512);
  }

  /**
   * RetentionStore.purgeAuditPersonalData, as on SQLite (src/store/sqlite/compliance.ts): the first
   * audit entry at or after `cutoff` by binary search on the leaves' time, then at most `batch` side-table
   * rows below it, skipping entries that name an account under legal hold.
   */
  async #purgeAuditPersonalData(cutoff: number, batch: number): Promise<number> {
    const [head] = await query(this.pool, "SELECT tree_size FROM merkle_log_head WHERE log_id = 'audit'");
    let low = 0;
    let high = Number(head?.tree_size ?? 0);
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const [row] = await query(
        this.pool,
        "SELECT data FROM merkle_log_entries WHERE log_id = 'audit' AND idx = $1",
        [middle],
      );
      const time = row === undefined ? undefined : auditLeafTime(bytes(row.data));
      if (time === undefined) break;
      if (time < cutoff) low = middle + 1;
      else high = middle;
    }
    if (low === 0) return 0;
    return (
      await query(
        this.pool,
        `DELETE FROM merkle_log_personal_data WHERE log_id = 'audit' AND idx IN (
           SELECT DISTINCT p.idx FROM merkle_log_personal_data p
           WHERE p.log_id = 'audit' AND p.idx < $1
             AND NOT EXISTS (
               SELECT 1 FROM merkle_log_personal_data u JOIN legal_holds h ON u.data = convert_to(h.username, 'UTF8')
               WHERE u.log_id = 'audit' AND u.idx = p.idx AND u.field = 'username')
           ORDER BY p.idx LIMIT $2)
         RETURNING 1`,
        [low, batch],
      )
    ).length;
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    return ping(this.pool);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.writer.flush();
    await this.pool.end();
  }

  #accountStore(): AccountStore {
    return {
      claim: (candidate, context = {}) =>
        transaction(this.pool, async (tx) => {
          // An erased name (or a confusable one) is not free until its cooling-off ends.
          if (context.tombstoneKey !== undefined) {
            const [tombstone] = await query(
              tx,
              "SELECT 1 FROM account_tombstones WHERE skeleton_key = $1 AND until > $2",
              [context.tombstoneKey, candidate.createdAt],
            );
            if (tombstone !== undefined) return { outcome: "cooling_off" as const, account: candidate };
          }
          const inserted = await query(
            tx,
            `INSERT INTO accounts (username, skeleton, identity_hash, identity_record, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING username`,
            [
              candidate.username,
              candidate.skeleton,
              candidate.identityHash,
              candidate.identityRecord,
              candidate.createdAt,
              candidate.updatedAt,
            ],
          );
          if (inserted.length === 1) {
            await this.journal?.accountClaimed(tx, candidate, context);
            return { outcome: "created" as const, account: candidate };
          }
          const [owned] = await query(tx, "SELECT * FROM accounts WHERE username = $1", [candidate.username]);
          if (owned !== undefined) {
            const existing = account(owned);
            const same = constantTimeEqual(existing.identityHash, candidate.identityHash);
            return { outcome: same ? ("already_owned" as const) : ("taken" as const), account: existing };
          }
          const [lookalike] = await query(tx, "SELECT * FROM accounts WHERE skeleton = $1", [
            candidate.skeleton,
          ]);
          if (lookalike === undefined)
            // The conflicting row was deleted between our insert and these reads: let the caller retry.
            throw Object.assign(new Error("claim raced a deletion"), { code: "40001" });
          return { outcome: "taken" as const, account: account(lookalike) };
        }),
      get: async (username) => {
        const [row] = await query(this.pool, "SELECT * FROM accounts WHERE username = $1", [username]);
        return row === undefined ? null : account(row);
      },
      replaceIdentity: (username, expectedHash, next, now, context = {}) =>
        transaction(this.pool, async (tx) => {
          const [row] = await query(tx, "SELECT identity_hash FROM accounts WHERE username = $1 FOR UPDATE", [
            username,
          ]);
          if (row === undefined || !constantTimeEqual(bytes(row.identity_hash), expectedHash)) return false;
          await query(
            tx,
            "UPDATE accounts SET identity_hash = $1, identity_record = $2, updated_at = $3 WHERE username = $4",
            [next.identityHash, next.identityRecord, now, username],
          );
          await query(tx, "DELETE FROM prekey_bundles WHERE username = $1", [username]);
          await query(tx, "DELETE FROM one_time_prekeys WHERE username = $1", [username]);
          await query(tx, "DELETE FROM tokens WHERE username = $1", [username]);
          await this.journal?.identityReplaced(tx, username, next, now, context);
          return true;
        }),
      // FOR SHARE: an identity update (FOR UPDATE on the same row) either waits for this token and
      // then deletes it, or commits first and this sees the new hash and mints nothing.
      putToken: (tokenHash, token, identityHash) =>
        transaction(this.pool, async (tx) => {
          const [row] = await query(tx, "SELECT identity_hash FROM accounts WHERE username = $1 FOR SHARE", [
            token.username,
          ]);
          if (row === undefined || !constantTimeEqual(bytes(row.identity_hash), identityHash)) return false;
          await query(
            tx,
            `INSERT INTO tokens (token_hash, username, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (token_hash) DO UPDATE SET username = excluded.username, expires_at = excluded.expires_at`,
            [tokenHash, token.username, token.expiresAt],
          );
          return true;
        }),
      getToken: async (tokenHash): Promise<TokenRecord | null> => {
        const [row] = await query(
          this.pool,
          "SELECT username, expires_at FROM tokens WHERE token_hash = $1",
          [tokenHash],
        );
        return row === undefined
          ? null
          : { username: String(row.username), expiresAt: Number(row.expires_at) };
      },
      deleteToken: async (tokenHash) => {
        await query(this.pool, "DELETE FROM tokens WHERE token_hash = $1", [tokenHash]);
      },
      deleteExpiredTokens: async (now) =>
        (await query(this.pool, "DELETE FROM tokens WHERE expires_at <= $1 RETURNING 1", [now])).length,
    };
  }

  #prekeyStore(): PrekeyStore {
    const count = async (db: Parameters<typeof query>[0], username: string, suite: number) =>
      Number(
        (
          await query(db, "SELECT count(*) AS n FROM one_time_prekeys WHERE username = $1 AND suite = $2", [
            username,
            suite,
          ])
        )[0]?.n ?? 0,
      );
    return {
      putBundle: async (username, stored) => {
        await query(
          this.pool,
          `INSERT INTO prekey_bundles (username, suite, bundle, last_resort, signed_prekey_created_at, uploaded_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (username, suite) DO UPDATE SET bundle = excluded.bundle,
             last_resort = excluded.last_resort, signed_prekey_created_at = excluded.signed_prekey_created_at,
             uploaded_at = excluded.uploaded_at`,
          [
            username,
            stored.suite,
            stored.bundle,
            stored.lastResort,
            stored.signedPrekeyCreatedAt,
            stored.uploadedAt,
          ],
        );
      },
      addOneTimePrekeys: (username, suite, prekeys: readonly OneTimePrekey[]) =>
        transaction(this.pool, async (tx) => {
          // FOR SHARE: an identity replacement (which deletes the bundle and every key) waits for us,
          // so no key is left behind without its bundle.
          const found = await query(
            tx,
            "SELECT 1 FROM prekey_bundles WHERE username = $1 AND suite = $2 FOR SHARE",
            [username, suite],
          );
          if (found.length === 0) return null;
          await query(
            tx,
            `INSERT INTO one_time_prekeys (username, suite, key_id, prekey)
             SELECT $1, $2, k, p FROM unnest($3::text[], $4::bytea[]) WITH ORDINALITY AS t(k, p, n) ORDER BY n
             ON CONFLICT (username, suite, key_id) DO NOTHING`,
            [username, suite, prekeys.map((p) => p.id), prekeys.map((p) => p.prekey)],
          );
          return count(tx, username, suite);
        }),
      takeBundle: async (username, suite) => {
        // One statement: the key row is locked (skipping rows other fetches hold), deleted and returned
        // with the bundle. The EXISTS guard means a fetch of a suite without a bundle burns nothing.
        const rows = await query(
          this.pool,
          `WITH taken AS (
             DELETE FROM one_time_prekeys WHERE id = (
               SELECT id FROM one_time_prekeys
               WHERE username = $1 AND suite = $2
                 AND EXISTS (SELECT 1 FROM prekey_bundles WHERE username = $1 AND suite = $2)
               ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING key_id, prekey)
           SELECT b.*, taken.key_id, taken.prekey FROM prekey_bundles b LEFT JOIN taken ON true
           WHERE b.username = $1 AND b.suite = $2`,
          [username, suite],
        );
        const row = rows[0];
        if (row === undefined) return null;
        const oneTime =
          row.key_id === null || row.key_id === undefined
            ? null
            : { id: String(row.key_id), prekey: bytes(row.prekey) };
        return { bundle: bundle(row), oneTime };
      },
      getBundle: async (username, suite) => {
        const [row] = await query(
          this.pool,
          "SELECT * FROM prekey_bundles WHERE username = $1 AND suite = $2",
          [username, suite],
        );
        return row === undefined ? null : bundle(row);
      },
      listBundles: async (username) =>
        (
          await query(this.pool, "SELECT * FROM prekey_bundles WHERE username = $1 ORDER BY suite", [
            username,
          ])
        ).map(bundle),
      countOneTimePrekeys: (username, suite) => count(this.pool, username, suite),
    };
  }

  #mailboxStore(): MailboxStore {
    return {
      enqueue: (messages, quota) => Promise.all(messages.map((m) => this.writer.submit(m, quota))),
      fetch: async (recipient, afterId, limit, now) =>
        (
          await query(
            this.pool,
            `SELECT seq, sender, recipient, envelope, created_at, expires_at FROM messages
             WHERE recipient = $1 AND seq > $2 AND expires_at > $3 ORDER BY seq LIMIT $4`,
            [recipient, afterId, now, limit],
          )
        ).map(message),
      acknowledge: async (recipient, ids) => {
        if (ids.length === 0) return 0;
        const [row] = await query(
          this.pool,
          `WITH gone AS (
             DELETE FROM messages WHERE recipient = $1 AND seq = ANY ($2::bigint[]) RETURNING size),
           totals AS (SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM gone),
           updated AS (
             UPDATE mailboxes SET messages = messages - totals.n, bytes = bytes - totals.b
             FROM totals WHERE recipient = $1 AND totals.n > 0 RETURNING 1)
           SELECT n FROM totals`,
          [recipient, [...new Set(ids)]],
        );
        return Number(row?.n ?? 0);
      },
      expire: (now) =>
        transaction(this.pool, async (tx) => {
          const [row] = await query(
            tx,
            `WITH gone AS (DELETE FROM messages WHERE expires_at <= $1 RETURNING recipient, size),
             per AS (SELECT recipient, count(*) AS n, sum(size) AS b FROM gone GROUP BY recipient),
             updated AS (
               UPDATE mailboxes m SET messages = m.messages - per.n, bytes = m.bytes - per.b
               FROM per WHERE m.recipient = per.recipient RETURNING 1)
             SELECT coalesce(sum(n), 0) AS n FROM per`,
            [now],
          );
          await query(tx, "DELETE FROM sent_messages WHERE expires_at <= $1", [now]);
          return Number(row?.n ?? 0);
        }),
      depth: async (recipient) => {
        const [row] = await query(this.pool, "SELECT messages, bytes FROM mailboxes WHERE recipient = $1", [
          recipient,
        ]);
        return { messages: Number(row?.messages ?? 0), bytes: Number(row?.bytes ?? 0) };
      },
      totals: async () => {
        const [row] = await query(
          this.pool,
          `SELECT coalesce(sum(messages), 0) AS m, coalesce(sum(bytes), 0) AS b,
             count(*) FILTER (WHERE messages > 0) AS n FROM mailboxes`,
        );
        return { messages: Number(row?.m ?? 0), bytes: Number(row?.b ?? 0), mailboxes: Number(row?.n ?? 0) };
      },
    };
  }

  #attachmentStore(): AttachmentStore {
    const usage = async (db: Parameters<typeof query>[0], owner: string) =>
      Number(
        (await query(db, "SELECT coalesce(sum(size), 0) AS s FROM attachments WHERE owner = $1", [owner]))[0]
          ?.s ?? 0,
      );
    return {
      put: (record, recipients, quotaBytes) =>
        transaction(this.pool, async (tx) => {
          // The owner's quota is a sum over rows: two uploads by one owner on two relays must not both
          // pass the check. Owner lock first, then the address: a fixed order, no lock cycle.
          await query(
            tx,
            "SELECT pg_advisory_xact_lock(hashtextextended('nano-attachment-owner:' || $1, 0))",
            [record.owner],
          );
          await query(tx, "SELECT pg_advisory_xact_lock(hashtextextended('nano-attachment:' || $1, 0))", [
            record.hash,
          ]);
          const [existing] = await query(tx, "SELECT owner FROM attachments WHERE hash = $1", [record.hash]);
          if (existing !== undefined && existing.owner !== record.owner) return "not_owner" as const;
          if (existing === undefined) {
            // Blobs in their grace period still count: they are still stored.
            if ((await usage(tx, record.owner)) + record.size > quotaBytes) return "over_quota" as const;
            await query(
              tx,
              "INSERT INTO attachments (hash, owner, size, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
              [record.hash, record.owner, record.size, record.createdAt, record.expiresAt],
            );
          } else {
            await query(tx, "UPDATE attachments SET expires_at = greatest(expires_at, $1) WHERE hash = $2", [
              record.expiresAt,
              record.hash,
            ]);
          }
          if (recipients.length > 0)
            await query(
              tx,
              `INSERT INTO attachment_recipients (hash, username) SELECT $1, u FROM unnest($2::text[]) AS u
               ON CONFLICT (hash, username) DO UPDATE SET fetched_at = NULL`,
              [record.hash, [...new Set(recipients)]],
            );
          return "stored" as const;
        }),
      get: async (hash) => {
        const [row] = await query(this.pool, "SELECT * FROM attachments WHERE hash = $1", [hash]);
        return row === undefined ? null : attachment(row);
      },
      isRecipient: async (hash, username) =>
        (
          await query(this.pool, "SELECT 1 FROM attachment_recipients WHERE hash = $1 AND username = $2", [
            hash,
            username,
          ])
        ).length === 1,
      recordFetch: (hash, username, now, keepUntil) =>
        transaction(this.pool, async (tx) => {
          // Lock the attachment row first: two last fetches on two relays must agree on who was last.
          const locked = await query(tx, "SELECT 1 FROM attachments WHERE hash = $1 FOR UPDATE", [hash]);
          if (locked.length === 0) return false;
          const marked = await query(
            tx,
            `UPDATE attachment_recipients SET fetched_at = $1
             WHERE hash = $2 AND username = $3 AND fetched_at IS NULL RETURNING 1`,
            [now, hash, username],
          );
          if (marked.length === 0) return false;
          const [left] = await query(
            tx,
            "SELECT count(*) AS n FROM attachment_recipients WHERE hash = $1 AND fetched_at IS NULL",
            [hash],
          );
          if (Number(left?.n ?? 0) > 0) return false;
          await query(tx, "UPDATE attachments SET expires_at = least(expires_at, $1) WHERE hash = $2", [
            keepUntil,
            hash,
          ]);
          return true;
        }),
      delete: async (hash) => {
        await query(this.pool, "DELETE FROM attachments WHERE hash = $1", [hash]);
      },
      usage: (owner) => usage(this.pool, owner),
      expire: async (now) =>
        (await query(this.pool, "DELETE FROM attachments WHERE expires_at <= $1 RETURNING hash", [now])).map(
          (row) => String(row.hash),
        ),
    };
  }
}
