import { existsSync } from "node:fs";
import { chmod, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { backup, DatabaseSync } from "node:sqlite";
import { loadConfigOrThrow } from "../../relay/config/load.ts";
import type { Environment } from "../../relay/config/schema.ts";
import { checkStore } from "../../store/sqlite/integrity.ts";
import { humanBytes } from "../../text/human-bytes.ts";
import { type Feedback, silentFeedback } from "../_spinner.ts";
import { recordOperatorAccess } from "./_access-audit.ts";
import { syncPath } from "./_durable-files.ts";
import { CommandFailure, RELAY_EXIT, requireSqliteBackend } from "./_exit.ts";

/**
 * Pages per backup step: all of them. SQLite restarts a multi-step backup whenever another
 * connection (the running relay) writes to the source, so under steady traffic a stepped backup may
 * never finish; one step copies everything inside one read transaction, which in WAL mode neither
 * blocks nor waits for the relay's writers and sees one consistent snapshot. node:sqlite runs the
 * step off the main thread. (Largest value node:sqlite accepts.)
 */
const ALL_PAGES = 2_147_483_647;

export interface BackupOptions {
  readonly config?: string;
  readonly environment?: Environment;
  readonly output: string;
  readonly force?: boolean;
  readonly json?: boolean;
}

export interface BackupResult {
  readonly database: string;
  readonly output: string;
  readonly bytes: number;
  readonly schema_version: number | null;
  readonly messages: number | null;
  readonly milliseconds: number;
}

/**
 * `nano-relay backup --output FILE`: an online, consistent copy of the relay database while the relay
 * keeps serving. The copy is written next to FILE, checked in full (integrity_check and the relay's
 * invariants: a backup that does not verify is worse than none, because it is trusted), synced, made
 * 0600 (it holds every queued envelope and account) and only then renamed to FILE.
 */
export async function runBackup(
  options: BackupOptions,
  feedback: Feedback = silentFeedback,
): Promise<BackupResult> {
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  requireSqliteBackend(config.storage.backend, "backup");
  const database = resolve(config.storage.path);
  const output = resolve(options.output);
  if (!existsSync(database))
    throw new CommandFailure(
      `no database at ${database} to back up`,
      RELAY_EXIT.noInput,
      "check storage.path in the configuration",
    );
  if (existsSync(output) && options.force !== true)
    throw new CommandFailure(
      `${output} already exists`,
      RELAY_EXIT.cannotCreate,
      "name a new file, or pass --force to replace it",
    );
  // Logged first, so the copy carries the record of its own making.
  await recordOperatorAccess(config, "backup");
  const partial = join(dirname(output), `.${basename(output)}.partial-${process.pid}`);
  await rm(partial, { force: true });
  const started = performance.now();
  const source = new DatabaseSync(database, { timeout: config.storage.busy_timeout_ms });
  try {
    feedback.update(`copying ${database}`);
    await backup(source, partial, { rate: ALL_PAGES });
    feedback.update("verifying the copy");
    const copy = new DatabaseSync(partial);
    let report: ReturnType<typeof checkStore>;
    try {
      report = checkStore(copy, "full");
    } finally {
      copy.close();
    }
    if (!report.ok) {
      const first = report.problems[0]!;
      throw new CommandFailure(
        `the copy of ${database} does not verify: ${first.check}: ${first.message}`,
        RELAY_EXIT.dataError,
        "the database itself is damaged: run nano-relay check, and keep the backups you have",
      );
    }
    await chmod(partial, 0o600);
    await syncPath(partial);
    await rename(partial, output);
    await syncPath(dirname(output));
    return {
      database,
      output,
      bytes: (await stat(output)).size,
      schema_version: report.schemaVersion ?? null,
      messages: report.messages ?? null,
      milliseconds: Math.round(performance.now() - started),
    };
  } finally {
    source.close();
    await rm(partial, { force: true });
  }
}

export async function backupCommand(options: BackupOptions, feedback: Feedback): Promise<void> {
  const result = await runBackup(options, feedback);
  feedback.stop();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    `backed up ${result.database} to ${result.output} (${humanBytes(result.bytes)}, schema ${result.schema_version}, ${result.messages} queued message(s), ${(result.milliseconds / 1000).toFixed(1)} s)\n` +
      "not in it: attachment blobs (storage.blob_dir) and the log key (compliance.log_key_file); see docs/relay.md, Backups\n",
  );
}
