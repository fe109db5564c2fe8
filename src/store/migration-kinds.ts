/**
 * Expand and contract migrations (docs/relay.md "Schema changes during a rolling upgrade"). During a
 * rolling upgrade old and new relay code run against one database, so a migration applied while old
 * relays still run must be one that old code ignores: an **expand** step (a new table, a new
 * nullable or defaulted column, a new index). A **contract** step (dropping or renaming what old code
 * reads, a constraint old code would break) may run only once no older relay remains.
 *
 * A migration is a contract step when its up file says so in a leading comment line
 * (`-- nano: contract`); every other migration is an expand step (`-- nano: expand` may say so).
 * The runners (SQLite and PostgreSQL) hold this rule: a relay applies only expand steps when it starts,
 * stopping before the first contract step; `nano-relay migrate --contract` applies contract steps,
 * and refuses while an older relay may still be running. Old code, in turn, accepts a database that
 * is ahead of it by expand steps only (each applied step's kind is recorded in schema_migrations).
 */
export type MigrationKind = "expand" | "contract";

const MARKER = /^--\s*nano:\s*(expand|contract)\s*$/;

/** The kind an up file declares in its leading comment lines; expand when it declares none. */
export function migrationKind(up: string): MigrationKind {
  for (const line of up.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    if (!trimmed.startsWith("--")) break;
    const match = MARKER.exec(trimmed);
    if (match !== null) return match[1] as MigrationKind;
  }
  return "expand";
}

/**
 * Statements that take away what older code may read: an up file with one of these must be marked
 * `-- nano: contract` (test/store/migration-kinds.test.ts scans every shipped migration).
 */
export const CONTRACT_STATEMENTS =
  /\b(DROP\s+(TABLE|COLUMN|INDEX|VIEW|TRIGGER)|RENAME\s+(TO|COLUMN)|ALTER\s+COLUMN\s+\S+\s+SET\s+NOT\s+NULL)\b/i;

/** The rows of schema_migrations the runners need to judge a database that is ahead of the code. */
export interface AppliedKind {
  readonly version: number;
  readonly kind: MigrationKind | null;
}

/**
 * Versions applied to the database that this code does not ship and that are not expand steps: a
 * database ahead of the code by expand steps only is one the code may run on (it ignores what they
 * added); anything else (a contract step, or a step whose kind was not recorded) it must not touch.
 */
export function unsafeAhead(applied: readonly AppliedKind[], shipped: number): number[] {
  return applied.filter((row) => row.version > shipped && row.kind !== "expand").map((row) => row.version);
}
