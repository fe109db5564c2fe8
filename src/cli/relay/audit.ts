/**
 * `nano-relay audit ...`: operator commands over the relay's Merkle logs, read from the database the
 * configuration names (docs/audit.md, "Commands").
 *   verify [--from N]   recompute the whole log, check every checkpoint signature and the consistency
 *                       between successive checkpoints; name the first bad index (exit 65 if any)
 *   checkpoint          print the latest signed checkpoint (--issue signs a fresh one first)
 *   prove ENTRY         print an inclusion proof of entry ENTRY at the latest checkpoint
 *   export --since T    audit events since T as JSON lines (SIEM ingestion)
 *   log-keys            print the verifier keys clients pin
 */

import { resolve } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { decodeAuditEvent } from "../../audit/audit-event.ts";
import { describeCheckpoint, openCheckpoint } from "../../audit/checkpoint.ts";
import { decodeKtLeaf } from "../../audit/kt-leaf.ts";
import { hashLeaf } from "../../audit/merkle-hash.ts";
import { verifyConsistency } from "../../audit/merkle-verify.ts";
import { encodeBase64 } from "../../audit/signed-note.ts";
import { verifyLog } from "../../audit/verify-log.ts";
import { sha256 } from "../../crypto/hash.ts";
import { toHex } from "../../crypto/index.ts";
import { nodeProvider } from "../../crypto/node-provider.ts";
import { NanoError } from "../../errors/index.ts";
import {
  LOG_IDS,
  type LogId,
  loadOrCreateLogKey,
  publishedVerifierKeys,
  readLogKey,
} from "../../relay/audit-log-key.ts";
import { logKeyPath } from "../../relay/audit-relay.ts";
import { PostgresTransparency } from "../../relay/cluster/postgres-transparency.ts";
import { loadConfigOrThrow } from "../../relay/config/load.ts";
import type { Environment } from "../../relay/config/schema.ts";
import { postgresUrl } from "../../relay/storage-backend.ts";
import { RelayTransparency, type TransparencyService, transactionRunner } from "../../relay/transparency.ts";
import { openPool } from "../../store/postgres/connection.ts";
import { postgresSchemaVersion } from "../../store/postgres/migrations.ts";
import { schemaVersion } from "../../store/sqlite/migrations.ts";
import { openDatabase } from "../../store/sqlite/sqlite-store.ts";

/** sysexits EX_DATAERR: the log does not verify. */
export const EXIT_LOG_BAD = 65;
const LOGS_MIGRATION = 4;

export interface AuditCommandOptions {
  readonly config?: string;
  readonly environment?: Environment;
  readonly json?: boolean;
}

async function openLogs<T>(
  options: AuditCommandOptions,
  work: (transparency: TransparencyService, db: DatabaseSync | null) => Promise<T>,
): Promise<T> {
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  const key = readLogKey(logKeyPath(config), config.compliance.log_origin);
  if (config.storage.backend === "postgres") {
    // The logs every relay of the cluster appends to (docs/cluster.md).
    const pool = openPool({ url: postgresUrl(config), max: 2, applicationName: "nano-relay audit" });
    try {
      if ((await postgresSchemaVersion(pool)) < 1)
        throw new NanoError(
          "store_unavailable",
          "the PostgreSQL database has no schema yet; run nano-relay migrate",
        );
      return await work(new PostgresTransparency({ pool, key, now: () => Date.now() }), null);
    } finally {
      await pool.end();
    }
  }
  const db = openDatabase(resolve(config.storage.path), config.storage.busy_timeout_ms);
  try {
    if (schemaVersion(db) < LOGS_MIGRATION)
      throw new NanoError(
        "store_unavailable",
        `${config.storage.path} has no audit logs yet (schema ${schemaVersion(db)}); run nano-relay migrate`,
      );
    const transparency = new RelayTransparency({
      db,
      key,
      run: transactionRunner(db),
      now: () => Date.now(),
    });
    return await work(transparency, db);
  } finally {
    db.close();
  }
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export interface LogReport {
  readonly log: LogId;
  readonly ok: boolean;
  readonly size: number;
  readonly checkpoints: number;
  readonly from: number;
  readonly root?: string;
  readonly first_bad_index?: number;
  readonly exact?: boolean;
  readonly fault?: string;
  readonly message?: string;
}

/** Verifies one log: signatures, then a full recomputation, then successive consistency. */
export async function verifyOneLog(
  transparency: TransparencyService,
  log: LogId,
  from: number,
): Promise<LogReport> {
  const stored = await transparency.checkpoints(log);
  const store = transparency.stores[log];
  const size = await store.size();
  const heads = [];
  for (const checkpoint of stored) {
    try {
      const opened = await openCheckpoint(nodeProvider, checkpoint.note, transparency.key.verifier[log]);
      if (opened.size !== checkpoint.size)
        throw new NanoError("checkpoint_malformed", "stored size differs from the note");
      heads.push(opened);
    } catch (error) {
      return {
        log,
        ok: false,
        size,
        checkpoints: stored.length,
        from,
        fault: "checkpoint_signature",
        message: `checkpoint at size ${checkpoint.size} does not verify: ${(error as Error).message}`,
      };
    }
  }
  // --from N: the largest signed checkpoint at or below N anchors the prefix.
  const anchor = heads
    .filter((head) => head.size <= from)
    .reduce((best, head) => Math.max(best, head.size), 0);
  const result = await verifyLog(store, heads, { from: Math.min(anchor, size) });
  if (!result.ok)
    return {
      log,
      ok: false,
      size,
      checkpoints: heads.length,
      from: anchor,
      first_bad_index: result.fault.firstBadIndex,
      exact: result.fault.exact,
      fault: result.fault.kind,
      message: result.fault.message,
    };
  for (let i = 1; i < heads.length; i++) {
    const older = heads[i - 1]!;
    const newer = heads[i]!;
    if (older.size < anchor) continue;
    try {
      if (older.size > 0)
        verifyConsistency(sha256, {
          size1: older.size,
          size2: newer.size,
          root1: older.rootHash,
          root2: newer.rootHash,
          proof: await transparency.consistency(log, older.size, newer.size),
        });
    } catch (error) {
      return {
        log,
        ok: false,
        size,
        checkpoints: heads.length,
        from: anchor,
        first_bad_index: older.size,
        exact: false,
        fault: "checkpoint_inconsistent",
        message: `checkpoints ${describeCheckpoint(older)} and ${describeCheckpoint(newer)} are not consistent: ${(error as Error).message}`,
      };
    }
  }
  return {
    log,
    ok: true,
    size,
    checkpoints: heads.length,
    from: anchor,
    root: encodeBase64(result.rootHash),
  };
}

export async function auditVerifyCommand(
  options: AuditCommandOptions & { from?: number; log?: LogId },
): Promise<void> {
  await openLogs(options, async (transparency) => {
    const reports: LogReport[] = [];
    for (const log of options.log === undefined ? LOG_IDS : [options.log])
      reports.push(await verifyOneLog(transparency, log, options.from ?? 0));
    if (options.json) out(JSON.stringify({ ok: reports.every((r) => r.ok), logs: reports }));
    else
      for (const r of reports) {
        const head = `${r.log}: ${r.size} entries, ${r.checkpoints} checkpoint(s)${r.from > 0 ? `, from ${r.from}` : ""}`;
        if (r.ok) out(`${head}: ok, root ${r.root}`);
        else if (r.first_bad_index === undefined) out(`${head}: BAD: ${r.message}`);
        else
          out(
            `${head}: BAD, first bad index ${r.first_bad_index}${r.exact ? "" : " (or later)"}: ${r.message} [${r.fault}]`,
          );
      }
    if (!reports.every((r) => r.ok)) process.exitCode = EXIT_LOG_BAD;
  });
}

export async function auditCheckpointCommand(
  options: AuditCommandOptions & { log?: LogId; issue?: boolean },
): Promise<void> {
  await openLogs(options, async (transparency) => {
    const log = options.log ?? "audit";
    // Signing on request is an operator action: it goes in the audit log first.
    if (options.issue)
      await transparency.record({
        type: "admin_action",
        outcome: "success",
        time: Date.now(),
        details: { action: "checkpoint_issue", log },
      });
    const checkpoint = options.issue
      ? await transparency.checkpoint(log)
      : await transparency.latestCheckpoint(log);
    if (checkpoint === undefined)
      throw new NanoError("log_index_out_of_range", `the ${log} log has no checkpoint yet; pass --issue`);
    if (options.json)
      out(
        JSON.stringify({
          log,
          tree_size: checkpoint.size,
          issued_at: checkpoint.issuedAt,
          checkpoint: checkpoint.note,
        }),
      );
    else process.stdout.write(checkpoint.note);
  });
}

export async function auditProveCommand(
  options: AuditCommandOptions & { entry: number; log?: LogId },
): Promise<void> {
  await openLogs(options, async (transparency) => {
    const log = options.log ?? "audit";
    const checkpoint = await transparency.checkpoint(log, options.entry + 1);
    const leaf = await transparency.logs[log].entry(options.entry);
    const proof = await transparency.logs[log].inclusionProof(options.entry, checkpoint.size);
    const result = {
      log,
      index: options.entry,
      tree_size: checkpoint.size,
      leaf: encodeBase64(leaf),
      leaf_hash: toHex(hashLeaf(sha256, leaf)),
      inclusion_proof: proof.map(encodeBase64),
      checkpoint: checkpoint.note,
    };
    if (options.json) out(JSON.stringify(result));
    else {
      out(`entry ${result.index} of ${log} log, proven at tree size ${result.tree_size}`);
      out(`leaf hash ${result.leaf_hash}`);
      out("inclusion proof (leaf to root):");
      for (const hash of result.inclusion_proof) out(`  ${hash}`);
      out("checkpoint:");
      process.stdout.write(checkpoint.note);
    }
  });
}

/** Decoded entries as JSON-friendly objects; personal data only with `personal` (SIEM policy). */
export async function exportEvents(
  transparency: TransparencyService,
  db: DatabaseSync | null,
  options: { since: number; log: LogId; personal: boolean },
  emit: (record: Record<string, unknown>) => void,
): Promise<number> {
  const store = transparency.stores[options.log];
  const size = await store.size();
  if (options.personal && db === null)
    throw new NanoError("store_unavailable", "exporting personal data is not available on PostgreSQL yet");
  const personal = db?.prepare(
    "SELECT field, data FROM merkle_log_personal_data WHERE log_id = ? AND idx = ?",
  );
  let count = 0;
  for (let start = 0; start < size; start += 1024) {
    for (const { index, data } of await store.entries(start, Math.min(size, start + 1024))) {
      const base: Record<string, unknown> = {
        log: options.log,
        index,
        leaf_hash: toHex(hashLeaf(sha256, data)),
      };
      let time: number;
      if (options.log === "audit") {
        const event = decodeAuditEvent(data);
        time = event.time;
        Object.assign(base, {
          time: new Date(event.time).toISOString(),
          type: event.type,
          outcome: event.outcome,
          correlation_id: event.correlationId,
          actor: event.actor === undefined ? null : toHex(event.actor),
          commitments: Object.fromEntries(Object.entries(event.commitments).map(([k, v]) => [k, toHex(v)])),
          details: event.details,
        });
      } else {
        const leaf = decodeKtLeaf(data);
        time = leaf.time;
        Object.assign(base, {
          time: new Date(leaf.time).toISOString(),
          type: "kt_binding",
          identity_hash: toHex(leaf.identityHash),
          record_version: leaf.recordVersion,
          username_commitment: toHex(leaf.usernameCommitment),
        });
      }
      if (time < options.since) continue;
      if (options.personal)
        base.personal_data = Object.fromEntries(
          (personal?.all(options.log, index) ?? []).map((row) => [
            String(row.field),
            Buffer.from(row.data as Uint8Array).toString("utf8"),
          ]),
        );
      emit(base);
      count++;
    }
  }
  return count;
}

export async function auditExportCommand(
  options: AuditCommandOptions & { since: number; format: "jsonl"; log?: LogId; personalData?: boolean },
): Promise<void> {
  await openLogs(options, async (transparency, db) => {
    await exportEvents(
      transparency,
      db,
      { since: options.since, log: options.log ?? "audit", personal: options.personalData === true },
      (record) => out(JSON.stringify(record)),
    );
  });
}

export async function auditLogKeysCommand(options: AuditCommandOptions): Promise<void> {
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  const key = readLogKey(logKeyPath(config), config.compliance.log_origin);
  const vkeys = publishedVerifierKeys(key);
  if (options.json) out(JSON.stringify(vkeys));
  else
    for (const log of LOG_IDS) {
      out(`# ${log} log (${key.verifier[log].name}): Ed25519, then ML-DSA-65`);
      for (const vkey of vkeys[log]) out(vkey);
    }
}

/**
 * `nano-relay migrate` records the steps it applied in the audit log whenever the logs exist after it
 * ran (generating the log key if this is a fresh install, exactly as the first start would).
 */
export function recordMigrationSteps(
  db: DatabaseSync,
  keyFile: string,
  origin: string,
  steps: readonly { version: number; name: string; direction: "up" | "down" }[],
): Promise<void> | undefined {
  if (steps.length === 0 || schemaVersion(db) < LOGS_MIGRATION) return undefined;
  const transparency = new RelayTransparency({
    db,
    key: loadOrCreateLogKey(keyFile, origin).key,
    run: transactionRunner(db),
    now: () => Date.now(),
  });
  return (async () => {
    for (const step of steps)
      await transparency.record({
        type: "migration",
        outcome: "success",
        time: Date.now(),
        details: { direction: step.direction, name: step.name, version: step.version, via: "command" },
      });
  })();
}

/** `audit erase --username NAME`: forgets a username in both logs' side tables (docs/audit.md "Erasure"). */
export async function auditEraseCommand(options: AuditCommandOptions & { username: string }): Promise<void> {
  await openLogs(options, async (transparency) => {
    const rows = await transparency.erase(options.username, Date.now());
    if (options.json) out(JSON.stringify({ erased_rows: rows }));
    else out(`erased ${rows} personal-data row(s); the logs still verify (run nano-relay audit verify)`);
  });
}
