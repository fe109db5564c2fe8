import { NanoError } from "../../errors/index.ts";

/**
 * nano-relay's exit codes (docs/relay.md "Exit codes"): sysexits(3) where one fits, so a supervisor or
 * script can tell a bad invocation from a damaged database from a disk that refuses writes, and stop
 * restarting a relay that cannot start for a reason a restart will not fix.
 */
export const RELAY_EXIT = Object.freeze({
  ok: 0,
  /** `status`: the relay answered but is not ready; `start`: the drain failed. */
  notReady: 1,
  usage: 64,
  /** EX_DATAERR: a damaged database, a log that does not verify, a backup that is not one. */
  dataError: 65,
  /** EX_NOINPUT: the database or backup named does not exist. */
  noInput: 66,
  /** EX_UNAVAILABLE: cannot listen, or the relay asked about does not answer. */
  unavailable: 69,
  software: 70,
  /** EX_CANTCREAT: the output file exists (without --force) or cannot be created. */
  cannotCreate: 73,
  /** EX_IOERR: the disk refused (full, read-only, I/O error) or the database is in use. */
  ioError: 74,
  /** EX_NOPERM: a compliance rule refused the command (an erase of an account under legal hold). */
  refused: 77,
  config: 78,
  /** A second SIGTERM/SIGINT during the drain. */
  interrupted: 130,
});

const BY_CODE: Readonly<Partial<Record<string, number>>> = Object.freeze({
  config_invalid: RELAY_EXIT.config,
  log_key_file_invalid: RELAY_EXIT.config,
  store_damaged: RELAY_EXIT.dataError,
  migration_checksum_mismatch: RELAY_EXIT.dataError,
  store_unavailable: RELAY_EXIT.ioError,
  relay_unreachable: RELAY_EXIT.unavailable,
  account_not_found: RELAY_EXIT.noInput,
  account_on_hold: RELAY_EXIT.refused,
  config_change_unapproved: RELAY_EXIT.refused,
});

const BY_KIND = Object.freeze({
  usage: RELAY_EXIT.usage,
  codec: RELAY_EXIT.dataError,
  validation: RELAY_EXIT.dataError,
  crypto: RELAY_EXIT.dataError,
  internal: RELAY_EXIT.software,
});

export function relayExitCode(error: unknown): number {
  if (!NanoError.is(error)) return RELAY_EXIT.software;
  return BY_CODE[error.code] ?? BY_KIND[error.kind];
}

/** A command's own refusal: the message, what to do about it, and the exit code that says which. */
export class CommandFailure extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(message: string, exitCode: number, hint?: string) {
    super(message);
    this.name = "CommandFailure";
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/**
 * check, backup and restore work on the SQLite database file; a relay on PostgreSQL keeps its state in
 * the database server, whose own tools do this (pg_amcheck, pg_dump, pg_restore).
 */
export function requireSqliteBackend(backend: string, command: string): void {
  if (backend === "sqlite") return;
  throw new CommandFailure(
    `nano-relay ${command} works on the SQLite database; this configuration uses storage.backend = "${backend}"`,
    RELAY_EXIT.usage,
    "use PostgreSQL's own tools for that database (pg_amcheck, pg_dump, pg_restore)",
  );
}
