import { z } from "zod";

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
  // Node cuts any request still being received after 300 s by default, which ends a large attachment
  // upload on a slow link; this replaces that limit (see docs/configuration.md).
  request_timeout_seconds: positiveInt.min(60).max(86_400).default(3600),
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
  /** Extra names nobody may claim, on top of the built-in list in docs/relay.md. */
  reserved_usernames: z.array(z.string().min(1).max(64)).max(10_000).default([]),
});

const storageSchema = z.strictObject({
  backend: z.literal("sqlite").default("sqlite"),
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
  /** Environment variable holding a PostgreSQL URL for the later adapter; unused by sqlite. */
  postgres_url_env: envName.optional(),
});

const rateSchema = z.strictObject({
  claims_per_hour: positiveInt.default(10),
  auth_per_minute: positiveInt.default(30),
  bundle_fetches_per_minute: positiveInt.default(60),
  bundle_fetches_per_target_per_minute: positiveInt.default(30),
  sends_per_minute: positiveInt.default(1200),
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
  max_prekeys_per_upload: positiveInt.max(1000).default(200),
  rate: rateSchema.prefault({}),
});

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
  limits: limitsSchema.prefault({}),
  compliance: complianceSchema.prefault({}),
  monitoring: monitoringSchema.prefault({}),
});

export type RelayConfig = z.infer<typeof relayConfigSchema>;
export type RelayConfigInput = z.input<typeof relayConfigSchema>;
export const ENVIRONMENTS = relayConfigSchema.shape.environment.unwrap().options;
export type Environment = (typeof ENVIRONMENTS)[number];
