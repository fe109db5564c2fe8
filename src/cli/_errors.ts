import { statfsSync } from "node:fs";
import { dirname, join } from "node:path";
import { ERROR_CATALOGUE, type ErrorCode, NanoError } from "../errors/index.ts";
import { sqliteFault } from "../store/sqlite/sqlite-errors.ts";

/**
 * How nano-client fails (STYLE.md item 9, docs/client.md "Exit codes"): one line `nano-client: <message>`
 * and one `hint:` line on stderr, or `{"error": {code, message, hint}}` on stdout with --json; an exit
 * code from sysexits(3) that says what kind of failure it was; a stack trace only with NANO_DEBUG=1.
 */
export const EXIT = Object.freeze({
  ok: 0,
  usage: 64,
  data: 65,
  noInput: 66,
  unavailable: 69,
  internal: 70,
  cannotCreate: 73,
  /** EX_IOERR: the disk refused (full, over quota). */
  ioError: 74,
  permission: 77,
  config: 78,
});

export const EXIT_BY_CODE: Readonly<Partial<Record<ErrorCode, number>>> = {
  keystore_missing: EXIT.noInput,
  contact_not_found: EXIT.noInput,
  keystore_exists: EXIT.cannotCreate,
  wrong_passphrase: EXIT.permission,
  insecure_permissions: EXIT.permission,
  relay_unreachable: EXIT.unavailable,
  relay_rejected: EXIT.unavailable,
  // A relay answering outside the wire contract is a relay problem, not bad input from the user.
  relay_answer_malformed: EXIT.unavailable,
  account_not_found: EXIT.noInput,
  username_not_claimed: EXIT.usage,
  passphrase_required: EXIT.usage,
  passphrase_too_short: EXIT.usage,
  passphrase_mismatch: EXIT.usage,
  input_unreadable: EXIT.noInput,
  client_config_invalid: EXIT.data,
  local_store_damaged: EXIT.data,
  no_space_left: EXIT.ioError,
  // EX_CONFIG: the machine is misconfigured (its clock), not the input.
  clock_skew: EXIT.config,
};

const EXIT_BY_KIND = {
  usage: EXIT.usage,
  codec: EXIT.data,
  validation: EXIT.data,
  crypto: EXIT.data,
  internal: EXIT.internal,
};

/** Hints worded for the command line where the catalogue's "fix" is written for API callers. */
const CLI_HINTS: Partial<Record<ErrorCode, string>> = {
  keystore_missing: "run `nano-client init` first, or point --home / NANO_CLIENT_HOME at an existing home",
  keystore_exists: "use another --home, or move the existing home away to start over",
  wrong_passphrase: "type it again; NANO_PASSPHRASE or --passphrase-file may hold an old passphrase",
  passphrase_required: "set NANO_PASSPHRASE, pass --passphrase-file FILE (mode 0600), or run in a terminal",
  contact_not_found: "list the contacts you have with `nano-client contacts`",
  relay_unreachable:
    "check --relay and --ca; a message being sent stays queued and goes out with the next command",
  username_not_claimed: "run `nano-client claim-username NAME` first",
  // A refused claim leaves the home unchanged (operations/claim-username.ts): say so, it was a trap once.
  username_taken:
    "choose another name: this home is unchanged and can claim it with `nano-client claim-username`",
  username_reserved:
    "choose another name: this home is unchanged and can claim it with `nano-client claim-username`",
  suite_below_minimum:
    "use a mode this relay accepts (named above): `send --crypto-mode MODE`, or a new home made with `nano-client --home DIR init --crypto-mode MODE`; this home is unchanged",
  account_not_found: "check the spelling: no such username at this relay",
  contact_identity_changed:
    "compare safety numbers with `nano-client verify NAME --confirm`, or accept it with `nano-client trust NAME`",
  input_unreadable: "check the path and its permissions",
  passphrase_mismatch:
    "type the same passphrase twice (NANO_PASSPHRASE or --passphrase-file avoid typing it)",
  client_config_invalid:
    "repair config.json from a backup of the home, or fix the field named (docs/client.md, Home layout)",
  local_store_damaged:
    "restore the home from a backup and keep the damaged file; the keystore alone cannot rebuild sessions or history",
  no_space_left: "free space on that device and run the command again; nothing was lost",
  clock_skew:
    "set this computer's clock right (enable NTP), run the command again; if the relay still refuses, run `nano-client renew-device`",
  certificate_expired:
    "run `nano-client renew-device` to certify a new device key with the identity key; identity, contacts and sessions stay",
  certificate_not_yet_valid:
    "run `nano-client renew-device` to certify a new device key with the identity key; identity, contacts and sessions stay",
  local_state_rolled_back:
    "put this home's newest local.db back; if there is none, move local.db and local.db.anchor aside to start with empty local state",
};

/** The usage hint of a command: its own help, never a placeholder. */
function usageHint(command: readonly string[]): string {
  return `see \`${["nano-client", ...command, "--help"].join(" ")}\` for the accepted forms`;
}

/** errno codes of a full device: ENOSPC, and EDQUOT (over a disk quota, which users meet as "full"). */
const FULL = new Set(["ENOSPC", "EDQUOT"]);

/** Whether the device holding `path` (or its nearest existing parent) has no space left. */
function deviceFull(path: string): boolean {
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

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current !== undefined && current !== null && chain.length < 8; ) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

/**
 * What a raw failure from the disk or SQLite means for the user, as a typed error with the path: a full
 * device, or a damaged local.db. Looks through `cause` chains (a NanoError may wrap the SQLite error).
 * Anything else is returned unchanged.
 */
export function classifyError(error: unknown, home: string | undefined): unknown {
  const localDb = home === undefined ? "local.db" : join(home, "local.db");
  for (const cause of causes(error)) {
    const errno = (cause as NodeJS.ErrnoException | null)?.code;
    if (typeof errno === "string" && FULL.has(errno)) {
      const path = (cause as NodeJS.ErrnoException).path ?? home;
      return new NanoError(
        "no_space_left",
        `no space left on device${path === undefined ? "" : `: ${path}`}`,
        {
          cause: error,
        },
      );
    }
    const fault = sqliteFault(cause);
    // SQLite reports some writes on a full device as a generic I/O error (SQLITE_IOERR): ask the
    // file system whether that is what happened.
    if (fault === "full" || (fault === "io" && home !== undefined && deviceFull(home)))
      return new NanoError("no_space_left", `no space left on device: ${localDb}`, { cause: error });
    if (fault === "damaged")
      return new NanoError(
        "local_store_damaged",
        `${localDb} is damaged: ${lowerFirst((cause as Error).message)}`,
        { cause: error },
      );
  }
  return error;
}

/** A usage error found by the command-line parser, with a hint of its own ("did you mean ..."). */
export class CliUsageError extends NanoError {
  readonly hint: string;

  constructor(message: string, hint: string) {
    super("invalid_argument", message);
    this.hint = hint;
  }
}

export interface ErrorReport {
  readonly code: string;
  readonly message: string;
  readonly hint: string;
}

function lowerFirst(text: string): string {
  return text.length === 0 ? text : text[0]!.toLowerCase() + text.slice(1);
}

export function describeError(error: unknown, command: readonly string[] = []): ErrorReport {
  if (NanoError.is(error)) {
    const hint =
      error instanceof CliUsageError
        ? error.hint
        : error.code === "invalid_argument"
          ? usageHint(command)
          : (CLI_HINTS[error.code] ?? ERROR_CATALOGUE[error.code].fix);
    return { code: error.code, message: lowerFirst(error.message), hint: lowerFirst(hint) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: "internal_error",
    message: `internal error: ${lowerFirst(message)}`,
    hint: lowerFirst(ERROR_CATALOGUE.internal_error.fix),
  };
}

export function exitCodeFor(error: unknown): number {
  if (!NanoError.is(error)) return EXIT.internal;
  return EXIT_BY_CODE[error.code] ?? EXIT_BY_KIND[error.kind];
}

export interface ErrorSink {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly json: boolean;
  readonly debug: boolean;
  /** The home in use, to name local.db in a disk or damage error. */
  readonly home?: string;
  /** The command path the user ran (`["send"]`), for usage hints. */
  readonly command?: readonly string[];
}

/** Writes the error the way the CLI promises and returns the exit code. */
export function reportError(thrown: unknown, sink: ErrorSink): number {
  const error = classifyError(thrown, sink.home);
  const report = describeError(error, sink.command);
  if (sink.json) {
    sink.stdout.write(`${JSON.stringify({ error: report })}\n`);
  } else {
    sink.stderr.write(`nano-client: ${report.message}\nhint: ${report.hint}\n`);
  }
  if (sink.debug && thrown instanceof Error && thrown.stack) sink.stderr.write(`${thrown.stack}\n`);
  return exitCodeFor(error);
}
