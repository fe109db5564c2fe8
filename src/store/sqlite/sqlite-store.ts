import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { constantTimeEqual } from "../../crypto/index.ts";
import type {
  AccountRecord,
  AccountStore,
  AttachmentRecord,
  AttachmentStore,
  EnqueueResult,
  MailboxQuota,
  MailboxStore,
  NewMessage,
  OneTimePrekey,
  PrekeyStore,
  RelayStore,
  RetentionStore,
  StoredBundle,
  StoredMessage,
  StoreJournal,
  TokenRecord,
} from "../types.ts";
import { SqliteCompliance } from "./compliance.ts";
import { type Durability, GroupCommit } from "./group-commit.ts";
import { migrate } from "./migrations.ts";
import { StatementCache } from "./statement-cache.ts";
import { WalSync } from "./wal-sync.ts";

export interface SqliteStoreOptions {
  /** File path, or ":memory:" (tests of the logic only; not durable). */
  readonly path: string;
  readonly maxBatch?: number;
  readonly busyTimeoutMs?: number;
  /** Apply pending migrations on open (the server does; `nano-relay migrate` manages them explicitly). */
  readonly migrate?: boolean;
  /**
   * How commits reach the disk when the file is in WAL mode; by default the WAL's fsync off the event
   * loop (wal-sync.ts). Given the default, a caller may wrap it (tests hold syncs back with it).
   */
  readonly durability?: (walSync: WalSync) => Durability;
}

type Row = Record<string, SQLInputValue>;

function bytes(value: SQLInputValue | undefined): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new TypeError("expected a BLOB column");
}

/** Opens a database with the durability settings the relay promises. */
export function openDatabase(path: string, busyTimeoutMs = 5000): DatabaseSync {
  const creating = path !== ":memory:" && !existsSync(path);
  // 0700 folder, 0600 file (SQLite gives the -wal and -shm files the database file's mode): the file
  // holds every queued envelope, account and token hash, no business of other local users.
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
  if (creating && existsSync(path)) chmodSync(path, 0o600);
  // WAL + synchronous=FULL: a COMMIT has been fsynced before it returns, so an acknowledged message
  // survives a power cut, not just a process crash.
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  return db;
}

export class SqliteStore implements RelayStore {
  readonly db: DatabaseSync;
  readonly writer: GroupCommit;
  readonly accounts: AccountStore;
  readonly prekeys: PrekeyStore;
  readonly mailboxes: MailboxStore;
  readonly attachments: AttachmentStore;
  readonly retention: RetentionStore;
  /** Audit and key-transparency entries written inside account-change transactions (types.ts). */
  journal: StoreJournal | null = null;
  #closed = false;
  readonly #statements: StatementCache;
  /** The fsync off the event loop (wal-sync.ts); null for ":memory:" or a database not in WAL mode. */
  readonly #walSync: WalSync | null;
  /**
   * The largest message id this process knows to be durable: its own enqueues resolve only after
   * their sync, and a smaller id was committed earlier (AUTOINCREMENT under the write lock), so that
   * sync covered it too, whichever process wrote it.
   */
  #durableMessageId = 0;

  constructor(options: SqliteStoreOptions) {
    this.db = openDatabase(options.path, options.busyTimeoutMs);
    this.#statements = new StatementCache(this.db);
    if (options.migrate !== false) migrate(this.db);
    const wal = options.path !== ":memory:" && this.#get("PRAGMA journal_mode")?.journal_mode === "wal";
    // synchronous = NORMAL only together with the group commit's own fsync after every COMMIT: see
    // group-commit.ts. Tools that open the file with openDatabase alone keep FULL.
    if (wal) this.db.exec("PRAGMA synchronous = NORMAL");
    this.#walSync = wal ? new WalSync(options.path) : null;
    const durability = this.#walSync === null ? null : (options.durability?.(this.#walSync) ?? this.#walSync);
    this.writer = new GroupCommit(this.db, options.maxBatch ?? 512, durability);
    this.accounts = this.#accountStore();
    this.prekeys = this.#prekeyStore();
    this.mailboxes = this.#mailboxStore();
    this.attachments = this.#attachmentStore();
    const compliance = new SqliteCompliance(this.db);
    this.retention = {
      purgeAuditPersonalData: (cutoff, batch) =>
        this.writer.submit(() => compliance.purgeAuditPersonalDataSync(cutoff, batch)),
      expireTombstones: (now) => this.writer.submit(() => compliance.expireTombstonesSync(now)),
    };
  }

  #stmt(sql: string): StatementSync {
    return this.#statements.prepared(sql);
  }

  #get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#stmt(sql).get(...params) as Row | undefined;
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#stmt(sql).all(...params) as Row[];
  }

  #run(sql: string, ...params: SQLInputValue[]): { changes: number; lastInsertRowid: number } {
    const result = this.#stmt(sql).run(...params);
    return { changes: Number(result.changes), lastInsertRowid: Number(result.lastInsertRowid) };
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      return this.#get("SELECT 1 AS one")?.one === 1;
    } catch {
      return false;
    }
  }

  /**
   * A durable write that changes nothing, for readiness: the header's user_version (unused by the
   * relay, whose schema history lives in schema_migrations) rewritten with its own value. It takes the
   * write lock, appends a page to the WAL and fsyncs like any commit, so it fails exactly when the
   * disk, the file or its permissions would fail a message.
   */
  probeWrite(): Promise<void> {
    return this.writer.submit(() => {
      const version = Number(this.#get("PRAGMA user_version")?.user_version ?? 0);
      this.db.exec(`PRAGMA user_version = ${Math.trunc(version)}`);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.writer.close();
    this.#closed = true;
    await this.writer.settled();
    this.db.close();
    this.#walSync?.close();
  }

  #account(row: Row): AccountRecord {
    return {
      username: String(row.username),
      skeleton: String(row.skeleton),
      identityHash: bytes(row.identity_hash),
      identityRecord: bytes(row.identity_record),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  }

  #accountStore(): AccountStore {
    const select = "SELECT * FROM accounts WHERE username = ?";
    return {
      claim: (account, context = {}) =>
        this.writer.submit(() => {
          const existing = this.#get(select, account.username);
          if (existing !== undefined) {
            const owned = this.#account(existing);
            const same = constantTimeEqual(owned.identityHash, account.identityHash);
            return { outcome: same ? ("already_owned" as const) : ("taken" as const), account: owned };
          }
          const lookalike = this.#get("SELECT * FROM accounts WHERE skeleton = ?", account.skeleton);
          if (lookalike !== undefined)
            return { outcome: "taken" as const, account: this.#account(lookalike) };
          if (
            context.tombstoneKey !== undefined &&
            this.#get(
              "SELECT 1 AS one FROM account_tombstones WHERE skeleton_key = ? AND until > ?",
              context.tombstoneKey,
              account.createdAt,
            ) !== undefined
          )
            return { outcome: "cooling_off" as const, account };
          this.#run(
            "INSERT INTO accounts (username, skeleton, identity_hash, identity_record, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            account.username,
            account.skeleton,
            account.identityHash,
            account.identityRecord,
            account.createdAt,
            account.updatedAt,
          );
          this.journal?.accountClaimed(account, context);
          return { outcome: "created" as const, account };
        }),
      get: async (username) => {
        const row = this.#get(select, username);
        return row === undefined ? null : this.#account(row);
      },
      replaceIdentity: (username, expectedHash, next, now, context = {}) =>
        this.writer.submit(() => {
          const row = this.#get(select, username);
          if (row === undefined || !constantTimeEqual(bytes(row.identity_hash), expectedHash)) return false;
          this.#run(
            "UPDATE accounts SET identity_hash = ?, identity_record = ?, updated_at = ? WHERE username = ?",
            next.identityHash,
            next.identityRecord,
            now,
            username,
          );
          this.#run("DELETE FROM prekey_bundles WHERE username = ?", username);
          this.#run("DELETE FROM one_time_prekeys WHERE username = ?", username);
          this.#run("DELETE FROM tokens WHERE username = ?", username);
          this.journal?.identityReplaced(username, next, now, context);
          return true;
        }),
      putToken: (tokenHash, token, identityHash) =>
        this.writer.submit(() => {
          const row = this.#get("SELECT identity_hash FROM accounts WHERE username = ?", token.username);
          if (row === undefined || !constantTimeEqual(bytes(row.identity_hash), identityHash)) return false;
          this.#run(
            "INSERT OR REPLACE INTO tokens (token_hash, username, expires_at) VALUES (?, ?, ?)",
            tokenHash,
            token.username,
            token.expiresAt,
          );
          return true;
        }),
      getToken: async (tokenHash): Promise<TokenRecord | null> => {
        const row = this.#get("SELECT username, expires_at FROM tokens WHERE token_hash = ?", tokenHash);
        return row === undefined
          ? null
          : { username: String(row.username), expiresAt: Number(row.expires_at) };
      },
      deleteToken: (tokenHash) =>
        this.writer.submit(() => {
          this.#run("DELETE FROM tokens WHERE token_hash = ?", tokenHash);
        }),
      deleteExpiredTokens: (now) =>
        this.writer.submit(() => this.#run("DELETE FROM tokens WHERE expires_at <= ?", now).changes),
    };
  }

  #bundle(row: Row): StoredBundle {
    return {
      suite: Number(row.suite),
      bundle: bytes(row.bundle),
      lastResort: bytes(row.last_resort),
      signedPrekeyCreatedAt: Number(row.signed_prekey_created_at),
      uploadedAt: Number(row.uploaded_at),
    };
  }

  #prekeyStore(): PrekeyStore {
    const selectBundle = "SELECT * FROM prekey_bundles WHERE username = ? AND suite = ?";
    const count = (username: string, suite: number) =>
      Number(
        this.#get(
          "SELECT count(*) AS n FROM one_time_prekeys WHERE username = ? AND suite = ?",
          username,
          suite,
        )?.n ?? 0,
      );
    return {
      putBundle: (username, bundle) =>
        this.writer.submit(() => {
          this.#run(
            `INSERT INTO prekey_bundles (username, suite, bundle, last_resort, signed_prekey_created_at, uploaded_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (username, suite) DO UPDATE SET bundle = excluded.bundle,
               last_resort = excluded.last_resort, signed_prekey_created_at = excluded.signed_prekey_created_at,
               uploaded_at = excluded.uploaded_at`,
            username,
            bundle.suite,
            bundle.bundle,
            bundle.lastResort,
            bundle.signedPrekeyCreatedAt,
            bundle.uploadedAt,
          );
        }),
      addOneTimePrekeys: (username, suite, prekeys: readonly OneTimePrekey[]) =>
        this.writer.submit(() => {
          if (this.#get(selectBundle, username, suite) === undefined) return null;
          for (const prekey of prekeys) {
            this.#run(
              "INSERT OR IGNORE INTO one_time_prekeys (username, suite, key_id, prekey) VALUES (?, ?, ?, ?)",
              username,
              suite,
              prekey.id,
              prekey.prekey,
            );
          }
          return count(username, suite);
        }),
      // Through the writer: the pop must be atomic and durable, or a crash could hand a key out twice.
      takeBundle: (username, suite) =>
        this.writer.submit(() => {
          const row = this.#get(selectBundle, username, suite);
          if (row === undefined) return null;
          const key = this.#get(
            "SELECT key_id, prekey FROM one_time_prekeys WHERE username = ? AND suite = ? ORDER BY rowid LIMIT 1",
            username,
            suite,
          );
          let oneTime: OneTimePrekey | null = null;
          if (key !== undefined) {
            this.#run(
              "DELETE FROM one_time_prekeys WHERE username = ? AND suite = ? AND key_id = ?",
              username,
              suite,
              key.key_id!,
            );
            oneTime = { id: String(key.key_id), prekey: bytes(key.prekey) };
          }
          return { bundle: this.#bundle(row), oneTime };
        }),
      getBundle: async (username, suite) => {
        const row = this.#get(selectBundle, username, suite);
        return row === undefined ? null : this.#bundle(row);
      },
      listBundles: async (username) =>
        this.#all("SELECT * FROM prekey_bundles WHERE username = ? ORDER BY suite", username).map((row) =>
          this.#bundle(row),
        ),
      countOneTimePrekeys: async (username, suite) => count(username, suite),
    };
  }

  #message(row: Row): StoredMessage {
    return {
      id: Number(row.id),
      sender: String(row.sender),
      recipient: String(row.recipient),
      envelope: bytes(row.envelope),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    };
  }

  #enqueueOne(message: NewMessage, quota: MailboxQuota): EnqueueResult {
    const previous = this.#get(
      "SELECT server_id, recipient, envelope_hash FROM sent_messages WHERE sender = ? AND client_message_id = ?",
      message.sender,
      message.clientMessageId,
    );
    if (previous !== undefined) {
      const same =
        previous.recipient === message.recipient &&
        constantTimeEqual(bytes(previous.envelope_hash), message.envelopeHash);
      return same
        ? { ok: true, serverId: Number(previous.server_id), duplicate: true }
        : { ok: false, code: "client_message_id_conflict" };
    }
    const size = message.envelope.length;
    // The quota check and the count in one statement (a send runs it for every message): a first
    // message creates the row if it fits alone; later ones update it only while they fit, and a
    // row left unchanged means the mailbox is full. The savepoint undoes it if an insert below fails.
    if (1 > quota.maxMessages || size > quota.maxBytes) return { ok: false, code: "mailbox_full" };
    const counted = this.#run(
      `INSERT INTO mailbox_usage (recipient, messages, bytes) VALUES (?, 1, ?)
       ON CONFLICT (recipient) DO UPDATE SET messages = messages + 1, bytes = bytes + excluded.bytes
       WHERE messages + 1 <= ? AND bytes + excluded.bytes <= ?`,
      message.recipient,
      size,
      quota.maxMessages,
      quota.maxBytes,
    );
    if (counted.changes === 0) return { ok: false, code: "mailbox_full" };
    const { lastInsertRowid: id } = this.#run(
      "INSERT INTO messages (recipient, sender, envelope, size, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      message.recipient,
      message.sender,
      message.envelope,
      size,
      message.createdAt,
      message.expiresAt,
    );
    this.#run(
      "INSERT INTO sent_messages (sender, client_message_id, server_id, recipient, envelope_hash, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      message.sender,
      message.clientMessageId,
      id,
      message.recipient,
      message.envelopeHash,
      message.expiresAt,
    );
    return { ok: true, serverId: id, duplicate: false };
  }

  #deleteMessages(rows: readonly Row[]): number {
    for (const row of rows) {
      this.#run("DELETE FROM messages WHERE id = ?", row.id!);
      this.#run(
        "UPDATE mailbox_usage SET messages = messages - 1, bytes = bytes - ? WHERE recipient = ?",
        row.size!,
        row.recipient!,
      );
    }
    return rows.length;
  }

  #mailboxStore(): MailboxStore {
    return {
      enqueue: (messages, quota) =>
        // One submission per message: each commits (and can fail) independently but shares the batch.
        Promise.all(
          messages.map(async (message) => {
            const result = await this.writer.submit(() => this.#enqueueOne(message, quota));
            if (result.ok) this.#durableMessageId = Math.max(this.#durableMessageId, result.serverId);
            return result;
          }),
        ),
      fetch: async (recipient, afterId, limit, now) => {
        const rows = this.#all(
          "SELECT * FROM messages WHERE recipient = ? AND id > ? AND expires_at > ? ORDER BY id LIMIT ?",
          recipient,
          afterId,
          now,
          limit,
        ).map((row) => this.#message(row));
        // A message is handed out only once durable (group-commit.ts: a commit is visible before its
        // sync ends). Those up to the known-durable id go now; the rest, when they lead, wait for a
        // sync begun after this read — another worker's messages, or ones from before a restart.
        if (this.#walSync === null) return rows;
        const known = rows.findIndex((message) => message.id > this.#durableMessageId);
        if (known === -1) return rows;
        if (known > 0) return rows.slice(0, known);
        await this.writer.barrier();
        return rows;
      },
      acknowledge: (recipient, ids) =>
        this.writer.submit(() => {
          // One statement per acknowledged message and one quota update per ack: the ack path runs for
          // every delivered message, and its SELECT-then-DELETE and per-message UPDATE showed in profiles.
          let deleted = 0;
          let bytes = 0;
          for (const id of new Set(ids)) {
            const row = this.#get(
              "DELETE FROM messages WHERE id = ? AND recipient = ? RETURNING size",
              id,
              recipient,
            );
            if (row === undefined) continue;
            deleted++;
            bytes += Number(row.size);
          }
          if (deleted > 0)
            this.#run(
              "UPDATE mailbox_usage SET messages = messages - ?, bytes = bytes - ? WHERE recipient = ?",
              deleted,
              bytes,
              recipient,
            );
          return deleted;
        }),
      expire: (now) =>
        this.writer.submit(() => {
          const rows = this.#all("SELECT id, size, recipient FROM messages WHERE expires_at <= ?", now);
          this.#run("DELETE FROM sent_messages WHERE expires_at <= ?", now);
          return this.#deleteMessages(rows);
        }),
      depth: async (recipient) => {
        const row = this.#get("SELECT messages, bytes FROM mailbox_usage WHERE recipient = ?", recipient);
        return { messages: Number(row?.messages ?? 0), bytes: Number(row?.bytes ?? 0) };
      },
      totals: async () => {
        const row = this.#get(
          "SELECT coalesce(sum(messages), 0) AS m, coalesce(sum(bytes), 0) AS b, count(*) FILTER (WHERE messages > 0) AS n FROM mailbox_usage",
        );
        return { messages: Number(row?.m ?? 0), bytes: Number(row?.b ?? 0), mailboxes: Number(row?.n ?? 0) };
      },
    };
  }

  #attachment(row: Row): AttachmentRecord {
    return {
      hash: String(row.hash),
      owner: String(row.owner),
      size: Number(row.size),
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    };
  }

  #attachmentStore(): AttachmentStore {
    const usage = (owner: string) =>
      Number(this.#get("SELECT coalesce(sum(size), 0) AS s FROM attachments WHERE owner = ?", owner)?.s ?? 0);
    return {
      put: (record, recipients, quotaBytes) =>
        this.writer.submit(() => {
          const existing = this.#get("SELECT owner FROM attachments WHERE hash = ?", record.hash);
          if (existing !== undefined && existing.owner !== record.owner) return "not_owner" as const;
          if (existing === undefined) {
            // Blobs in their grace period still count: they are still on disk.
            if (usage(record.owner) + record.size > quotaBytes) return "over_quota" as const;
            this.#run(
              "INSERT INTO attachments (hash, owner, size, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
              record.hash,
              record.owner,
              record.size,
              record.createdAt,
              record.expiresAt,
            );
          } else {
            // The owner uploading again wants it fetched again: a blob in its grace period (or past
            // its expiry, not yet swept) gets the new upload's expiry back.
            this.#run(
              "UPDATE attachments SET expires_at = max(expires_at, ?) WHERE hash = ?",
              record.expiresAt,
              record.hash,
            );
          }
          for (const username of recipients) {
            // A recipient named again is one to fetch again, even if it fetched before.
            this.#run(
              `INSERT INTO attachment_recipients (hash, username) VALUES (?, ?)
               ON CONFLICT (hash, username) DO UPDATE SET fetched_at = NULL`,
              record.hash,
              username,
            );
          }
          return "stored" as const;
        }),
      get: async (hash) => {
        const row = this.#get("SELECT * FROM attachments WHERE hash = ?", hash);
        return row === undefined ? null : this.#attachment(row);
      },
      isRecipient: async (hash, username) =>
        this.#get(
          "SELECT 1 AS one FROM attachment_recipients WHERE hash = ? AND username = ?",
          hash,
          username,
        ) !== undefined,
      recordFetch: (hash, username, now, keepUntil) =>
        this.writer.submit(() => {
          const { changes } = this.#run(
            "UPDATE attachment_recipients SET fetched_at = ? WHERE hash = ? AND username = ? AND fetched_at IS NULL",
            now,
            hash,
            username,
          );
          if (changes === 0) return false;
          const left = Number(
            this.#get(
              "SELECT count(*) AS n FROM attachment_recipients WHERE hash = ? AND fetched_at IS NULL",
              hash,
            )?.n ?? 0,
          );
          if (left > 0) return false;
          this.#run("UPDATE attachments SET expires_at = min(expires_at, ?) WHERE hash = ?", keepUntil, hash);
          return true;
        }),
      delete: (hash) =>
        this.writer.submit(() => {
          this.#run("DELETE FROM attachments WHERE hash = ?", hash);
        }),
      usage: async (owner) => usage(owner),
      expire: (now) =>
        this.writer.submit(() => {
          const hashes = this.#all("SELECT hash FROM attachments WHERE expires_at <= ?", now).map((row) =>
            String(row.hash),
          );
          this.#run("DELETE FROM attachments WHERE expires_at <= ?", now);
          return hashes;
        }),
    };
  }
}
