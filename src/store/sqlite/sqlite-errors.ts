import { statfsSync } from "node:fs";
import { dirname } from "node:path";

/**
 * What a SQLite failure says about the file and the disk under it, from the primary result code
 * (https://sqlite.org/rescode.html; node:sqlite puts the extended code in `errcode`). The relay and
 * the client both turn these into their own typed errors: a damaged file is not a full disk, and
 * neither is a bug.
 */
export type SqliteFault =
  /** SQLITE_CORRUPT, SQLITE_NOTADB: the file's contents are damaged or not a database. */
  | "damaged"
  /** SQLITE_FULL: no space left on the device (or a size limit such as RLIMIT_FSIZE). */
  | "full"
  /** SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM: the disk or its permissions refused. */
  | "io"
  /** SQLITE_BUSY, SQLITE_LOCKED: another connection holds the lock. */
  | "busy";

const BY_PRIMARY_CODE: Readonly<Record<number, SqliteFault>> = Object.freeze({
  3: "io", // SQLITE_PERM
  5: "busy", // SQLITE_BUSY
  6: "busy", // SQLITE_LOCKED
  8: "io", // SQLITE_READONLY
  10: "io", // SQLITE_IOERR
  11: "damaged", // SQLITE_CORRUPT
  13: "full", // SQLITE_FULL
  14: "io", // SQLITE_CANTOPEN
  26: "damaged", // SQLITE_NOTADB
});

/** The fault class of a node:sqlite error, or null for anything else (a constraint, a bug, not SQLite). */
export function sqliteFault(error: unknown): SqliteFault | null {
  if (typeof error !== "object" || error === null) return null;
  const { code, errcode } = error as { code?: unknown; errcode?: unknown };
  if (code !== "ERR_SQLITE_ERROR" || typeof errcode !== "number") return null;
  return BY_PRIMARY_CODE[errcode & 0xff] ?? null;
}

/**
 * Whether the file system holding `path` (or its nearest existing parent) is full: SQLite reports some
 * writes on a full device as a generic I/O error (SQLITE_IOERR), so the file system is asked.
 */
export function deviceFull(path: string): boolean {
  for (let current = path; ; current = dirname(current)) {
    try {
      const stats = statfsSync(current);
      return Number(stats.bavail) * Number(stats.bsize) < FULL_BELOW_BYTES;
    } catch {
      if (dirname(current) === current) return false;
    }
  }
}

/** Less than this free counts as full: SQLite needs at least a page and a WAL frame header. */
const FULL_BELOW_BYTES = 64 * 1024;

/** A failure that means no space left: SQLITE_FULL, or an I/O error on a full file system. */
export function noSpaceLeft(error: unknown, path: string): boolean {
  const fault = sqliteFault(error);
  return fault === "full" || (fault === "io" && deviceFull(path));
}
