import { statSync } from "node:fs";
import { NanoError } from "../../errors/index.ts";
import { checkStore, type StoreProblem } from "./integrity.ts";
import { sqliteFault } from "./sqlite-errors.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite-store.ts";

/** How many problems the refusal message lists; `nano-relay check` prints them all. */
const LISTED_PROBLEMS = 5;

/**
 * The typed error for a SQLite failure on the relay's database file: `store_damaged` when the file's
 * contents are the problem, `store_unavailable` when the disk or its permissions are, and null for
 * anything else (which stays a bug to report, not something to explain away).
 */
export function storeFailure(error: unknown, path: string): NanoError | null {
  if (NanoError.is(error)) return error;
  const fault = sqliteFault(error);
  const reason = (error as Error).message;
  if (fault === "damaged")
    return new NanoError("store_damaged", `${path} is damaged: ${reason}`, { cause: error });
  if (fault === "full")
    return new NanoError("store_unavailable", `no space left on device for ${path}: ${reason}`, {
      cause: error,
    });
  if (fault === "io" || fault === "busy")
    return new NanoError("store_unavailable", `cannot use ${path}: ${reason}`, { cause: error });
  return null;
}

function refuse(path: string, problems: readonly StoreProblem[]): NanoError {
  const listed = problems
    .slice(0, LISTED_PROBLEMS)
    .map((problem) => `  ${problem.check}: ${problem.message}`);
  const more =
    problems.length > LISTED_PROBLEMS ? [`  ... and ${problems.length - LISTED_PROBLEMS} more`] : [];
  return new NanoError(
    "store_damaged",
    `${path} failed its integrity check:\n${[...listed, ...more].join("\n")}`,
  );
}

/**
 * Opens the relay database for serving, refusing a damaged one before anything writes to it: a
 * relay that starts on a damaged file loses messages quietly (rows its indexes cannot reach are never
 * delivered) and a migration run on it can spread the damage. Runs the quick check (integrity.ts).
 * A file of zero bytes is refused too: SQLite would take it for a new, empty database, and a relay
 * never leaves one behind (its first start writes the schema), so it means a lost or truncated copy.
 */
export function openCheckedStore(options: SqliteStoreOptions & { readonly path: string }): SqliteStore {
  const { path } = options;
  if (path !== ":memory:") {
    let size: number | null = null;
    try {
      size = statSync(path).size;
    } catch {
      // No file yet: a new relay, created below.
    }
    if (size === 0)
      throw new NanoError(
        "store_damaged",
        `${path} is empty (0 bytes): a truncated or lost copy, not a relay database; remove it only if this is a new relay`,
      );
  }
  let store: SqliteStore;
  try {
    store = new SqliteStore({ ...options, migrate: false });
  } catch (error) {
    throw storeFailure(error, path) ?? error;
  }
  const report = checkStore(store.db, "quick");
  if (!report.ok) {
    void store.close();
    throw refuse(path, report.problems);
  }
  return store;
}
