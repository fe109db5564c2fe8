/**
 * The compliance side of the SQLite store (docs/compliance.md): everything the database holds about
 * one account (export), erasure with a cooling-off tombstone, and legal holds. Used by the operator
 * commands on the relay's database file while the relay may be running (WAL: readers never block, and
 * each change here is one short write transaction that the relay's writers wait for).
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { auditLeafTime } from "../../audit/audit-event.ts";
import { NanoError } from "../../errors/index.ts";
import type { AccountData, AccountRecord, ErasureResult, LegalHold } from "../types.ts";

type Row = Record<string, SQLInputValue>;

function bytes(value: SQLInputValue | undefined): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new TypeError("expected a BLOB column");
}

/** The first schema version with the tombstone and hold tables. */
export const COMPLIANCE_MIGRATION = 7;

export class SqliteCompliance {
  readonly #db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#db.prepare(sql).all(...params) as Row[];
  }

  #get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#db.prepare(sql).get(...params) as Row | undefined;
  }

  #run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.#db.prepare(sql).run(...params).changes);
  }

  account(username: string): AccountRecord | null {
    const row = this.#get("SELECT * FROM accounts WHERE username = ?", username);
    if (row === undefined) return null;
    return {
      username: String(row.username),
      skeleton: String(row.skeleton),
      identityHash: bytes(row.identity_hash),
      identityRecord: bytes(row.identity_record),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  }

  hold(username: string): LegalHold | null {
    const row = this.#get("SELECT username, placed_at FROM legal_holds WHERE username = ?", username);
    return row === undefined ? null : { username: String(row.username), placedAt: Number(row.placed_at) };
  }

  /** Everything about `username` (null: no such account); envelopes only when asked for. */
  accountData(username: string, options: { envelopes: boolean }): AccountData | null {
    const account = this.account(username);
    if (account === null) return null;
    const prekeys = this.#all(
      `SELECT b.suite, b.uploaded_at, b.signed_prekey_created_at,
              (SELECT count(*) FROM one_time_prekeys o WHERE o.username = b.username AND o.suite = b.suite) AS n
       FROM prekey_bundles b WHERE b.username = ? ORDER BY b.suite`,
      username,
    ).map((row) => ({
      suite: Number(row.suite),
      uploadedAt: Number(row.uploaded_at),
      signedPrekeyCreatedAt: Number(row.signed_prekey_created_at),
      oneTimePrekeys: Number(row.n),
    }));
    const tokens = this.#all(
      "SELECT expires_at FROM tokens WHERE username = ? ORDER BY expires_at",
      username,
    ).map((row) => ({ expiresAt: Number(row.expires_at) }));
    const pendingMessages = this.#all(
      `SELECT id, sender, size, created_at, expires_at${options.envelopes ? ", envelope" : ""}
       FROM messages WHERE recipient = ? ORDER BY id`,
      username,
    ).map((row) => ({
      id: Number(row.id),
      sender: String(row.sender),
      size: Number(row.size),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      ...(options.envelopes ? { envelope: bytes(row.envelope) } : {}),
    }));
    const sentPending = this.#all(
      "SELECT id, recipient, size, created_at, expires_at FROM messages WHERE sender = ? ORDER BY id",
      username,
    ).map((row) => ({
      id: Number(row.id),
      recipient: String(row.recipient),
      size: Number(row.size),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    }));
    const attachmentsOwned = this.#all(
      `SELECT a.hash, a.size, a.created_at, a.expires_at,
              (SELECT count(*) FROM attachment_recipients r WHERE r.hash = a.hash) AS n
       FROM attachments a WHERE a.owner = ? ORDER BY a.created_at, a.hash`,
      username,
    ).map((row) => ({
      hash: String(row.hash),
      size: Number(row.size),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      recipients: Number(row.n),
    }));
    const attachmentsReceived = this.#all(
      `SELECT a.hash, a.owner, a.size, a.expires_at, r.fetched_at
       FROM attachment_recipients r JOIN attachments a ON a.hash = r.hash
       WHERE r.username = ? ORDER BY a.created_at, a.hash`,
      username,
    ).map((row) => ({
      hash: String(row.hash),
      owner: String(row.owner),
      size: Number(row.size),
      expiresAt: Number(row.expires_at),
      fetchedAt: row.fetched_at === null ? null : Number(row.fetched_at),
    }));
    return {
      account,
      prekeys,
      tokens,
      pendingMessages,
      sentPending,
      attachmentsOwned,
      attachmentsReceived,
      hold: this.hold(username),
    };
  }

  /** A live tombstone (cooling-off not over) for this skeleton key? */
  /** The newest tombstone's erasure time, or null (src/relay/erasure-watch.ts). */
  latestErasure(): number | null {
    const row = this.#get("SELECT MAX(erased_at) AS latest FROM account_tombstones");
    return row?.latest === null || row?.latest === undefined ? null : Number(row.latest);
  }

  tombstoned(skeletonKey: Uint8Array, now: number): boolean {
    return (
      this.#get(
        "SELECT 1 AS one FROM account_tombstones WHERE skeleton_key = ? AND until > ?",
        skeletonKey,
        now,
      )?.one === 1
    );
  }

  /**
   * Deletes the account and everything that names it, inside the caller's transaction (the caller
   * appends the audit event in the same one): the account (its tokens and prekeys cascade), messages to
   * and from it with their idempotency records, its attachments' metadata and its place on others',
   * the personal data behind log commitments that name it (and every other field of those leaves, e.g.
   * the address of its failed logins), its latest-binding pointer; then leaves a tombstone. Refuses an
   * account under legal hold (account_on_hold) and an unknown one (account_not_found).
   */
  eraseSync(username: string, skeletonKey: Uint8Array, now: number, coolingOffMs: number): ErasureResult {
    if (this.hold(username) !== null)
      throw new NanoError(
        "account_on_hold",
        `${username} is under a legal hold; release it first (nano-relay compliance release)`,
      );
    if (this.account(username) === null)
      throw new NanoError("account_not_found", `no account is named ${username}`);
    const count = (sql: string) => Number(this.#get(sql, username)?.n ?? 0);
    const tokens = count("SELECT count(*) AS n FROM tokens WHERE username = ?");
    const prekeys =
      count("SELECT count(*) AS n FROM prekey_bundles WHERE username = ?") +
      count("SELECT count(*) AS n FROM one_time_prekeys WHERE username = ?");
    // Others' mailbox counters lose what this account sent them.
    for (const row of this.#all(
      "SELECT recipient, count(*) AS n, sum(size) AS b FROM messages WHERE sender = ? AND recipient <> sender GROUP BY recipient",
      username,
    ))
      this.#run(
        "UPDATE mailbox_usage SET messages = messages - ?, bytes = bytes - ? WHERE recipient = ?",
        Number(row.n),
        Number(row.b),
        String(row.recipient),
      );
    const messages = this.#run("DELETE FROM messages WHERE recipient = ?1 OR sender = ?1", username);
    this.#run("DELETE FROM sent_messages WHERE sender = ?1 OR recipient = ?1", username);
    this.#run("DELETE FROM mailbox_usage WHERE recipient = ?", username);
    const blobs = this.#all("SELECT hash FROM attachments WHERE owner = ?", username).map((row) =>
      String(row.hash),
    );
    this.#run("DELETE FROM attachment_recipients WHERE username = ?", username);
    const attachments = this.#run("DELETE FROM attachments WHERE owner = ?", username);
    this.#run("DELETE FROM accounts WHERE username = ?", username);
    const personalDataRows = this.#run(
      `DELETE FROM merkle_log_personal_data WHERE (log_id, idx) IN
         (SELECT log_id, idx FROM merkle_log_personal_data WHERE field = 'username' AND data = ?)`,
      Buffer.from(username, "utf8"),
    );
    this.#run("DELETE FROM kt_latest_binding WHERE username = ?", username);
    const tombstoneUntil = now + coolingOffMs;
    this.#run(
      `INSERT INTO account_tombstones (skeleton_key, erased_at, until) VALUES (?, ?, ?)
       ON CONFLICT (skeleton_key) DO UPDATE SET erased_at = excluded.erased_at, until = excluded.until`,
      skeletonKey,
      now,
      tombstoneUntil,
    );
    return { messages, attachments, tokens, prekeys, personalDataRows, blobs, tombstoneUntil };
  }

  /** Places a hold (idempotent: an existing hold keeps its date); false if it already existed. */
  placeHoldSync(username: string, now: number): boolean {
    if (this.account(username) === null)
      throw new NanoError("account_not_found", `no account is named ${username}`);
    return (
      this.#run("INSERT OR IGNORE INTO legal_holds (username, placed_at) VALUES (?, ?)", username, now) === 1
    );
  }

  /** Lifts a hold; false when there was none. */
  releaseHoldSync(username: string): boolean {
    return this.#run("DELETE FROM legal_holds WHERE username = ?", username) === 1;
  }

  /**
   * The first audit-log index whose event is at or after `cutoff` (binary search on the leaves' time
   * field, bytes 1..8 big-endian). Leaves are appended in time order, so everything below it is older;
   * a leaf stamped a few milliseconds out of order moves the boundary by no more than that.
   */
  #firstAuditIndexAtOrAfter(cutoff: number): number {
    const size = Number(
      this.#get("SELECT tree_size FROM merkle_log_head WHERE log_id = 'audit'")?.tree_size ?? 0,
    );
    const entry = this.#db.prepare("SELECT data FROM merkle_log_entries WHERE log_id = 'audit' AND idx = ?");
    let low = 0;
    let high = size;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const data = entry.get(middle)?.data;
      const time = data instanceof Uint8Array ? auditLeafTime(data) : undefined;
      if (time === undefined) return low;
      if (time < cutoff) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** RetentionStore.purgeAuditPersonalData, inside the caller's transaction. */
  purgeAuditPersonalDataSync(cutoff: number, batch: number): number {
    const boundary = this.#firstAuditIndexAtOrAfter(cutoff);
    if (boundary === 0) return 0;
    return this.#run(
      `DELETE FROM merkle_log_personal_data WHERE log_id = 'audit' AND idx IN (
         SELECT DISTINCT p.idx FROM merkle_log_personal_data p
         WHERE p.log_id = 'audit' AND p.idx < ?
           AND NOT EXISTS (
             SELECT 1 FROM merkle_log_personal_data u JOIN legal_holds h ON u.data = CAST(h.username AS BLOB)
             WHERE u.log_id = 'audit' AND u.idx = p.idx AND u.field = 'username')
         ORDER BY p.idx LIMIT ?)`,
      boundary,
      batch,
    );
  }

  /** Tombstones whose cooling-off is over are forgotten (the sweeper). */
  expireTombstonesSync(now: number): number {
    return this.#run("DELETE FROM account_tombstones WHERE until <= ?", now);
  }
}
