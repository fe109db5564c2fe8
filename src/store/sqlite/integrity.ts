import type { DatabaseSync } from "node:sqlite";
import { loadMigrations } from "./migrations.ts";

/**
 * Is this relay database whole? SQLite's own structural check plus the invariants the relay relies
 * on, each reported as a problem naming what is wrong (docs/relay.md "Checking and recovering").
 *
 * Why the relay's invariants on top of `integrity_check`: a message row that its mailbox index does
 * not reach is never delivered (the pump reads by `messages_by_recipient`) while every query still
 * succeeds, so nothing fails loudly; and `mailbox_usage` is what quotas are checked against. The quick
 * form runs at every start, so it stays linear in the database size: `quick_check` (every page, every
 * index's entry count) and table-scan versus index counts. The full form adds `integrity_check` (every
 * index entry matched to its row), foreign keys and per-mailbox counts.
 */
export interface StoreProblem {
  /** Which check found it: "sqlite", "schema", "foreign_keys", "mailboxes". */
  readonly check: string;
  readonly message: string;
}

export interface StoreCheckReport {
  readonly ok: boolean;
  readonly mode: "quick" | "full";
  readonly problems: readonly StoreProblem[];
  /** What the checks counted, for the operator's summary (absent when a check could not run). */
  readonly schemaVersion?: number;
  readonly messages?: number;
  readonly mailboxes?: number;
}

/** SQLite reports at most this many problems per integrity pass; more says nothing new. */
const MAX_SQLITE_PROBLEMS = 50;

function rows(db: DatabaseSync, sql: string): Record<string, unknown>[] {
  return db.prepare(sql).all() as Record<string, unknown>[];
}

function sqliteStructure(db: DatabaseSync, mode: "quick" | "full"): StoreProblem[] {
  const pragma = mode === "quick" ? "quick_check" : "integrity_check";
  return rows(db, `PRAGMA ${pragma}(${MAX_SQLITE_PROBLEMS})`)
    .map((row) => String(Object.values(row)[0]))
    .filter((line) => line !== "ok")
    .map((line) => ({ check: "sqlite", message: line }));
}

function schemaProblems(db: DatabaseSync): { problems: StoreProblem[]; version: number } {
  const shipped = loadMigrations();
  // Read directly: appliedMigrations() creates the table, and a check must not write (it also reads
  // backups and files that are not ours yet).
  const kinds =
    tableExists(db, "schema_migrations") &&
    rows(db, "SELECT name FROM pragma_table_info('schema_migrations')").some((row) => row.name === "kind");
  const applied = tableExists(db, "schema_migrations")
    ? rows(
        db,
        `SELECT version, name, checksum, ${kinds ? "kind" : "NULL AS kind"} FROM schema_migrations ORDER BY version`,
      ).map((row) => ({
        version: Number(row.version),
        name: String(row.name),
        checksum: String(row.checksum),
        kind: row.kind === "expand" || row.kind === "contract" ? row.kind : null,
      }))
    : [];
  const problems: StoreProblem[] = [];
  for (const row of applied) {
    const migration = shipped[row.version - 1];
    // Ahead by an expand step (a newer relay of a rolling upgrade applied it): this relay ignores it.
    if (migration === undefined && row.kind === "expand") continue;
    if (migration === undefined)
      problems.push({
        check: "schema",
        message: `schema version ${row.version} is newer than this relay knows (${shipped.length}); run the newer relay`,
      });
    else if (migration.checksum !== row.checksum)
      problems.push({
        check: "schema",
        message: `migration ${row.version} (${row.name}) differs from the one this relay ships`,
      });
  }
  const version = applied.length === 0 ? 0 : applied[applied.length - 1]!.version;
  return { problems, version };
}

function tableExists(db: DatabaseSync, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/**
 * Every message row must be reachable through the mailbox index, and `mailbox_usage` must equal what
 * the mailboxes hold. `NOT INDEXED` forces a table scan, so the two counts come from different b-trees.
 */
function mailboxProblems(
  db: DatabaseSync,
  mode: "quick" | "full",
): { problems: StoreProblem[]; messages: number; mailboxes: number } {
  if (!tableExists(db, "messages") || !tableExists(db, "mailbox_usage"))
    return { problems: [], messages: 0, mailboxes: 0 };
  const problems: StoreProblem[] = [];
  const scanned = Number(
    (db.prepare("SELECT count(*) AS n FROM messages NOT INDEXED").get() as { n: number }).n,
  );
  const indexed = Number(
    (
      db
        .prepare("SELECT count(*) AS n FROM messages INDEXED BY messages_by_recipient WHERE recipient >= ''")
        .get() as { n: number }
    ).n,
  );
  if (indexed !== scanned)
    problems.push({
      check: "mailboxes",
      message: `${scanned - indexed} of ${scanned} messages are not reachable through the mailbox index (they would never be delivered)`,
    });
  const usage = db
    .prepare("SELECT coalesce(sum(messages), 0) AS m, coalesce(sum(bytes), 0) AS b FROM mailbox_usage")
    .get() as { m: number; b: number };
  const actual = db
    .prepare("SELECT count(*) AS m, coalesce(sum(size), 0) AS b FROM messages NOT INDEXED")
    .get() as { m: number; b: number };
  if (Number(usage.m) !== Number(actual.m) || Number(usage.b) !== Number(actual.b))
    problems.push({
      check: "mailboxes",
      message: `mailbox usage says ${usage.m} messages / ${usage.b} bytes, the mailboxes hold ${actual.m} / ${actual.b} (quotas would be wrong)`,
    });
  if (mode === "full") {
    // Per mailbox, so the operator learns whose mailbox is off (usernames stay in this report only).
    const mismatched = rows(
      db,
      `SELECT coalesce(u.recipient, m.recipient) AS recipient, coalesce(u.messages, 0) AS counted,
              coalesce(m.n, 0) AS held
         FROM mailbox_usage u
         FULL OUTER JOIN (SELECT recipient, count(*) AS n FROM messages NOT INDEXED GROUP BY recipient) m
           ON m.recipient = u.recipient
        WHERE coalesce(u.messages, 0) <> coalesce(m.n, 0)
        LIMIT ${MAX_SQLITE_PROBLEMS}`,
    );
    for (const row of mismatched)
      problems.push({
        check: "mailboxes",
        message: `mailbox ${String(row.recipient)}: usage counts ${Number(row.counted)}, it holds ${Number(row.held)}`,
      });
  }
  const mailboxes = Number(
    (db.prepare("SELECT count(DISTINCT recipient) AS n FROM messages").get() as { n: number }).n,
  );
  return { problems, messages: scanned, mailboxes };
}

function foreignKeyProblems(db: DatabaseSync): StoreProblem[] {
  return rows(db, "PRAGMA foreign_key_check")
    .slice(0, MAX_SQLITE_PROBLEMS)
    .map((row) => ({
      check: "foreign_keys",
      message: `${String(row.table)} row ${String(row.rowid)} points to a missing ${String(row.parent)} row`,
    }));
}

/**
 * Runs the checks on an open database. SQLite errors raised while reading (a page that cannot be
 * parsed) are problems of the check that hit them, never exceptions: a damaged file is the input
 * this function exists for.
 */
export function checkStore(db: DatabaseSync, mode: "quick" | "full"): StoreCheckReport {
  // One read transaction, so every count comes from one snapshot: at a deploy's start check, the old
  // workers are still writing to the same file, and a message committed between two separate reads
  // made the table scan and the index disagree ("-1 of 0 messages are not reachable").
  const ownSnapshot = !db.isTransaction;
  if (ownSnapshot) db.exec("BEGIN");
  try {
    return checkStoreInSnapshot(db, mode);
  } finally {
    if (ownSnapshot && db.isTransaction) db.exec("ROLLBACK");
  }
}

function checkStoreInSnapshot(db: DatabaseSync, mode: "quick" | "full"): StoreCheckReport {
  const problems: StoreProblem[] = [];
  const attempt = <T>(check: string, work: () => T): T | undefined => {
    try {
      return work();
    } catch (error) {
      problems.push({ check, message: (error as Error).message });
      return undefined;
    }
  };
  const structure = attempt("sqlite", () => sqliteStructure(db, mode));
  if (structure !== undefined) problems.push(...structure);
  // On a structurally broken file the other checks would only repeat SQLite's findings as errors.
  if (problems.length > 0) return { ok: false, mode, problems };
  const schema = attempt("schema", () => schemaProblems(db));
  if (schema !== undefined) problems.push(...schema.problems);
  if (mode === "full") {
    const keys = attempt("foreign_keys", () => foreignKeyProblems(db));
    if (keys !== undefined) problems.push(...keys);
  }
  const mailboxes = attempt("mailboxes", () => mailboxProblems(db, mode));
  if (mailboxes !== undefined) problems.push(...mailboxes.problems);
  return {
    ok: problems.length === 0,
    mode,
    problems,
    ...(schema === undefined ? {} : { schemaVersion: schema.version }),
    ...(mailboxes === undefined ? {} : { messages: mailboxes.messages, mailboxes: mailboxes.mailboxes }),
  };
}
