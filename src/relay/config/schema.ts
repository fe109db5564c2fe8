import { z } from "zod";
import { isWebOrigin } from "../cors.ts";

/**
 * The relay's configuration schema. Every key is declared here with its default and bounds; objects are
 * strict so a misspelt key is an error rather than a silently ignored setting (a typo in
 * `require_post_quantum` must not quietly leave the relay accepting classical bundles).
 * docs/configuration.md documents each key; test/relay/config.test.ts keeps the two in step.
 */

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
/** Names of environment variables: secrets never live in the TOML files themselves. */
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name (A-Z, 0-9, _)");

export const CRYPTO_MODES = ["classical", "quantum", "hybrid"] as const;
export type CryptoMode = (typeof CRYPTO_MODES)[number];
/** The ranking from DESIGN.md: hybrid > quantum > classical. */
export const CRYPTO_MODE_RANK: Readonly<Record<CryptoMode, number>> = Object.freeze({
  classical: 1,
  quantum: 2,
  hybrid: 3,
});

const tlsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  /** Environment variable holding the key file's passphrase, if it has one. */
  key_passphrase_env: envName.optional(),
});

const serverSchema = z.strictObject({
  bind_address: z.union([z.ipv4(), z.ipv6(), z.literal("localhost")]).default("127.0.0.1"),
  api_port: port.default(8080),
  websocket_port: port.default(8443),
  max_connections: positiveInt.max(1_000_000).default(10_000),
  behind_tls_proxy: z.boolean().default(false),
  shutdown_grace_seconds: z.number().positive().max(300).default(10),
  // Kubernetes removes a pod's endpoints in parallel with SIGTERM: the relay keeps serving (with
  // /readyz at 503) for this long before it stops accepting (docs/relay.md "Shutdown").
  drain_delay_seconds: z.number().min(0).max(300).default(0),
  // WebSockets are closed (1012) in batches spread over this period, so clients do not all reconnect
  // to the remaining relays in the same instant. Part of shutdown_grace_seconds.
  drain_close_period_seconds: z.number().min(0).max(300).default(1),
  // Node cuts any request still being received after 300 s by default, which ends a large attachment
  // upload on a slow link; this replaces that limit (see docs/configuration.md).
  request_timeout_seconds: positiveInt.min(60).max(86_400).default(3600),
  // Abuse bounds (docs/relay.md "Limits and abuse"): a JSON body must arrive within this, and request
  // headers within headers_timeout_seconds; only authenticated attachment uploads get the long timeout.
  body_timeout_seconds: positiveInt.max(600).default(10),
  headers_timeout_seconds: positiveInt.max(120).default(10),
  /** Open TCP connections per client address; off behind a TLS proxy (every peer is the proxy). */
  max_connections_per_address: positiveInt.max(1_000_000).default(128),
  tls: tlsSchema.prefault({}),
});

const securitySchema = z.strictObject({
  minimum_crypto_mode: z.enum(CRYPTO_MODES).default("quantum"),
  require_post_quantum: z.boolean().default(true),
  key_rotation_days: positiveInt.max(3650).default(30),
  token_lifetime_seconds: positiveInt
    .min(30)
    .max(7 * 86_400)
    .default(3600),
  challenge_lifetime_seconds: positiveInt.min(5).max(3600).default(120),
  /**
   * Automatic logoff (HIPAA 164.312(a)(2)(iii)): a token unused this long — no authenticated request, no
   * frame from its WebSocket session — is deleted and its session closed. 0: off (tokens live their
   * whole lifetime).
   */
  token_idle_timeout_seconds: z.number().int().min(0).max(86_400).default(0),
  /** Extra names nobody may claim, on top of the built-in list in docs/relay.md. */
  reserved_usernames: z.array(z.string().min(1).max(64)).max(10_000).default([]),
});

/**
 * A service URL written in a config file. No password in it: config files are copied, committed and
 * printed; a URL with a password goes in the environment variable the matching `*_env` key names.
 */
function serviceUrl(schemes: readonly string[]) {
  return z
    .string()
    .min(1)
    .refine((text) => URL.canParse(text) && schemes.includes(new URL(text).protocol), {
      message: `must be a ${schemes.map((s) => `${s}//`).join(" or ")} URL`,
    })
    .refine((text) => !URL.canParse(text) || new URL(text).password === "", {
      message: "must not contain a password; put such a URL in the variable named by the *_env key",
    });
}

const storageSchema = z.strictObject({
  /** "postgres": several relays share one PostgreSQL database (docs/cluster.md). */
  backend: z.enum(["sqlite", "postgres"]).default("sqlite"),
  path: z.string().min(1).default("./data/relay.sqlite"),
  blob_dir: z.string().min(1).default("./data/blobs"),
  group_commit_max_batch: positiveInt.max(10_000).default(512),
  busy_timeout_ms: positiveInt.max(60_000).default(5000),
  /** Below this much free space (database or blob file system) /readyz says not ready; 0 turns it off. */
  min_free_bytes: z
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
  /** PostgreSQL URL without a password (backend = "postgres"); or name a variable below. */
  postgres_url: serviceUrl(["postgres:", "postgresql:"]).optional(),
  /** Environment variable holding the PostgreSQL URL (wins over postgres_url). */
  postgres_url_env: envName.optional(),
  /** Connections per relay process; the sum over relays must stay below the server's max_connections. */
  postgres_pool_size: positiveInt.max(1000).default(10),
  /** Attachment blobs: files under blob_dir (shared folder in a cluster) or chunks in PostgreSQL. */
  blob_backend: z.enum(["filesystem", "postgres"]).default("filesystem"),
});

const clusterSchema = z.strictObject({
  /**
   * Redis for wake-ups across relays, the one-connection-per-device rule, shared rate limits and the L2
   * cache (docs/cluster.md). Absent: a single relay, nothing shared.
   */
  redis_url: serviceUrl(["redis:", "rediss:"]).optional(),
  /** Environment variable holding the Redis URL (wins over redis_url). */
  redis_url_env: envName.optional(),
  /** Prefix of every Redis key and channel, so several clusters (or tests) can share one Redis. */
  key_prefix: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{1,64}$/, "1-64 characters of a-z A-Z 0-9 _ . -")
    .default("nano"),
  /** Every connection re-reads its mailbox this often even without a wake-up (lost-signal insurance). */
  safety_poll_seconds: z.number().positive().max(3600).default(30),
  /** How often a relay reads Redis for liveness while subscribed, and retries while it is down. */
  health_interval_seconds: z.number().positive().max(300).default(5),
});

const rateSchema = z.strictObject({
  claims_per_hour: positiveInt.default(10),
  auth_per_minute: positiveInt.default(30),
  bundle_fetches_per_minute: positiveInt.default(60),
  bundle_fetches_per_target_per_minute: positiveInt.default(30),
  sends_per_minute: positiveInt.default(1200),
  /** Prekey uploads per account (each one's signatures are verified). */
  prekey_uploads_per_hour: positiveInt.default(10),
  /** One-time prekeys one requester may take of one target; further fetches get the last-resort key. */
  one_time_prekeys_per_pair_per_hour: positiveInt.default(2),
  /** Failed claims and logins per client address; over it, claims and logins are refused unread. */
  failed_auth_per_hour: positiveInt.default(60),
  /** `GET /v1/accounts/:username` per requesting account (enumeration). */
  lookups_per_minute: positiveInt.default(120),
  /** Identity-record updates per account. */
  identity_updates_per_hour: positiveInt.default(10),
  /** WebSocket sessions an account may open per minute (each re-pushes its whole mailbox). */
  websocket_connects_per_minute: positiveInt.default(30),
});

const websocketLimitsSchema = z.strictObject({
  /** Push connections per account; one more closes the oldest (close code 4409). */
  max_connections_per_account: positiveInt.max(1000).default(5),
  /** Connections per client address that have not authenticated yet. */
  max_unauthenticated_per_address: positiveInt.max(100_000).default(16),
  /** Time to authenticate after the upgrade. */
  auth_timeout_seconds: positiveInt.max(60).default(5),
  /** Bytes written to one socket and not yet flushed before the relay stops pushing to it. */
  send_window_bytes: positiveInt
    .min(65_536)
    .max(64 * 1024 * 1024)
    .default(262_144),
  /**
   * Bytes pushed to one socket before the peer must answer a ping (proving it reads) for pushing to
   * go on: the kernel takes megabytes from a socket that is never read, so the window alone does not
   * bound what a connect makes the relay read and write.
   */
  push_unconfirmed_bytes: positiveInt
    .min(65_536)
    .max(256 * 1024 * 1024)
    .default(1024 * 1024),
  /** Unflushed bytes across every socket before all pushes wait. */
  outbound_budget_bytes: positiveInt.min(1024 * 1024).default(64 * 1024 * 1024),
  /** A socket whose window stays full this long is dropped (it is not reading). */
  slow_consumer_seconds: positiveInt.max(3600).default(60),
  /** Read rate per connection; each frame counts its size plus 1 KiB. Over it, reading pauses. */
  receive_bytes_per_second: positiveInt.min(65_536).default(2 * 1024 * 1024),
  /** Malformed frames an authenticated connection may send before it is closed (1008). */
  max_malformed_frames: z.number().int().min(0).max(1000).default(10),
});

const MiB = 1024 * 1024;
const limitsSchema = z.strictObject({
  max_envelope_bytes: positiveInt.max(16 * MiB).default(65_536),
  mailbox_max_messages: positiveInt.default(10_000),
  mailbox_max_bytes: positiveInt.default(256 * MiB),
  message_ttl_days: z.number().positive().max(3650).default(30),
  attachment_max_bytes: positiveInt.min(1024).default(100 * MiB),
  attachment_quota_bytes: positiveInt.default(1024 * MiB),
  attachment_ttl_days: z.number().positive().max(3650).default(30),
  sweep_interval_seconds: z.number().positive().max(86_400).default(60),
  max_prekeys_per_upload: positiveInt.max(1000).default(100),
  /** One-time prekeys held per account and suite; an upload beyond it gets prekey_stock_full. */
  max_one_time_prekeys: positiveInt.max(100_000).default(200),
  /** The owner's sockets get a `low_prekeys` frame when a suite's stock falls to this. */
  low_prekeys_threshold: z.number().int().min(0).max(100_000).default(10),
  /** Worker threads verifying uploaded signatures (0: on the main thread, in yielding slices). */
  verify_workers: z.number().int().min(0).max(64).default(1),
  /** Verifications waiting for a worker before new ones get relay_busy (503). */
  verify_queue: positiveInt.max(100_000).default(64),
  /** Audit-log entries for refusals (failed claims and logins, rate limits) per minute; the rest are counted. */
  audit_failure_entries_per_minute: positiveInt.max(100_000).default(20),
  /** Resident memory above which new WebSocket connections and uploads get relay_busy (503). */
  memory_budget_bytes: positiveInt.min(64 * 1024 * 1024).default(1024 * 1024 * 1024),
  rate: rateSchema.prefault({}),
  websocket: websocketLimitsSchema.prefault({}),
});

/** Six years (6 × 365.25 days, rounded up): the least production keeps audit entries (docs/compliance.md). */
export const AUDIT_RETENTION_MINIMUM_DAYS = 2192;

const complianceSchema = z.strictObject({
  /** Where account events go: "log" writes them as structured log lines, "none" drops them. */
  audit_hook: z.enum(["log", "none"]).default("log"),
  /** Usernames in logs only when an operator needs them (abuse handling); off by default. */
  log_usernames: z.boolean().default(false),
  /**
   * Name of this relay's Merkle logs: checkpoints carry the origins "<log_origin>/audit" and
   * "<log_origin>/kt" (C2SP key names: no spaces, no "+").
   */
  log_origin: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\s+\p{Cc}]+$/u, "must contain no spaces, no '+' and no control characters")
    .default("nano-relay"),
  /** The log key (Ed25519 + ML-DSA-65 seeds, 0600); default: log-key.json next to storage.path. */
  log_key_file: z.string().min(1).optional(),
  /** A checkpoint of each log that grew is signed this often (and on demand). */
  checkpoint_interval_seconds: z.number().positive().max(86_400).default(300),
  /**
   * After `compliance erase`, nobody may claim the erased name (or a confusable one) for this many days,
   * so no one takes over a deleted person's name while their contacts still know it. 0: free at once.
   */
  erasure_cooling_off_days: z.number().int().min(0).max(3650).default(30),
  /**
   * Personal data behind the audit log's salted commitments (usernames, addresses) is deleted by the
   * sweeper once the event is this old; the leaves themselves stay (they name no one). Production
   * refuses less than six years (HIPAA 45 CFR 164.316(b)(2) practice; docs/compliance.md).
   */
  retention_audit_days: positiveInt.max(36_500).default(AUDIT_RETENTION_MINIMUM_DAYS),
  /**
   * Change control: a start whose configuration weakens security against the last one the relay ran
   * with needs approvals signed by this many distinct keys of `approvers` (of that last configuration).
   * 0: such changes are recorded in the audit log but not refused.
   */
  approvals_required: z.number().int().min(0).max(8).default(0),
  /** Administrator keys (from `nano-relay compliance admin-key`): signed-note verifier keys. */
  approvers: z
    .array(z.strictObject({ ed25519: z.string().min(1).max(200), ml_dsa_65: z.string().min(1).max(4000) }))
    .max(8)
    .default([]),
  /** Folder of approval files (`nano-relay compliance approve`); default: approvals/ next to storage.path. */
  approvals_dir: z.string().min(1).optional(),
});

/** The browser app (docs/web.md), served from the relay's own origin. Off unless asked for. */
const webSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** The built app (`npm run build:web`); default: the package's dist/web. */
  static_dir: z.string().min(1).optional(),
  /** Origins of local copies of the app that may call the API (CORS; docs/web.md). */
  allowed_origins: z
    .array(z.string().refine(isWebOrigin, "an origin: http(s)://host[:port], no path or trailing slash"))
    .max(32)
    .default([]),
});

const monitoringSchema = z.strictObject({
  log_level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  metrics_enabled: z.boolean().default(true),
});

export const relayConfigSchema = z.strictObject({
  environment: z.enum(["production", "staging", "development", "testing"]).default("development"),
  server: serverSchema.prefault({}),
  security: securitySchema.prefault({}),
  storage: storageSchema.prefault({}),
  cluster: clusterSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  compliance: complianceSchema.prefault({}),
  monitoring: monitoringSchema.prefault({}),
  web: webSchema.prefault({}),
});

export type RelayConfig = z.infer<typeof relayConfigSchema>;
export type RelayConfigInput = z.input<typeof relayConfigSchema>;
export const ENVIRONMENTS = relayConfigSchema.shape.environment.unwrap().options;
export type Environment = (typeof ENVIRONMENTS)[number];
