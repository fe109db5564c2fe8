/**
 * `nano-relay compliance ...` (docs/compliance.md): operator commands over the accounts in the relay's
 * database. Every command that reads or changes an account's data appends an audit-log event naming
 * the operator (OS user), the command, the target and the reason (the last three people-naming fields
 * as salted commitments, the target also as its actor pseudonym), in the same transaction as the change.
 */

import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { decodeAuditEvent } from "../../audit/audit-event.ts";
import { checkKeyName, formatVerifierKeys } from "../../audit/log-key.ts";
import { type LogSigningKey, logVerifierKey } from "../../audit/log-signer.ts";
import { sha256 } from "../../crypto/hash.ts";
import { constantTimeEqual, ed25519, mlDsa65 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { actorPseudonym, keyFileModeProblem, readLogKey, tombstoneKey } from "../../relay/audit-log-key.ts";
import { logKeyPath } from "../../relay/audit-relay.ts";
import type { BlobStore } from "../../relay/blobs/blob-store.ts";
import { FilesystemBlobStore } from "../../relay/blobs/filesystem-blob-store.ts";
import { PostgresBlobStore } from "../../relay/blobs/postgres-blob-store.ts";
import { accountCacheKey } from "../../relay/cluster/account-cache.ts";
import { invalidationChannel, sessionsEndedSignal, userChannel } from "../../relay/cluster/cluster-link.ts";
import { PostgresComplianceStore } from "../../relay/cluster/postgres-compliance.ts";
import { PostgresTransparency } from "../../relay/cluster/postgres-transparency.ts";
import { createRedisClient, redisUrl } from "../../relay/cluster/redis-clients.ts";
import { exportPayload } from "../../relay/compliance/account-export.ts";
import {
  approvalsDir,
  changeHash,
  lastRecordedConfig,
  signApproval,
  weakenings,
} from "../../relay/compliance/change-control.ts";
import { type ComplianceStore, SqliteComplianceStore } from "../../relay/compliance/compliance-store.ts";
import { signExport, verifyExport } from "../../relay/compliance/signed-export.ts";
import { loadConfigOrThrow } from "../../relay/config/load.ts";
import { type Environment, type RelayConfig, relayConfigSchema } from "../../relay/config/schema.ts";
import { postgresUrl } from "../../relay/storage-backend.ts";
import { RelayTransparency, type TransparencyService, transactionRunner } from "../../relay/transparency.ts";
import { openPool } from "../../store/postgres/connection.ts";
import { postgresSchemaVersion } from "../../store/postgres/migrations.ts";
import { COMPLIANCE_MIGRATION } from "../../store/sqlite/compliance.ts";
import { schemaVersion } from "../../store/sqlite/migrations.ts";
import { openDatabase } from "../../store/sqlite/sqlite-store.ts";
import type { ErasureResult } from "../../store/types.ts";
import { CLOSE_REASONS } from "../../wire/index.ts";
import { syncPath } from "./_durable-files.ts";
import { CommandFailure, RELAY_EXIT } from "./_exit.ts";
import { operatorName } from "./_operator.ts";

const DAY_MS = 86_400_000;
/** The first PostgreSQL schema version with the tombstone and hold tables. */
const POSTGRES_COMPLIANCE_MIGRATION = 4;

export interface ComplianceOptions {
  readonly config?: string;
  readonly environment?: Environment;
  readonly json?: boolean;
  readonly reason?: string;
}

interface Opened {
  readonly config: RelayConfig;
  readonly transparency: TransparencyService;
  readonly compliance: ComplianceStore;
  /** Where the relay keeps attachment blobs (erasure deletes the account's). */
  readonly blobs: BlobStore;
  /** After an erasure, make deleted bytes unrecoverable where the database allows it. */
  readonly scrub: (vacuum: boolean) => Promise<{ vacuumed: boolean; walTruncated: boolean } | null>;
}

export async function openCompliance<T>(
  options: ComplianceOptions,
  command: string,
  work: (opened: Opened) => Promise<T>,
): Promise<T> {
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  if (config.storage.backend === "postgres") return openPostgresCompliance(config, command, work);
  const database = resolve(config.storage.path);
  if (!existsSync(database))
    throw new CommandFailure(`no database at ${database}`, RELAY_EXIT.noInput, "check storage.path");
  const key = readLogKey(logKeyPath(config), config.compliance.log_origin);
  const db = openDatabase(database, config.storage.busy_timeout_ms);
  try {
    if (schemaVersion(db) < COMPLIANCE_MIGRATION)
      throw new NanoError(
        "store_unavailable",
        `${config.storage.path} is at schema ${schemaVersion(db)}; run nano-relay migrate (or start the relay once)`,
      );
    const transparency = new RelayTransparency({
      db,
      key,
      run: transactionRunner(db),
      now: () => Date.now(),
    });
    const compliance = new SqliteComplianceStore(db, transparency);
    return await work({
      config,
      transparency,
      compliance,
      blobs: new FilesystemBlobStore(resolve(config.storage.blob_dir)),
      scrub: (vacuum) => compliance.scrub(vacuum),
    });
  } finally {
    db.close();
  }
}

/** The cluster's PostgreSQL database: every relay keeps serving while the command works on it. */
async function openPostgresCompliance<T>(
  config: RelayConfig,
  command: string,
  work: (opened: Opened) => Promise<T>,
): Promise<T> {
  const key = readLogKey(logKeyPath(config), config.compliance.log_origin);
  const pool = openPool({
    url: postgresUrl(config),
    max: 2,
    applicationName: `nano-relay compliance ${command}`,
  });
  try {
    if ((await postgresSchemaVersion(pool)) < POSTGRES_COMPLIANCE_MIGRATION)
      throw new NanoError(
        "store_unavailable",
        "the PostgreSQL database lacks the compliance tables; run nano-relay migrate",
      );
    const transparency = new PostgresTransparency({ pool, key, now: () => Date.now() });
    return await work({
      config,
      transparency,
      compliance: new PostgresComplianceStore(pool, transparency),
      blobs:
        config.storage.blob_backend === "postgres"
          ? new PostgresBlobStore(pool)
          : new FilesystemBlobStore(resolve(config.storage.blob_dir)),
      // PostgreSQL reuses the space of deleted rows but does not zero it: docs/compliance.md.
      scrub: async () => null,
    });
  } finally {
    await pool.end();
  }
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Writes `text` to `path` atomically with mode 0600: temporary file (O_EXCL), fsync, rename, dir fsync. */
async function writePrivateFile(path: string, text: string, force: boolean): Promise<void> {
  if (existsSync(path) && !force)
    throw new CommandFailure(`${path} already exists`, RELAY_EXIT.cannotCreate, "pass --force to replace it");
  const temporary = join(dirname(path), `.nano-tmp-${basename(path)}.${randomBytes(6).toString("hex")}`);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(temporary, "wx", 0o600);
  } catch (error) {
    throw new CommandFailure(
      `cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      RELAY_EXIT.cannotCreate,
    );
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
  await syncPath(dirname(path));
}

export async function exportCommand(
  options: ComplianceOptions & { user: string; output: string; includeEnvelopes?: boolean; force?: boolean },
): Promise<void> {
  await openCompliance(options, "export", async ({ config, transparency, compliance }) => {
    const envelopes = options.includeEnvelopes === true;
    const now = Date.now();
    const data = await compliance.accountData(options.user, { envelopes });
    if (data === null) throw new NanoError("account_not_found", `no account is named ${options.user}`);
    const payload = await exportPayload({
      data,
      transparency,
      compliance,
      relay: config.compliance.log_origin,
      now,
      envelopes,
    });
    const text = signExport(payload, transparency.key.signing.audit, transparency.key.verifier.audit);
    // The access is logged before the data leaves: a failed write leaves an event too, never the reverse.
    const index = await transparency.record({
      type: "admin_action",
      outcome: "success",
      time: now,
      username: options.user,
      operator: operatorName(),
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      details: { action: "compliance_export", envelopes },
    });
    const output = resolve(options.output);
    await writePrivateFile(output, text, options.force === true);
    const counts = {
      pending_messages: data.pendingMessages.length,
      kt_bindings: (payload.key_transparency as { bindings: unknown[] }).bindings.length,
      audit_events: (payload.audit_events as unknown[]).length,
    };
    if (options.json) out(JSON.stringify({ output, audit_index: index, envelopes, ...counts }));
    else
      out(
        `wrote ${output} (signed by ${transparency.key.verifier.audit.name}; ${counts.kt_bindings} key-transparency binding(s), ${counts.pending_messages} pending message(s)${envelopes ? " with envelopes" : ", no envelopes"}, ${counts.audit_events} audit event(s)); logged as audit entry ${index}`,
      );
  });
}

/**
 * `verify-export FILE`: both signatures, against the keys in the file and, with --config or
 * --environment, against that relay's log key (without one, the file only proves it is unaltered since
 * some key signed it; compare the printed verifier keys with the relay's published ones).
 */
export async function verifyExportCommand(options: {
  file: string;
  json?: boolean;
  config?: string;
  environment?: Environment;
}): Promise<void> {
  let text: string;
  try {
    text = await readFile(options.file, "utf8");
  } catch (error) {
    throw new CommandFailure(
      `cannot read ${options.file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      RELAY_EXIT.noInput,
    );
  }
  let expected: ReturnType<typeof readLogKey>["verifier"]["audit"] | undefined;
  if (options.config !== undefined || options.environment !== undefined) {
    const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
    expected = readLogKey(logKeyPath(config), config.compliance.log_origin).verifier.audit;
  }
  const { payload, signer } = verifyExport(text, expected);
  const account = payload.account as { username?: unknown } | undefined;
  const result = {
    ok: true,
    signer: signer.name,
    checked_against_relay: expected !== undefined,
    username: typeof account?.username === "string" ? account.username : null,
    generated_at: payload.generated_at ?? null,
  };
  if (options.json) out(JSON.stringify(result));
  else
    out(
      `${options.file}: both signatures verify (Ed25519 and ML-DSA-65, key ${signer.name})${expected === undefined ? "; no relay configuration given, so compare the file's verifier keys with the relay's published ones" : ", and it is this relay's log key"}`,
    );
}

/**
 * In a cluster with Redis, the relays cache account records for 30 s (src/relay/cluster/account-cache.ts):
 * drop the erased account's L2 entry and announce it so every relay drops its L1 entry now, instead of
 * serving the erased record (and accepting messages for it) until the TTL, and announce the ended
 * sessions on the user's channel. null: no Redis configured; false: Redis did not answer.
 */
async function clearClusterCaches(config: RelayConfig, username: string): Promise<boolean | null> {
  const url = redisUrl(config);
  if (url === undefined) return null;
  const redis = createRedisClient(url, "nano-relay-compliance");
  let timer: NodeJS.Timeout | undefined;
  // The client retries for ever (a relay's Redis comes back); a command gives it a few seconds.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Redis did not answer")), 5000);
  });
  try {
    await Promise.race([
      (async () => {
        await redis.connect();
        await redis.del(accountCacheKey(config.cluster.key_prefix, username));
        await redis.publish(invalidationChannel(config.cluster.key_prefix), username);
        // Every relay checks the user's open sessions against the token table (gone: closed with 4401
        // account_erased) now, not only at its next erasure-watch look (src/relay/erasure-watch.ts).
        await redis.sPublish(
          userChannel(config.cluster.key_prefix, username),
          sessionsEndedSignal(CLOSE_REASONS.accountErased),
        );
      })(),
      deadline,
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    redis.destroy();
  }
}

/**
 * `erase --user NAME`: GDPR Art. 17. One transaction deletes the account and everything naming it
 * (src/store/sqlite/compliance.ts), leaves a tombstone for the cooling-off period and appends the
 * erasure's audit event (pseudonym, operator, reason; never the name). Then the attachment blobs go,
 * and, because SQLite keeps deleted bytes in free pages and in its write-ahead log, the database is
 * rewritten (VACUUM, unless --no-vacuum) and the WAL truncated: afterwards no database or WAL byte
 * holds the name or the identity key (test/relay/compliance-erase.test.ts greps for them).
 */
export async function eraseCommand(
  options: ComplianceOptions & { user: string; vacuum?: boolean },
): Promise<void> {
  await openCompliance(options, "erase", async ({ config, transparency, compliance, blobs, scrub }) => {
    const now = Date.now();
    const operator = operatorName();
    const reason = options.reason === undefined ? {} : { reason: options.reason };
    const account = await compliance.account(options.user);
    if (account === null) throw new NanoError("account_not_found", `no account is named ${options.user}`);
    let result: ErasureResult;
    try {
      result = await compliance.erase(
        options.user,
        tombstoneKey(transparency.key, account.skeleton),
        now,
        config.compliance.erasure_cooling_off_days * DAY_MS,
        (erased) => ({
          type: "admin_action",
          outcome: "success",
          time: now,
          pseudonymOf: options.user,
          operator,
          ...reason,
          details: {
            action: "compliance_erase",
            attachments: erased.attachments,
            messages: erased.messages,
            personal_data_rows: erased.personalDataRows,
            prekeys: erased.prekeys,
            tokens: erased.tokens,
          },
        }),
      );
    } catch (error) {
      // A refused erasure is an access too: who tried, on whom, and why it was refused.
      if (NanoError.is(error, "account_on_hold"))
        await transparency.record({
          type: "admin_action",
          outcome: "failure",
          time: now,
          username: options.user,
          operator,
          ...reason,
          details: { action: "compliance_erase", refused: "account_on_hold" },
        });
      throw error;
    }
    for (const hash of result.blobs) await blobs.remove(hash);
    const cachesCleared = await clearClusterCaches(config, options.user);
    const scrubbed = await scrub(options.vacuum !== false);
    const summary = {
      erased: options.user,
      messages: result.messages,
      attachments: result.attachments,
      tokens: result.tokens,
      prekeys: result.prekeys,
      personal_data_rows: result.personalDataRows,
      blobs_removed: result.blobs.length,
      tombstone_until: new Date(result.tombstoneUntil).toISOString(),
      vacuumed: scrubbed?.vacuumed ?? false,
      wal_truncated: scrubbed?.walTruncated ?? false,
      caches_cleared: cachesCleared,
    };
    if (options.json) out(JSON.stringify(summary));
    else {
      out(
        `erased ${options.user}: ${result.messages} message(s), ${result.attachments} attachment(s), ${result.tokens} token(s), ${result.prekeys} prekey row(s), ${result.personalDataRows} log personal-data row(s); the name cannot be claimed until ${summary.tombstone_until}; the logs still verify`,
      );
      if (cachesCleared === false)
        out(
          "warning: Redis did not answer, so the relays' account caches keep the erased record for up to 30 s more",
        );
      if (scrubbed !== null && !scrubbed.walTruncated)
        out(
          "warning: a reader kept the write-ahead log from being truncated; old pages may stay in it until the relay's next checkpoint (run the command's VACUUM again with the relay stopped to be sure)",
        );
      if (scrubbed !== null && !scrubbed.vacuumed)
        out("note: --no-vacuum: deleted bytes may remain in the database's free pages until a VACUUM");
    }
  });
}

/**
 * `hold` / `release --user NAME`: a legal hold (GDPR Art. 18 restriction; litigation) pauses erasure
 * and the retention purge of the account's audit personal data until released. The change and its
 * audit event (target, operator, reason) commit together.
 */
export async function holdCommand(
  options: ComplianceOptions & { user: string; release: boolean },
): Promise<void> {
  const command = options.release ? "release" : "hold";
  await openCompliance(options, command, async ({ compliance }) => {
    const now = Date.now();
    const changed = await compliance.setHold(options.user, !options.release, now, (changed) => ({
      type: "admin_action",
      outcome: "success",
      time: now,
      username: options.user,
      operator: operatorName(),
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      details: { action: `compliance_${command}`, changed },
    }));
    const state = options.release ? "released" : "held";
    if (options.json) out(JSON.stringify({ user: options.user, state, changed }));
    else
      out(
        changed
          ? `${options.user} is now ${options.release ? "released from its legal hold" : "under legal hold: it cannot be erased and its audit data is kept past retention"}`
          : `${options.user} was already ${options.release ? "not under a hold" : "under legal hold"}; nothing changed`,
      );
  });
}

const ACCOUNT_WIDE = new Set(["check", "backup", "restore"]);

/**
 * `access-log --user NAME`: who touched the account — every operator action on it (export, erase,
 * hold, release, and refused attempts) found by its actor pseudonym, and the commands that read or
 * replace every account at once (check, backup, restore), with operator and reason where the side
 * table still holds them. Reading the access log is itself an access, and is logged.
 */
export async function accessLogCommand(options: ComplianceOptions & { user: string }): Promise<void> {
  await openCompliance(options, "access-log", async ({ transparency, compliance }) => {
    const pseudonym = actorPseudonym(transparency.key, options.user);
    const store = transparency.stores.audit;
    const size = await store.size();
    const rows: {
      index: number;
      time: string;
      action: string;
      outcome: string;
      scope: "account" | "all accounts";
      operator: string | null;
      reason: string | null;
    }[] = [];
    for (let start = 0; start < size; start += 1024)
      for (const { index, data } of await store.entries(start, Math.min(size, start + 1024))) {
        const event = decodeAuditEvent(data);
        if (event.type !== "admin_action") continue;
        const action = String(event.details.action ?? "");
        const mine = event.actor !== undefined && constantTimeEqual(event.actor, pseudonym);
        if (!mine && !ACCOUNT_WIDE.has(action)) continue;
        const fields = new Map(
          (await compliance.personalData("audit", index)).map((row): [string, string] => [
            row.field,
            row.data,
          ]),
        );
        rows.push({
          index,
          time: new Date(event.time).toISOString(),
          action: action.replace(/^compliance_/, ""),
          outcome: event.outcome,
          scope: mine ? "account" : "all accounts",
          operator: fields.get("operator") ?? null,
          reason: fields.get("reason") ?? null,
        });
      }
    await transparency.record({
      type: "admin_action",
      outcome: "success",
      time: Date.now(),
      username: options.user,
      operator: operatorName(),
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      details: { action: "compliance_access_log" },
    });
    if (options.json) {
      for (const row of rows) out(JSON.stringify(row));
      return;
    }
    if (rows.length === 0) out(`no operator has touched ${options.user}'s data`);
    for (const row of rows)
      out(
        `${row.time}  ${row.action.padEnd(10)} ${row.outcome.padEnd(7)} ${row.scope === "account" ? "" : "(all accounts) "}by ${row.operator ?? "(erased)"}${row.reason === null ? "" : `: ${row.reason}`}  [audit entry ${row.index}]`,
      );
  });
}

const ADMIN_KEY_VERSION = 1;

/**
 * `admin-key --name NAME --output FILE`: an administrator's approval key (Ed25519 + ML-DSA-65 seeds,
 * mode 0600, written atomically) and, on stdout, the `[[compliance.approvers]]` entry that names it.
 */
export async function adminKeyCommand(options: {
  name: string;
  output: string;
  force?: boolean;
}): Promise<void> {
  checkKeyName(options.name);
  const key: LogSigningKey = {
    name: options.name,
    ed25519Seed: ed25519.keygen().seed,
    mlDsa65Seed: mlDsa65.keygen().seed,
  };
  const verifier = logVerifierKey(key);
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  await writePrivateFile(
    resolve(options.output),
    `${JSON.stringify({ version: ADMIN_KEY_VERSION, name: key.name, ed25519_seed: b64(key.ed25519Seed), ml_dsa_65_seed: b64(key.mlDsa65Seed) })}\n`,
    options.force === true,
  );
  const [ed, ml] = formatVerifierKeys(sha256, verifier);
  out(
    `# ${options.name}'s approval key (the secret half is in ${options.output}); add to the relay's configuration:`,
  );
  out("[[compliance.approvers]]");
  out(`ed25519 = ${JSON.stringify(ed)}`);
  out(`ml_dsa_65 = ${JSON.stringify(ml)}`);
}

function readAdminKey(path: string): LogSigningKey {
  const problem = keyFileModeProblem(path);
  if (problem !== undefined) throw new NanoError("log_key_file_invalid", problem);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch {
    throw new NanoError("log_key_file_invalid", `${path} is not an administrator key file`);
  }
  const seed = (field: string) => {
    const bytes = new Uint8Array(Buffer.from(String(parsed[field] ?? ""), "base64"));
    if (bytes.length !== 32) throw new NanoError("log_key_file_invalid", `${path}: ${field} is not 32 bytes`);
    return bytes;
  };
  if (parsed.version !== ADMIN_KEY_VERSION || typeof parsed.name !== "string")
    throw new NanoError("log_key_file_invalid", `${path}: unknown administrator key version`);
  return { name: parsed.name, ed25519Seed: seed("ed25519_seed"), mlDsa65Seed: seed("ml_dsa_65_seed") };
}

/**
 * `approve --config NEW --key KEY`: signs this administrator's approval of the change from the
 * configuration the relay last ran with (read from its audit log) to NEW, after showing what weakens,
 * and writes it into the approvals folder NEW names. The approval is an audit event too.
 */
export async function approveCommand(
  options: ComplianceOptions & { key: string; output?: string },
): Promise<void> {
  await openCompliance(options, "approve", async ({ config, transparency }) => {
    const admin = readAdminKey(resolve(options.key));
    const recorded = await lastRecordedConfig(transparency);
    if (recorded === undefined)
      throw new CommandFailure(
        "the relay has not recorded a configuration yet, so there is no change to approve",
        RELAY_EXIT.usage,
        "start the relay once; the first configuration needs no approval",
      );
    const previous = relayConfigSchema.safeParse(recorded.config);
    const found = previous.success ? weakenings(previous.data, config) : [];
    const toHash = changeHash(config);
    const dir = approvalsDir(config);
    const output = resolve(options.output ?? join(dir, `${admin.name}-${toHash.slice(0, 16)}.json`));
    await mkdir(dirname(output), { recursive: true, mode: 0o700 });
    await transparency.record({
      type: "admin_action",
      outcome: "success",
      time: Date.now(),
      operator: operatorName(),
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      details: {
        action: "config_approve",
        change_hash: toHash,
        weakened: found.map((w) => w.path).join(","),
      },
    });
    await writePrivateFile(output, signApproval(recorded.hash, toHash, admin), true);
    if (options.json)
      out(JSON.stringify({ output, from_hash: recorded.hash, to_hash: toHash, weakened: found }));
    else {
      out(
        `approved change ${recorded.hash.slice(0, 16)}… -> ${toHash.slice(0, 16)}… as ${admin.name}: ${output}`,
      );
      for (const w of found)
        out(`  ${w.path}: ${JSON.stringify(w.from)} -> ${JSON.stringify(w.to)} (${w.why})`);
      if (found.length === 0) out("  (nothing in it weakens security; no approval is needed)");
    }
  });
}
