import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { LOG_IDS, readLogKey } from "../../relay/audit-log-key.ts";
import { logKeyPath } from "../../relay/audit-relay.ts";
import { blobFile } from "../../relay/blob-files.ts";
import { loadConfigOrThrow } from "../../relay/config/load.ts";
import type { Environment, RelayConfig } from "../../relay/config/schema.ts";
import { RelayTransparency, transactionRunner } from "../../relay/transparency.ts";
import { checkStore, type StoreProblem } from "../../store/sqlite/integrity.ts";
import { humanBytes } from "../../text/human-bytes.ts";
import { type Feedback, silentFeedback } from "../_spinner.ts";
import { recordOperatorAccess } from "./_access-audit.ts";
import { RELAY_EXIT, requireSqliteBackend } from "./_exit.ts";
import { verifyOneLog } from "./audit.ts";

/** The schema version that created the Merkle logs (migration 0004). */
const LOGS_MIGRATION = 4;

export interface CheckOptions {
  readonly config?: string;
  readonly environment?: Environment;
  readonly quick?: boolean;
  readonly json?: boolean;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly database: string;
  readonly bytes: number;
  readonly mode: "quick" | "full";
  readonly schema_version: number | null;
  readonly messages: number | null;
  readonly mailboxes: number | null;
  readonly logs: readonly { log: string; ok: boolean; size: number; checkpoints: number }[];
  readonly attachments: number | null;
  readonly problems: readonly StoreProblem[];
}

/** Every attachment row must have its blob: a missing one is a download that fails for its recipient. */
function attachmentProblems(db: DatabaseSync, blobDir: string): { problems: StoreProblem[]; count: number } {
  const rows = db.prepare("SELECT hash, size FROM attachments").all() as { hash: string; size: number }[];
  const problems: StoreProblem[] = [];
  for (const row of rows) {
    const file = blobFile(blobDir, String(row.hash));
    let size: number | null = null;
    try {
      size = statSync(file).size;
    } catch {
      problems.push({
        check: "attachments",
        message: `blob ${row.hash.slice(0, 16)}... is missing (${file})`,
      });
      continue;
    }
    if (size !== Number(row.size))
      problems.push({
        check: "attachments",
        message: `blob ${row.hash.slice(0, 16)}... holds ${size} bytes, its record says ${row.size}`,
      });
  }
  return { problems, count: rows.length };
}

async function logProblems(
  db: DatabaseSync,
  config: RelayConfig,
): Promise<{ problems: StoreProblem[]; logs: CheckReport["logs"] }> {
  let key: ReturnType<typeof readLogKey>;
  try {
    key = readLogKey(logKeyPath(config), config.compliance.log_origin);
  } catch (error) {
    return {
      problems: [
        { check: "audit", message: `cannot verify the logs' checkpoints: ${(error as Error).message}` },
      ],
      logs: [],
    };
  }
  const transparency = new RelayTransparency({ db, key, run: transactionRunner(db), now: () => Date.now() });
  const problems: StoreProblem[] = [];
  const logs: CheckReport["logs"][number][] = [];
  for (const log of LOG_IDS) {
    const report = await verifyOneLog(transparency, log, 0);
    logs.push({ log, ok: report.ok, size: report.size, checkpoints: report.checkpoints });
    if (!report.ok)
      problems.push({
        check: log === "kt" ? "kt log" : "audit log",
        message: `${report.first_bad_index === undefined ? "" : `first bad entry ${report.first_bad_index}: `}${report.message ?? report.fault ?? "does not verify"}`,
      });
  }
  return { problems, logs };
}

/**
 * `nano-relay check`: is the database whole, and does everything the relay promises still hold?
 * Read-only (a check must never repair or write: the evidence stays as it was), safe while the relay
 * runs (SQLite gives the check one consistent snapshot). The quick form is what `start` runs.
 */
export async function runCheck(config: RelayConfig, quick: boolean): Promise<CheckReport> {
  const database = resolve(config.storage.path);
  const bytes = statSync(database).size;
  const mode = quick ? "quick" : "full";
  const none = { schema_version: null, messages: null, mailboxes: null, logs: [], attachments: null };
  if (bytes === 0)
    // SQLite would read an empty file as a new, empty database and find nothing wrong.
    return {
      ok: false,
      database,
      bytes,
      mode,
      ...none,
      problems: [{ check: "sqlite", message: "the file is empty (0 bytes): a truncated or lost copy" }],
    };
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(database, { timeout: config.storage.busy_timeout_ms });
  } catch (error) {
    return {
      ok: false,
      database,
      bytes,
      mode,
      ...none,
      problems: [{ check: "sqlite", message: (error as Error).message }],
    };
  }
  try {
    // One read transaction: every check below sees the same snapshot while the relay keeps writing.
    const snapshot = (() => {
      try {
        db.exec("BEGIN");
        return true;
      } catch {
        return false;
      }
    })();
    const store = checkStore(db, mode);
    const problems: StoreProblem[] = [...store.problems];
    let logs: CheckReport["logs"] = [];
    let attachments: number | null = null;
    const structural = store.problems.some((problem) => problem.check === "sqlite");
    if (!quick && !structural && (store.schemaVersion ?? 0) >= LOGS_MIGRATION) {
      const verified = await logProblems(db, config);
      problems.push(...verified.problems);
      logs = verified.logs;
      // Blob files only when they are files (storage.blob_backend = "filesystem").
      if (config.storage.blob_backend === "filesystem") {
        const blobs = attachmentProblems(db, resolve(config.storage.blob_dir));
        problems.push(...blobs.problems);
        attachments = blobs.count;
      }
    }
    if (snapshot) db.exec("ROLLBACK");
    return {
      ok: problems.length === 0,
      database,
      bytes,
      mode,
      schema_version: store.schemaVersion ?? null,
      messages: store.messages ?? null,
      mailboxes: store.mailboxes ?? null,
      logs,
      attachments,
      problems,
    };
  } finally {
    db.close();
  }
}

function render(report: CheckReport): string {
  const lines = [
    `${report.database} (${humanBytes(report.bytes)}${report.schema_version === null ? "" : `, schema ${report.schema_version}`}), ${report.mode} check`,
  ];
  const failed = (check: string) => report.problems.some((problem) => problem.check === check);
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(12)} ${text}`);
  row(
    "sqlite",
    failed("sqlite") ? "DAMAGED" : report.mode === "quick" ? "ok (quick_check)" : "ok (integrity_check)",
  );
  if (report.messages !== null)
    row(
      "mailboxes",
      `${failed("mailboxes") ? "BAD" : "ok"}: ${report.messages} message(s) in ${report.mailboxes} mailbox(es)`,
    );
  for (const log of report.logs)
    row(
      log.log === "kt" ? "kt log" : "audit log",
      `${log.ok ? "ok" : "BAD"}: ${log.size} entries, ${log.checkpoints} checkpoint(s)`,
    );
  if (report.attachments !== null)
    row("attachments", `${failed("attachments") ? "BAD" : "ok"}: ${report.attachments} blob(s)`);
  for (const problem of report.problems) lines.push(`  problem: ${problem.check}: ${problem.message}`);
  lines.push(report.ok ? "ok" : `${report.problems.length} problem(s) found`);
  return `${lines.join("\n")}\n`;
}

export async function checkCommand(
  options: CheckOptions,
  feedback: Feedback = silentFeedback,
): Promise<void> {
  const config = await loadConfigOrThrow({ file: options.config, environment: options.environment });
  requireSqliteBackend(config.storage.backend, "check");
  const database = resolve(config.storage.path);
  if (!existsSync(database)) {
    process.stderr.write(
      `nano-relay: no database at ${database}\nhint: check storage.path in the configuration; a new relay creates it on its first start\n`,
    );
    process.exitCode = RELAY_EXIT.noInput;
    return;
  }
  feedback.update(`checking ${database}`);
  const report = await runCheck(config, options.quick === true);
  // A check reads every account's data: an access event (after it, so it does not check itself).
  if (report.ok) await recordOperatorAccess(config, "check", { mode: report.mode });
  feedback.stop();
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : render(report));
  if (!report.ok) {
    if (!options.json)
      process.stderr.write(
        "hint: stop the relay and restore the newest good backup: nano-relay restore --input FILE (docs/relay.md, Recovering)\n",
      );
    process.exitCode = RELAY_EXIT.dataError;
  }
}
