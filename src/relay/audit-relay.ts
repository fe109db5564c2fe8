/**
 * Wiring of the Merkle logs into a running relay: the log key, the store journal (claims and identity
 * updates logged in their own transactions), the lifecycle events (config loaded, migrations, start,
 * stop) and the checkpoint timer. Kept out of server.ts so the server only calls three functions.
 */
import { dirname, join, resolve } from "node:path";
import type { Logger } from "pino";
import { sha256, toHex, utf8 } from "../crypto/index.ts";
import type { MigrationStep } from "../store/sqlite/migrations.ts";
import type { AuditEvent, AuditHook } from "../store/types.ts";
import type { Clock } from "./clock.ts";
import {
  approvalsDir,
  approverKey,
  changeHash,
  configDiff,
  lastRecordedConfig,
  refuseUnapproved,
  validApprovals,
  weakenings,
} from "./compliance/change-control.ts";
import { type RelayConfig, relayConfigSchema } from "./config/schema.ts";
import type { TransparencyService } from "./transparency.ts";

/** The configured key file, or log-key.json next to the database. */
export function logKeyPath(config: RelayConfig): string {
  return resolve(
    config.compliance.log_key_file ?? join(dirname(resolve(config.storage.path)), "log-key.json"),
  );
}

/** SHA-256 of the effective configuration (schema order, defaults filled in): what the relay runs with. */
export function configHash(config: RelayConfig): string {
  return toHex(sha256(utf8(JSON.stringify(config))));
}

/** Diff fields are bounded so a config_loaded leaf stays far below the 64 KiB entry limit. */
const MAX_DIFF_TEXT = 16_384;

/**
 * The configuration as a config_loaded leaf records it: whole, except `security.reserved_usernames`
 * (up to 10,000 names would overflow a 64 KiB leaf), which is recorded as its count and SHA-256.
 */
function recordableConfig(config: RelayConfig): RelayConfig {
  return { ...config, security: { ...config.security, reserved_usernames: [] } };
}

function reservedDigest(config: RelayConfig): string {
  const names = config.security.reserved_usernames;
  return `${names.length} name(s), sha256 ${toHex(sha256(utf8(JSON.stringify(names))))}`;
}

/**
 * Change control at start (src/relay/compliance/change-control.ts): the diff from the last recorded
 * configuration, and a refusal — itself logged — of an unapproved weakening. Returns the details the
 * config_loaded event carries: the whole configuration (no secrets live in it), its change hash, the
 * diff, what weakened and who approved it.
 */
async function checkConfigChange(
  config: RelayConfig,
  transparency: TransparencyService,
  now: number,
): Promise<Record<string, string>> {
  const toHash = changeHash(config);
  const recorded = await lastRecordedConfig(transparency);
  const details: Record<string, string> = {
    change_hash: toHash,
    config: JSON.stringify(recordableConfig(config)),
    reserved_usernames: reservedDigest(config),
  };
  if (recorded === undefined) return details;
  const changes = configDiff(recorded.config, recordableConfig(config));
  if (recorded.reserved !== undefined && recorded.reserved !== details.reserved_usernames)
    changes.push({
      path: "security.reserved_usernames",
      from: recorded.reserved,
      to: details.reserved_usernames,
    });
  details.changes = JSON.stringify(changes).slice(0, MAX_DIFF_TEXT);
  const previous = relayConfigSchema.safeParse(recorded.config);
  if (!previous.success) return details;
  const found = weakenings(previous.data, config);
  if (found.length === 0) return details;
  details.weakened = found.map((w) => w.path).join(",");
  const required = previous.data.compliance.approvals_required;
  if (required === 0) return details;
  const dir = approvalsDir(config);
  const approved = validApprovals(
    dir,
    recorded.hash,
    toHash,
    previous.data.compliance.approvers.map(approverKey),
  );
  if (approved.length < required) {
    await transparency.record({
      type: "config_loaded",
      outcome: "failure",
      time: now,
      details: {
        reason: "config_change_unapproved",
        change_hash: toHash,
        weakened: details.weakened,
        approvals: approved.length,
        required,
      },
    });
    refuseUnapproved(found, required, approved, recorded.hash, toHash, dir);
  }
  details.approved_by = approved.join(",");
  return details;
}

export interface AttachedTransparency {
  readonly transparency: TransparencyService;
  /** Records relay_stopped and stops the checkpoint timer; call before the store closes. */
  stop(reason: string): Promise<void>;
}

/** Records the start (migrations, config, relay_started), checkpoints, and starts the checkpoint timer. */
export async function attachTransparency(
  config: RelayConfig,
  transparency: TransparencyService,
  clock: Clock,
  log: Logger,
  migrations: readonly MigrationStep[],
): Promise<AttachedTransparency> {
  const now = clock.now();
  for (const step of migrations)
    await transparency.record({
      type: "migration",
      outcome: "success",
      time: now,
      details: { direction: step.direction, name: step.name, version: step.version },
    });
  await transparency.record({
    type: "config_loaded",
    outcome: "success",
    time: now,
    details: {
      config_hash: configHash(config),
      environment: config.environment,
      ...(await checkConfigChange(config, transparency, now)),
    },
  });
  await transparency.record({
    type: "relay_started",
    outcome: "success",
    time: now,
    details: { pid: process.pid },
  });
  await transparency.checkpointAll();
  const timer = setInterval(() => {
    transparency.checkpointAll().catch((error: unknown) => log.error({ err: error }, "checkpoint failed"));
  }, config.compliance.checkpoint_interval_seconds * 1000);
  timer.unref();
  return {
    transparency,
    async stop(reason: string) {
      clearInterval(timer);
      await transparency.record({
        type: "relay_stopped",
        outcome: "success",
        time: clock.now(),
        details: { reason: reason.slice(0, 64) },
      });
      await transparency.checkpointAll();
    },
  };
}

/**
 * The account events routes report through the AuditHook. Claims and identity updates are already in
 * the log (written by the store journal inside their transactions), so only the others are appended.
 */
export function transparencyHook(transparency: TransparencyService, log: Logger): AuditHook {
  return {
    record(event: AuditEvent) {
      if (event.type === "account_claimed" || event.type === "identity_updated") return;
      transparency
        .record({
          type: event.type,
          outcome: "success",
          time: event.at,
          username: event.username,
          ...(event.correlationId === undefined ? {} : { correlationId: event.correlationId }),
        })
        .catch((error: unknown) => log.error({ err: error }, "audit append failed"));
    },
  };
}
