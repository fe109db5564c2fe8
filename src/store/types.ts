/**
 * Storage interfaces for the relay. Every adapter (SQLite now, PostgreSQL later) implements `RelayStore`
 * and passes test/store/conformance.ts. Records are opaque bytes to the store: it never parses an
 * identity record, bundle or envelope. Times are milliseconds from the relay's injectable clock, passed
 * in explicitly so expiry is testable without waiting.
 */

export interface AccountRecord {
  /** Normalized username (docs/relay.md). */
  readonly username: string;
  /** Confusable-folded form of the username; unique across accounts (docs/relay.md). */
  readonly skeleton: string;
  /** BLAKE2b-512 of the identity record, as computed by the protocol verifier. */
  readonly identityHash: Uint8Array;
  readonly identityRecord: Uint8Array;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** "cooling_off": the name (or a confusable one) was erased and its tombstone is still live. */
export type ClaimOutcome = "created" | "already_owned" | "taken" | "cooling_off";

/** Facts about a write that its store journal records with it (docs/audit.md). */
export interface WriteContext {
  /** The request id, so a log entry can be matched with the relay's request logs. */
  readonly correlationId?: string;
  /** The identity record's version, for the key-transparency binding. */
  readonly recordVersion?: number;
  /**
   * Claims only: the keyed hash of the name's skeleton (src/relay/audit-log-key.ts tombstoneKey). A
   * store with tombstones refuses the claim with "cooling_off" while one is live, in the claim's own
   * transaction, so an erasure and a claim cannot interleave.
   */
  readonly tombstoneKey?: Uint8Array;
}

/**
 * Called by a store INSIDE the transaction of an account change, so the audit event and the
 * key-transparency binding commit or roll back together with the change they record. A journal that
 * throws aborts the change (fail closed: no unlogged binding).
 */
export interface StoreJournal {
  accountClaimed(account: AccountRecord, context: WriteContext): void;
  identityReplaced(
    username: string,
    next: { identityHash: Uint8Array; identityRecord: Uint8Array },
    now: number,
    context: WriteContext,
  ): void;
}

export interface TokenRecord {
  readonly username: string;
  readonly expiresAt: number;
}

export interface AccountStore {
  /**
   * First claim wins. A claim by the identity that already owns the name (same identity hash) is
   * idempotent ("already_owned"); any other identity gets "taken", also when another account already
   * has the same skeleton (a confusable name). Atomic under concurrency.
   */
  claim(
    account: AccountRecord,
    context?: WriteContext,
  ): Promise<{ outcome: ClaimOutcome; account: AccountRecord }>;
  get(username: string): Promise<AccountRecord | null>;
  /**
   * Compare-and-swap: replaces the record only while the stored hash equals `expectedHash`, so two
   * concurrent updates cannot both succeed. Returns false if the hash moved on or the account is absent.
   * In the same transaction it deletes the owner's bundle and one-time prekeys: they are signed over
   * H(old IR), so no initiator could ever use them, and serving them would only make first contact fail
   * until the owner re-uploads (protocol.md §6.1); and every bearer token of the account: they were
   * minted for devices the old keys certified, and a replaced identity (a suspected compromise) must
   * not stay logged in anywhere (issue 12, finding 5).
   */
  replaceIdentity(
    username: string,
    expectedHash: Uint8Array,
    next: { identityHash: Uint8Array; identityRecord: Uint8Array },
    now: number,
    context?: WriteContext,
  ): Promise<boolean>;
  /**
   * Stores a token only while `identityHash` is still the account's current identity (checked in the
   * same transaction) and returns true; false, storing nothing, when the record was replaced since
   * the login verified the device certificate against it. With replaceIdentity deleting the tokens,
   * no token outlives the identity that certified its device, however a login and an update interleave.
   */
  putToken(tokenHash: Uint8Array, token: TokenRecord, identityHash: Uint8Array): Promise<boolean>;
  getToken(tokenHash: Uint8Array): Promise<TokenRecord | null>;
  deleteToken(tokenHash: Uint8Array): Promise<void>;
  deleteExpiredTokens(now: number): Promise<number>;
}

export interface StoredBundle {
  /** The bundle's suite; an owner has at most one bundle per suite (docs/protocol.md §6.4). */
  readonly suite: number;
  /** The signed bundle as uploaded (identity-bound signed prekeys). */
  readonly bundle: Uint8Array;
  /** The signed last-resort PQ prekey, handed out when one-time keys run out. */
  readonly lastResort: Uint8Array;
  readonly signedPrekeyCreatedAt: number;
  readonly uploadedAt: number;
}

export interface OneTimePrekey {
  /** Opaque id chosen by the owner (hex); unique per owner and suite. */
  readonly id: string;
  readonly prekey: Uint8Array;
}

/**
 * Prekeys are kept per (owner, suite): an identity accepts several suites and an initiator fetches the
 * bundle of the suite it chose (docs/protocol.md §5, §11.3). One-time keys belong to one suite and are
 * only ever handed out with that suite's bundle. The store does not rank suites; the relay picks one.
 */
export interface PrekeyStore {
  /** Replaces the owner's bundle and last-resort key of `bundle.suite`; one-time keys are untouched. */
  putBundle(username: string, bundle: StoredBundle): Promise<void>;
  /**
   * Adds one-time keys of `suite`; an id already present for that suite is ignored (a retried upload
   * is harmless). Returns the suite's new count, or null (nothing stored) when the owner has no
   * bundle of `suite`: keys that no fetch could ever hand out are refused, atomically with the check.
   */
  addOneTimePrekeys(
    username: string,
    suite: number,
    prekeys: readonly OneTimePrekey[],
  ): Promise<number | null>;
  /**
   * Returns the bundle of `suite` and removes at most one one-time key OF THAT SUITE in the same
   * atomic step: two concurrent fetches never receive the same one-time key, and a fetch never burns
   * another suite's key. `oneTime` is null once the suite's keys are exhausted.
   */
  takeBundle(
    username: string,
    suite: number,
  ): Promise<{ bundle: StoredBundle; oneTime: OneTimePrekey | null } | null>;
  getBundle(username: string, suite: number): Promise<StoredBundle | null>;
  /** Every bundle the owner has, ascending by suite id. */
  listBundles(username: string): Promise<StoredBundle[]>;
  countOneTimePrekeys(username: string, suite: number): Promise<number>;
}

export interface NewMessage {
  readonly sender: string;
  readonly recipient: string;
  /** Chosen by the sender; the idempotency key together with `sender`. */
  readonly clientMessageId: string;
  readonly envelope: Uint8Array;
  /** Hash of the envelope, so a reused client id with different content is detected. */
  readonly envelopeHash: Uint8Array;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface MailboxQuota {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

export type EnqueueResult =
  | { readonly ok: true; readonly serverId: number; readonly duplicate: boolean }
  | { readonly ok: false; readonly code: "mailbox_full" | "client_message_id_conflict" };

export interface StoredMessage {
  readonly id: number;
  readonly sender: string;
  readonly recipient: string;
  readonly envelope: Uint8Array;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface MailboxStore {
  /**
   * Stores messages and resolves only once they are durable (the ack to the sender waits for this).
   * Results are in input order. Within one call and across calls, ids grow in commit order, so
   * per-sender order is the order a sender's sends were enqueued. Never drops silently: a full
   * mailbox yields `mailbox_full` for that message alone.
   */
  enqueue(messages: readonly NewMessage[], quota: MailboxQuota): Promise<EnqueueResult[]>;
  /** Messages for `recipient` with id > `afterId`, oldest first. Expired ones are not returned. */
  fetch(recipient: string, afterId: number, limit: number, now: number): Promise<StoredMessage[]>;
  /** Deletes the recipient's own messages among `ids`; durable when it resolves. Returns how many. */
  acknowledge(recipient: string, ids: readonly number[]): Promise<number>;
  /** Deletes expired messages and idempotency records; returns the number of messages removed. */
  expire(now: number): Promise<number>;
  depth(recipient: string): Promise<{ messages: number; bytes: number }>;
  totals(): Promise<{ messages: number; bytes: number; mailboxes: number }>;
}

export interface AttachmentRecord {
  /** Lowercase hex BLAKE2b-512 of the ciphertext. */
  readonly hash: string;
  readonly owner: string;
  readonly size: number;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export type AttachmentPutOutcome = "stored" | "over_quota" | "not_owner";

export interface AttachmentStore {
  /**
   * Records a verified blob and who may fetch it, if the owner's quota allows ("over_quota": nothing
   * stored). The same owner uploading the same hash again adds recipients and is otherwise a no-op.
   * Another account uploading a hash that exists gets "not_owner" and changes nothing: knowing a
   * blob's bytes must not let anyone extend its recipient set (or ride on the owner's quota).
   */
  put(
    record: AttachmentRecord,
    recipients: readonly string[],
    quotaBytes: number,
  ): Promise<AttachmentPutOutcome>;
  get(hash: string): Promise<AttachmentRecord | null>;
  isRecipient(hash: string, username: string): Promise<boolean>;
  /**
   * Marks `username`'s complete download at `now` (a repeat is a no-op). When that was the last
   * recipient still to fetch, brings the attachment's expiry forward to `keepUntil` (if earlier) and
   * returns true. Recipients keep access until the expiry, so a client that crashed between its
   * download and its local commit can fetch again; the sweeper deletes the blob then.
   */
  recordFetch(hash: string, username: string, now: number, keepUntil: number): Promise<boolean>;
  delete(hash: string): Promise<void>;
  usage(owner: string): Promise<number>;
  /** Removes expired attachments' metadata and returns their hashes so the blobs can be deleted. */
  expire(now: number): Promise<string[]>;
}

/**
 * Retention (docs/compliance.md): what the sweeper deletes once it is old enough (SQLite and PostgreSQL
 * stores both have it; optional so a test store may leave it out).
 */
export interface RetentionStore {
  /**
   * Deletes the personal data (salts and data) behind the audit log's commitments of events older than
   * `cutoff`, except those of accounts under legal hold: the rows of at most `batch` entries per call.
   * Returns how many rows.
   */
  purgeAuditPersonalData(cutoff: number, batch: number): Promise<number>;
  /** Forgets tombstones whose cooling-off ended by `now`. */
  expireTombstones(now: number): Promise<number>;
}

export interface RelayStore {
  readonly accounts: AccountStore;
  readonly prekeys: PrekeyStore;
  readonly mailboxes: MailboxStore;
  readonly attachments: AttachmentStore;
  readonly retention?: RetentionStore;
  /** True when the store answers a trivial query (readiness). */
  ping(): Promise<boolean>;
  /**
   * A durable write that changes no data, rejecting with `store_unavailable` when the store cannot
   * write (readiness, src/relay/store-health.ts). Optional: a store without it is judged by its
   * writes alone.
   */
  probeWrite?(): Promise<void>;
  /** Flushes pending writes (group commit) and closes. Idempotent. */
  close(): Promise<void>;
}

/** Account events for compliance (a later Merkle audit log implements this too). */
export interface AuditEvent {
  readonly type: "account_claimed" | "identity_updated" | "login" | "prekeys_uploaded";
  readonly username: string;
  readonly at: number;
  readonly identityHash?: string;
  /** The request id (audit log correlation). */
  readonly correlationId?: string;
}

export interface AuditHook {
  record(event: AuditEvent): void;
}

/** What the relay holds about one account, for `nano-relay compliance export` (docs/compliance.md). */
export interface AccountData {
  readonly account: AccountRecord;
  readonly prekeys: readonly {
    readonly suite: number;
    readonly uploadedAt: number;
    readonly signedPrekeyCreatedAt: number;
    readonly oneTimePrekeys: number;
  }[];
  /** Login tokens (one per device login) by expiry; their hashes are credentials and stay inside. */
  readonly tokens: readonly { readonly expiresAt: number }[];
  /** Messages waiting for this account: metadata, and the envelope only when asked for. */
  readonly pendingMessages: readonly {
    readonly id: number;
    readonly sender: string;
    readonly size: number;
    readonly createdAt: number;
    readonly expiresAt: number;
    readonly envelope?: Uint8Array;
  }[];
  /** Messages this account sent that still wait for their recipients. */
  readonly sentPending: readonly {
    readonly id: number;
    readonly recipient: string;
    readonly size: number;
    readonly createdAt: number;
    readonly expiresAt: number;
  }[];
  readonly attachmentsOwned: readonly {
    readonly hash: string;
    readonly size: number;
    readonly createdAt: number;
    readonly expiresAt: number;
    readonly recipients: number;
  }[];
  readonly attachmentsReceived: readonly {
    readonly hash: string;
    readonly owner: string;
    readonly size: number;
    readonly expiresAt: number;
    readonly fetchedAt: number | null;
  }[];
  readonly hold: LegalHold | null;
}

export interface LegalHold {
  readonly username: string;
  readonly placedAt: number;
}

/** What an erasure removed; `blobs` are the attachment hashes whose bytes the caller deletes next. */
export interface ErasureResult {
  readonly messages: number;
  readonly attachments: number;
  readonly tokens: number;
  readonly prekeys: number;
  readonly personalDataRows: number;
  readonly blobs: readonly string[];
  readonly tombstoneUntil: number;
}
