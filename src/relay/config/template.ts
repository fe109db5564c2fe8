import { join } from "node:path";
import type { Environment } from "./schema.ts";

/**
 * `nano-relay init-config`: a commented TOML file per environment. config/*.toml are exactly this
 * output (a test keeps them identical), so the files in the repository and the command never drift.
 */

interface Profile {
  readonly bind: string;
  readonly apiPort: number;
  readonly wsPort: number;
  readonly tls: boolean;
  /**
   * Deployed relays accept every post-quantum suite (quantum and hybrid; ranking hybrid > quantum >
   * classical) and refuse classical. Development and testing accept all three modes, so the quick
   * start and the tests can show each one; clients still enforce their own floors.
   */
  readonly minimumMode: "classical" | "quantum" | "hybrid";
  readonly storagePath: string;
  readonly blobDir: string;
  readonly logKeyFile: string;
  readonly logLevel: string;
  readonly tokenLifetime: number;
  readonly sendsPerMinute: number;
  readonly claimsPerHour: number;
  readonly authPerMinute: number;
  readonly fetchesPerMinute: number;
  readonly uploadsPerHour: number;
  readonly failedAuthPerHour: number;
  readonly lookupsPerMinute: number;
  readonly connectionsPerAddress: number;
  readonly connectsPerMinute: number;
  readonly drainDelay: number;
  /** compliance.retention_audit_days: six years where real people's data is (production refuses less). */
  readonly auditRetentionDays: number;
  /** security.token_idle_timeout_seconds: 15 minutes where real people's data is, off in development. */
  readonly idleTimeout: number;
  /** web.enabled: the development relay serves the app (`npm start` builds it first). */
  readonly webApp: boolean;
}

const PROFILES: Readonly<Record<Environment, Profile>> = {
  production: {
    bind: "0.0.0.0",
    apiPort: 8080,
    wsPort: 8443,
    tls: true,
    minimumMode: "quantum",
    storagePath: "/var/lib/nano-relay/relay.sqlite",
    blobDir: "/var/lib/nano-relay/blobs",
    logKeyFile: "/var/lib/nano-relay/log-key.json",
    logLevel: "info",
    tokenLifetime: 3600,
    sendsPerMinute: 1200,
    claimsPerHour: 10,
    authPerMinute: 30,
    fetchesPerMinute: 60,
    uploadsPerHour: 10,
    failedAuthPerHour: 60,
    lookupsPerMinute: 120,
    connectionsPerAddress: 128,
    connectsPerMinute: 30,
    drainDelay: 5,
    auditRetentionDays: 2192,
    idleTimeout: 900,
    webApp: false,
  },
  staging: {
    bind: "0.0.0.0",
    apiPort: 8080,
    wsPort: 8443,
    tls: true,
    minimumMode: "quantum",
    storagePath: "/var/lib/nano-relay-staging/relay.sqlite",
    blobDir: "/var/lib/nano-relay-staging/blobs",
    logKeyFile: "/var/lib/nano-relay-staging/log-key.json",
    logLevel: "info",
    tokenLifetime: 3600,
    sendsPerMinute: 1200,
    claimsPerHour: 20,
    authPerMinute: 60,
    fetchesPerMinute: 120,
    uploadsPerHour: 10,
    failedAuthPerHour: 60,
    lookupsPerMinute: 120,
    connectionsPerAddress: 128,
    connectsPerMinute: 30,
    drainDelay: 5,
    auditRetentionDays: 2192,
    idleTimeout: 900,
    webApp: false,
  },
  development: {
    bind: "127.0.0.1",
    apiPort: 8080,
    wsPort: 8080,
    tls: false,
    minimumMode: "classical",
    storagePath: "./data/relay.sqlite",
    blobDir: "./data/blobs",
    logKeyFile: "./data/log-key.json",
    logLevel: "info",
    tokenLifetime: 3600,
    sendsPerMinute: 6000,
    claimsPerHour: 100,
    authPerMinute: 120,
    fetchesPerMinute: 600,
    uploadsPerHour: 300,
    failedAuthPerHour: 600,
    lookupsPerMinute: 1200,
    connectionsPerAddress: 1000,
    connectsPerMinute: 300,
    drainDelay: 0,
    auditRetentionDays: 90,
    idleTimeout: 0,
    webApp: true,
  },
  testing: {
    bind: "127.0.0.1",
    apiPort: 0,
    wsPort: 0,
    tls: false,
    minimumMode: "classical",
    storagePath: "./data/testing/relay.sqlite",
    blobDir: "./data/testing/blobs",
    logKeyFile: "./data/testing/log-key.json",
    logLevel: "warn",
    tokenLifetime: 600,
    sendsPerMinute: 1_000_000,
    claimsPerHour: 100_000,
    authPerMinute: 100_000,
    fetchesPerMinute: 100_000,
    uploadsPerHour: 100_000,
    failedAuthPerHour: 100_000,
    lookupsPerMinute: 100_000,
    connectionsPerAddress: 10_000,
    connectsPerMinute: 100_000,
    drainDelay: 0,
    auditRetentionDays: 30,
    idleTimeout: 0,
    webApp: false,
  },
};

/** What `init-config` was told beyond the environment (none of it changes config/*.toml). */
export interface TemplateChoices {
  /** Certificate and key to name; `throwaway` when init-config just wrote a self-signed pair. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly throwaway: boolean };
  /** Folder for the database, blobs and log key instead of the profile's (/var/lib/... in production). */
  readonly dataDir?: string;
}

/** TOML basic string: paths may hold backslashes or quotes. */
function tomlString(text: string): string {
  return JSON.stringify(text);
}

function tlsBlock(p: Profile, choices: TemplateChoices): string {
  if (!p.tls)
    return `# Plain HTTP: allowed only on a loopback address or with behind_tls_proxy = true.
enabled = false
# cert_file = "./tls/cert.pem"
# key_file = "./tls/key.pem"`;
  const what = `# What production needs here: cert_file = the PEM certificate chain for this relay's host name (leaf
# first, then intermediates) from a CA the clients trust, or from a private CA they are given with
# \`nano-client --ca FILE\`; key_file = its PEM private key, owned by the relay's user, mode 0600.
# validate-config checks that both exist and the key's mode. To try a configuration out first,
# \`nano-relay init-config --tls-self-signed DIR\` writes a throwaway pair and names it here.`;
  const tls = choices.tls;
  if (tls === undefined)
    return `${what}
enabled = true
cert_file = "/etc/nano-relay/tls/cert.pem"
# The key file must not be readable by group or others (chmod 600); validate-config checks it.
key_file = "/etc/nano-relay/tls/key.pem"
# key_passphrase_env = "NANO_RELAY_TLS_KEY_PASSPHRASE"   # name of the variable holding the passphrase`;
  const warning = tls.throwaway
    ? `# THROWAWAY self-signed certificate (for localhost, 127.0.0.1 and ::1, valid 30 days) written by
# --tls-self-signed: for trying the relay out only. Clients trust it with --ca ${tls.cert}.
# Replace both files with a real certificate and key before anyone else uses this relay.
`
    : "";
  return `${what}
${warning}enabled = true
cert_file = ${tomlString(tls.cert)}
# The key file must not be readable by group or others (chmod 600); validate-config checks it.
key_file = ${tomlString(tls.key)}
# key_passphrase_env = "NANO_RELAY_TLS_KEY_PASSPHRASE"   # name of the variable holding the passphrase`;
}

export function renderConfigTemplate(environment: Environment, choices: TemplateChoices = {}): string {
  const profile = PROFILES[environment];
  const p =
    choices.dataDir === undefined
      ? profile
      : {
          ...profile,
          storagePath: join(choices.dataDir, "relay.sqlite"),
          blobDir: join(choices.dataDir, "blobs"),
          logKeyFile: join(choices.dataDir, "log-key.json"),
        };
  return `# nano-relay configuration: ${environment}
# Generated by \`nano-relay init-config --environment ${environment}\`; every key is documented in
# docs/configuration.md. Unknown keys are errors. Secrets never go in this file: keys ending in _env
# name the environment variable that holds them. Relative paths are relative to the working directory.
environment = "${environment}"

[server]
bind_address = "${p.bind}"
# HTTP API (/v1/...). 0 picks a free port (tests).
api_port = ${p.apiPort}
# WebSocket push (/v1/ws). When equal to api_port, one listener serves both.
websocket_port = ${p.wsPort}
# Connections beyond this are refused (HTTP and WebSocket together, per listener).
max_connections = 10000
# true when a TLS-terminating proxy sits in front and this relay may speak plain HTTP to it.
behind_tls_proxy = false
# On SIGTERM/SIGINT: how long to drain before closing anyway (a second signal exits at once).
shutdown_grace_seconds = 10
# After SIGTERM, keep serving (with /readyz at 503) this long before refusing new work: a load
# balancer or Kubernetes takes a few seconds to stop sending clients here.
drain_delay_seconds = ${p.drainDelay}
# WebSockets are closed with 1012 (clients reconnect elsewhere at once) in batches over this period.
drain_close_period_seconds = 1
# Longest time to receive one whole authenticated attachment upload (slow links); 60..86400.
request_timeout_seconds = 3600
# Every other request body (JSON) must arrive within this many seconds, and request headers within
# headers_timeout_seconds; bodies of requests without a valid token are never read (docs/relay.md).
body_timeout_seconds = 10
headers_timeout_seconds = 10
# Open connections per client address (not applied behind a TLS proxy: there every peer is the proxy).
max_connections_per_address = ${p.connectionsPerAddress}

[server.tls]
# TLS 1.3 only; key exchange groups X25519MLKEM768 then X25519 (post-quantum first).
${tlsBlock(p, choices)}

[security]
# Bundles and envelopes of a lower suite are rejected at the door (ranking: hybrid > quantum > classical).
minimum_crypto_mode = "${p.minimumMode}"
# Reject prekey bundles without a post-quantum KEM key.
require_post_quantum = ${p.minimumMode !== "classical"}
# Signed prekeys older than this are flagged to their owner in the prekey count.
key_rotation_days = 30
# Bearer token lifetime ("automatic logoff"); clients re-authenticate with their device key.
token_lifetime_seconds = ${p.tokenLifetime}
# A relay challenge (claims and logins) is single-use and expires after this.
challenge_lifetime_seconds = 120
# Automatic logoff: a token unused this long (no request, no frame from its WebSocket) is deleted and its
# session closed; clients log in again with their device key. 0: off.
token_idle_timeout_seconds = ${p.idleTimeout}
# Extra usernames nobody may claim (normalized before comparison), on top of the built-in list.
reserved_usernames = []

[storage]
backend = "sqlite"
# SQLite database (WAL, synchronous = FULL). Its folder is created if missing.
path = ${tomlString(p.storagePath)}
# Encrypted attachment blobs, one file per ciphertext hash.
blob_dir = ${tomlString(p.blobDir)}
# Group commit: at most this many writes share one durable transaction.
group_commit_max_batch = 512
busy_timeout_ms = 5000
# /readyz reports not ready when the database's or the blobs' file system has less free space than
# this (bytes; 0 turns the check off): writes would soon fail, so traffic should go elsewhere first.
min_free_bytes = 67108864
# Several relays as one service: backend = "postgres" with the database's URL (docs/cluster.md).
# postgres_url = "postgres://nano@db.internal:5432/nano"   # no password here; or:
# postgres_url_env = "NANO_RELAY_POSTGRES_URL"
postgres_pool_size = 10
# Attachment blobs: "filesystem" (blob_dir; one shared folder for a cluster) or "postgres" (chunked rows).
blob_backend = "filesystem"

[cluster]
# Redis for a cluster of relays: wake-ups, one live connection per device, shared rate limits, cache.
# redis_url = "redis://cache.internal:6379"   # no password here; or:
# redis_url_env = "NANO_RELAY_REDIS_URL"
key_prefix = "nano"
# Connections re-read their mailbox this often even without a wake-up (a lost signal costs at most this).
safety_poll_seconds = 30
health_interval_seconds = 5

[limits]
# Largest envelope accepted (bytes); larger content is an attachment.
max_envelope_bytes = 65536
# Per-recipient mailbox quota; the sender gets mailbox_full, never a silent drop.
mailbox_max_messages = 10000
mailbox_max_bytes = 268435456
# Undelivered messages expire after this many days.
message_ttl_days = 30
# Attachments: size cap per blob, storage quota per account, and lifetime.
attachment_max_bytes = 104857600
attachment_quota_bytes = 1073741824
attachment_ttl_days = 30
# How often the sweeper deletes expired messages, attachments, tokens and challenges.
sweep_interval_seconds = 60
# One-time prekeys per upload, and held per account and suite (prekey_stock_full beyond it).
max_prekeys_per_upload = 100
max_one_time_prekeys = 200
# The owner's WebSocket gets a low_prekeys frame when a suite's one-time stock falls to this.
low_prekeys_threshold = 10
# Worker threads verifying uploaded signatures off the event loop (0 = main thread, in slices), and
# how many verifications may wait for one before new ones get relay_busy (503).
verify_workers = 1
verify_queue = 64
# Audit-log entries for refusals (failed claims/logins, rate limits) per minute; the rest are counted
# in one aggregate entry per window, so attackers cannot grow the log (docs/audit.md).
audit_failure_entries_per_minute = 20
# Above this resident memory, new WebSocket connections and uploads get relay_busy (503).
memory_budget_bytes = 1073741824

[limits.rate]
claims_per_hour = ${p.claimsPerHour}
auth_per_minute = ${p.authPerMinute}
bundle_fetches_per_minute = ${p.fetchesPerMinute}
bundle_fetches_per_target_per_minute = ${Math.max(30, Math.floor(p.fetchesPerMinute / 2))}
sends_per_minute = ${p.sendsPerMinute}
prekey_uploads_per_hour = ${p.uploadsPerHour}
# A requester gets at most this many one-time prekeys of one target per hour; later fetches get the
# bundle with its signed last-resort key only (first contact still works, the stock is not drained).
one_time_prekeys_per_pair_per_hour = 2
# Failed claims and logins per client address; over it, claims and logins are refused unread.
failed_auth_per_hour = ${p.failedAuthPerHour}
lookups_per_minute = ${p.lookupsPerMinute}
identity_updates_per_hour = 10
# WebSocket sessions per account per minute: each one pushes the whole unacknowledged mailbox again.
websocket_connects_per_minute = ${p.connectsPerMinute}

[limits.websocket]
# Push connections per account: one more closes the oldest (close code 4409).
max_connections_per_account = 5
# Connections per client address that have not authenticated yet; and the time they have to.
max_unauthenticated_per_address = 16
auth_timeout_seconds = 5
# Backpressure: the relay stops pushing to a socket with this many unflushed bytes and resumes when it
# drains; all sockets together may hold outbound_budget_bytes; a socket stuck full for
# slow_consumer_seconds is dropped.
send_window_bytes = 262144
# Bytes pushed to a socket before the peer must answer a ping (proving it reads) for pushing to go on.
push_unconfirmed_bytes = 1048576
outbound_budget_bytes = 67108864
slow_consumer_seconds = 60
# Read rate per connection (each frame counts its size plus 1 KiB); over it the relay pauses reading.
receive_bytes_per_second = 2097152
# Malformed frames tolerated on an authenticated connection (an unauthenticated one is closed at the first).
max_malformed_frames = 10

[compliance]
# "log" writes account events (claims, identity updates, logins) as structured log lines; "none" drops them.
audit_hook = "log"
# true: log lines name the username in failed claims/logins and in account events (audit_hook = "log");
# false: neither does (the Merkle audit log keeps a pseudonym). Tokens, keys and bodies are never logged.
log_usernames = false
# Name of the Merkle logs (audit events, key transparency): checkpoints say "<log_origin>/audit" and
# "<log_origin>/kt". Set it to this relay's host name; clients pin it with the log keys.
log_origin = "nano-relay"
# Ed25519 + ML-DSA-65 seeds that sign checkpoints; generated (mode 0600) on first start if absent.
log_key_file = ${tomlString(p.logKeyFile)}
# Each log that grew gets a signed checkpoint this often (and on demand).
checkpoint_interval_seconds = 300
# After \`nano-relay compliance erase\`, the erased name (and names confusable with it) cannot be claimed
# for this many days, so nobody takes over a deleted person's name. 0: free at once.
erasure_cooling_off_days = 30
# Usernames and addresses behind the audit log's salted commitments are deleted by the sweeper once the
# event is this many days old (the entries stay and name no one); held accounts are kept. Production
# refuses less than 2192 (six years, HIPAA practice).
retention_audit_days = ${p.auditRetentionDays}
# Change control: a start whose configuration weakens security against the last one the relay ran with
# (lower crypto floor, longer tokens, higher rate limits, audit off, ...) needs approvals signed by this
# many administrators listed below (\`nano-relay compliance admin-key\`, \`compliance approve\`). 0: such
# changes are recorded in the audit log but not refused.
approvals_required = 0
# approvals_dir = "/path/to/approvals"   # default: approvals/ next to storage.path
# [[compliance.approvers]]               # one per administrator, printed by compliance admin-key
# ed25519 = "name+1234abcd+..."
# ml_dsa_65 = "name+5678ef01+..."

[monitoring]
log_level = "${p.logLevel}"
# Serve Prometheus metrics at /metrics.
metrics_enabled = true

[web]
${
  p.webApp
    ? `# Serve the browser app from this relay's origin (docs/web.md): \`npm start\` builds it into dist/web
# first; \`nano-relay start --environment development\` alone needs \`npm run build:web\` once.
enabled = true`
    : `# Serve the browser app (build it first: npm run build:web) from this relay's origin; see docs/web.md.
enabled = false`
}
# static_dir = "/path/to/dist/web"   # default: the package's dist/web
# Local copies of the app allowed to call this relay's API (CORS), e.g. ["http://127.0.0.1:8000"].
# allowed_origins = []
`;
}
