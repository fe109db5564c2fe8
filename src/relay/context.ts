import { resolve } from "node:path";
import type { Logger } from "pino";
import type { AuditHook, RelayStore } from "../store/types.ts";
import { ChallengeBook, type ChallengeKeeper, TokenService } from "./auth.ts";
import type { BlobStore } from "./blobs/blob-store.ts";
import { FilesystemBlobStore } from "./blobs/filesystem-blob-store.ts";
import type { Clock } from "./clock.ts";
import type { ClusterLink } from "./cluster/cluster-link.ts";
import type { ComplianceStore } from "./compliance/compliance-store.ts";
import type { RelayConfig } from "./config/schema.ts";
import { DeliveryHub } from "./delivery-hub.ts";
import { createRelayBounds, type RelayBounds } from "./limits/bounds.ts";
import { MessageStages } from "./message-stages.ts";
import { RelayMetrics } from "./metrics.ts";
import type { ProtocolVerifier } from "./protocol-verifier.ts";
import { type LimiterFactory, RelayRateLimits } from "./rate-limits.ts";
import { StoreHealth } from "./store-health.ts";
import type { TransparencyService } from "./transparency.ts";
import { UsernamePolicy } from "./usernames.ts";
import { type AsyncVerifier, createVerification } from "./verify/verification.ts";

/** Everything a route needs, built once per relay; routes get it explicitly instead of via globals. */
export interface RelayContext {
  readonly config: RelayConfig;
  readonly store: RelayStore;
  readonly verifier: ProtocolVerifier;
  /** The verifier's signature checks off the event loop (src/relay/verify). */
  readonly verify: AsyncVerifier;
  readonly clock: Clock;
  readonly metrics: RelayMetrics;
  /** Per-stage timing of messages (message-stages.ts). */
  readonly stages: MessageStages;
  readonly limits: RelayRateLimits;
  /** Connection, memory and audit bounds of this process (src/relay/limits). */
  readonly bounds: RelayBounds;
  readonly hub: DeliveryHub;
  readonly challenges: ChallengeKeeper;
  readonly tokens: TokenService;
  readonly usernames: UsernamePolicy;
  readonly audit: AuditHook;
  /** The audit and key-transparency logs; absent only in route tests built without them. */
  readonly transparency: TransparencyService | undefined;
  /** Erasure on this database (an account deleting itself); absent where transparency is. */
  readonly compliance: ComplianceStore | undefined;
  readonly blobDir: string;
  /** Whether the store can write now (readiness; store-health.ts). */
  readonly storeHealth: StoreHealth;
  /** Attachment blobs: files under blobDir, or chunks in PostgreSQL (storage.blob_backend). */
  readonly blobs: BlobStore;
  readonly log: Logger;
  /** Set on SIGTERM/SIGINT: /readyz fails, so load balancers stop sending clients here; work goes on. */
  draining: boolean;
  /** Set once the drain delay has passed: new HTTP requests are refused with relay_draining. */
  refusing: boolean;
  /**
   * The other workers of `nano-relay serve --instances N` on this host (src/relay/instances): told
   * after each committed send so a recipient connected to another worker is woken at once. Null
   * when the relay runs alone.
   */
  siblings: { announceMessage(recipient: string): void } | null;
  /** This relay's link to the others through Redis (cluster.redis_url); null for a lone relay. */
  cluster: ClusterLink | null;
}

export interface ContextOptions {
  readonly config: RelayConfig;
  readonly store: RelayStore;
  readonly verifier: ProtocolVerifier;
  readonly clock: Clock;
  readonly log: Logger;
  readonly audit?: AuditHook;
  readonly transparency?: TransparencyService;
  readonly compliance?: ComplianceStore;
  /** Extra audit sink next to the configured one (the Merkle audit log). */
  readonly auditLog?: AuditHook;
  /** Where blobs live (default: files under storage.blob_dir). */
  readonly blobs?: BlobStore;
  /** Where challenges live (default: in memory; a cluster shares them in PostgreSQL). */
  readonly challenges?: ChallengeKeeper;
  /** Writes waiting for the next group commit, for the metrics gauge. */
  readonly pendingWrites?: () => number;
  /** Builds every rate limiter (in memory by default; a cluster passes its shared store's). */
  readonly limiterFactory?: LimiterFactory;
}

function auditHook(config: RelayConfig, log: Logger): AuditHook {
  if (config.compliance.audit_hook === "none") return { record() {} };
  // Usernames only when the operator asked for them (compliance.log_usernames, for abuse handling and
  // disputes); the Merkle audit log keeps the event with a pseudonym either way.
  if (config.compliance.log_usernames) return { record: (event) => log.info({ audit: event }, "audit") };
  return {
    record: ({ username: _named, ...event }) => log.info({ audit: event }, "audit"),
  };
}

function chainHooks(first: AuditHook, second: AuditHook | undefined): AuditHook {
  if (second === undefined) return first;
  return {
    record(event) {
      first.record(event);
      second.record(event);
    },
  };
}

export function createRelayContext(options: ContextOptions): RelayContext {
  const { config, store, clock, log } = options;
  const metrics = new RelayMetrics();
  metrics.attachStore(store, options.pendingWrites ?? (() => 0));
  const bounds = createRelayBounds(
    config,
    options.transparency,
    () => clock.now(),
    (error) => log.error({ err: error }, "audit append failed"),
  );
  metrics.attachBounds(bounds);
  return {
    config,
    store,
    verifier: options.verifier,
    verify: createVerification(options.verifier, config, metrics),
    clock,
    metrics,
    stages: new MessageStages(metrics.messageStageSeconds),
    limits: new RelayRateLimits(config, metrics, options.limiterFactory),
    bounds,
    hub: new DeliveryHub(),
    challenges: options.challenges ?? new ChallengeBook(clock, config.security.challenge_lifetime_seconds),
    tokens: new TokenService(
      store.accounts,
      clock,
      config.security.token_lifetime_seconds,
      config.security.token_idle_timeout_seconds,
    ),
    usernames: new UsernamePolicy(config.security.reserved_usernames),
    audit: chainHooks(options.audit ?? auditHook(config, log), options.auditLog),
    transparency: options.transparency,
    compliance: options.compliance,
    blobDir: resolve(config.storage.blob_dir),
    storeHealth: new StoreHealth({
      // Local file systems only: the database's when it is a file (SQLite), the blobs' when they are files.
      paths: [
        ...(config.storage.backend === "sqlite" ? [resolve(config.storage.path)] : []),
        ...(config.storage.blob_backend === "filesystem" ? [resolve(config.storage.blob_dir)] : []),
      ],
      minFreeBytes: config.storage.min_free_bytes,
      probe: store.probeWrite === undefined ? undefined : () => store.probeWrite!(),
      // Real elapsed time for probe spacing, not the relay clock that tests move by days.
      now: () => performance.now(),
      log,
    }),
    blobs: options.blobs ?? new FilesystemBlobStore(resolve(config.storage.blob_dir)),
    log,
    draining: false,
    refusing: false,
    siblings: null,
    cluster: null,
  };
}
