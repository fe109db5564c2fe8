import { existsSync } from "node:fs";
import { chmod, copyFile, link, mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { loadConfigOrThrow } from "../../relay/config/load.ts";
import type { Environment } from "../../relay/config/schema.ts";
import { checkStore } from "../../store/sqlite/integrity.ts";
import { humanBytes } from "../../text/human-bytes.ts";
import { type Feedback, silentFeedback } from "../_spinner.ts";
import { recordOperatorAccess } from "./_access-audit.ts";
import { syncPath } from "./_durable-files.ts";
import { CommandFailure, RELAY_EXIT, requireSqliteBackend } from "./_exit.ts";

/**
 * How far message ids jump when the ids issued since the backup cannot be read from the replaced
 * database (it is damaged or gone). Clients drop a message whose relay id they have already seen
 * (docs/client.md, received log), so a restored relay must never hand out an id again; 2^32 ids is
 * more than any relay issues between two backups, and ids stay exact in a double for 2^21 restores.
 */
const UNKNOWN_ID_GAP = 2 ** 32;

export interface RestoreOptions {
  readonly config?: string;
  readonly environment?: Environment;
  readonly input: string;
  readonly json?: boolean;
}

export interface RestoreResult {
  readonly input: string;
  readonly database: string;
  readonly bytes: number;
  readonly schema_version: number | null;
  readonly messages: number | null;
  /** Where the replaced database (with its -wal and -shm) was moved; null when there was none. */
  readonly previous: string | null;
  /** The next message id the restored relay issues is above this. */
  readonly message_ids_from: number;
}

function messageSequence(db: DatabaseSync): number {
  const row = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").get() as
    | { seq: number }
    | undefined;
  return Number(row?.seq ?? 0);
}

/**
 * The replaced database's highest message id, or null when it cannot be read. Opening it with an
 * exclusive lock also proves that no relay has it open: SQLite refuses the lock while any other
 * connection, even an idle one, holds the WAL's shared memory.
 */
function inspectReplaced(database: string): number | null {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(database, { timeout: 0 });
  } catch {
    return null;
  }
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
  } catch (error) {
    db.close();
    const code = (error as { errcode?: number }).errcode ?? 0;
    if ((code & 0xff) === 5 || (code & 0xff) === 6)
      throw new CommandFailure(
        `${database} is in use`,
        RELAY_EXIT.ioError,
        "stop the relay first (SIGTERM), then restore",
      );
    return null;
  }
  try {
    return messageSequence(db);
  } catch {
    return null;
  } finally {
    try {
      db.exec("ROLLBACK");
    } catch {
      // Nothing to undo.
    }
    db.close();
  }
}

/**
 * `nano-relay restore --input FILE`: puts a backup in place of the relay database, with the relay
 * stopped. Nothing is deleted: the replaced database and its -wal/-shm move to a folder next to it.
 * The backup is copied next to the database and checked in full before anything is moved; the
 * switch is one rename, synced, so a crash leaves either the old database or the restored one.
 * Message ids continue above every id the replaced database issued (see UNKNOWN_ID_GAP).
 */
export async function runRestore(
  options: RestoreOptions,
  feedback: Feedback = silentFeedback,
): Promise<RestoreResult> {
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  requireSqliteBackend(config.storage.backend, "restore");
  const database = resolve(config.storage.path);
  const input = resolve(options.input);
  if (!existsSync(input))
    throw new CommandFailure(
      `no backup at ${input}`,
      RELAY_EXIT.noInput,
      "name a file written by nano-relay backup",
    );
  if (input === database)
    throw new CommandFailure(`${input} is the relay database itself`, RELAY_EXIT.usage, "name a backup file");
  const replacing = existsSync(database);
  const replacedSequence = replacing ? inspectReplaced(database) : 0;
  await mkdir(dirname(database), { recursive: true, mode: 0o700 });
  const staged = join(dirname(database), `.${basename(database)}.restoring-${process.pid}`);
  await rm(staged, { force: true });
  try {
    feedback.update(`copying ${input}`);
    await copyFile(input, staged);
    await chmod(staged, 0o600);
    feedback.update("verifying the backup");
    const copy = (() => {
      try {
        return new DatabaseSync(staged);
      } catch (error) {
        throw new CommandFailure(
          `${input} is not a relay backup: ${(error as Error).message}`,
          RELAY_EXIT.dataError,
        );
      }
    })();
    let report: ReturnType<typeof checkStore>;
    let idsFrom: number;
    try {
      report = checkStore(copy, "full");
      if (!report.ok) {
        const first = report.problems[0]!;
        throw new CommandFailure(
          `${input} does not verify: ${first.check}: ${first.message}`,
          RELAY_EXIT.dataError,
          "restore an older backup; nothing was changed",
        );
      }
      if ((report.schemaVersion ?? 0) === 0)
        throw new CommandFailure(
          `${input} holds no relay schema`,
          RELAY_EXIT.dataError,
          "name a file written by nano-relay backup",
        );
      const backupSequence = messageSequence(copy);
      idsFrom =
        replacedSequence === null
          ? backupSequence + UNKNOWN_ID_GAP
          : Math.max(backupSequence, replacedSequence);
      if (idsFrom > backupSequence) {
        copy.exec("BEGIN IMMEDIATE");
        copy.prepare("DELETE FROM sqlite_sequence WHERE name = 'messages'").run();
        copy.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?)").run(idsFrom);
        copy.exec("COMMIT");
      }
      // Leave one self-contained file behind: no -wal for the relay to find next to a renamed copy.
      copy.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      copy.close();
    }
    await rm(`${staged}-wal`, { force: true });
    await rm(`${staged}-shm`, { force: true });
    await syncPath(staged);
    let previous: string | null = null;
    if (replacing) {
      // Hard link, not rename, for the database itself: it stays in place until the final rename
      // swaps the restored copy in, so there is never a moment without a database at the path (a
      // relay started then would create an empty one).
      previous = `${database}.before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      await mkdir(previous, { mode: 0o700 });
      await link(database, join(previous, basename(database)));
      for (const suffix of ["-wal", "-shm"])
        if (existsSync(`${database}${suffix}`))
          await rename(`${database}${suffix}`, join(previous, `${basename(database)}${suffix}`));
      await syncPath(previous);
    }
    await rename(staged, database);
    await syncPath(dirname(database));
    return {
      input,
      database,
      bytes: (await stat(database)).size,
      schema_version: report.schemaVersion ?? null,
      messages: report.messages ?? null,
      previous,
      message_ids_from: idsFrom,
    };
  } finally {
    await rm(staged, { force: true });
    await rm(`${staged}-wal`, { force: true });
    await rm(`${staged}-shm`, { force: true });
  }
}

export async function restoreCommand(options: RestoreOptions, feedback: Feedback): Promise<void> {
  const result = await runRestore(options, feedback);
  // Recorded in the restored database: the history it continues is the backup's.
  await recordOperatorAccess(
    await loadConfigOrThrow({ file: options.config, environment: options.environment }),
    "restore",
    { schema_version: result.schema_version ?? 0 },
  );
  feedback.stop();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    `restored ${result.input} to ${result.database} (${humanBytes(result.bytes)}, schema ${result.schema_version}, ${result.messages} queued message(s))\n` +
      (result.previous === null ? "" : `the replaced database is kept in ${result.previous}\n`) +
      "next: start the relay (it migrates an older schema); accounts claimed and messages sent after the backup are gone, and clients that saw later log checkpoints will report the rollback (docs/relay.md, Recovering)\n",
  );
}
