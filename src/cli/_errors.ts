import { ERROR_CATALOGUE, type ErrorCode, NanoError } from "../errors/index.ts";

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
  permission: 77,
});

const EXIT_BY_CODE: Partial<Record<ErrorCode, number>> = {
  keystore_missing: EXIT.noInput,
  contact_not_found: EXIT.noInput,
  keystore_exists: EXIT.cannotCreate,
  wrong_passphrase: EXIT.permission,
  insecure_permissions: EXIT.permission,
  relay_unreachable: EXIT.unavailable,
  relay_rejected: EXIT.unavailable,
  account_not_found: EXIT.noInput,
  username_not_claimed: EXIT.usage,
  passphrase_required: EXIT.usage,
  passphrase_too_short: EXIT.usage,
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
  account_not_found: "check the spelling: no such username at this relay",
  contact_identity_changed:
    "compare safety numbers with `nano-client verify NAME --confirm`, or accept it with `nano-client trust NAME`",
  local_state_rolled_back:
    "put this home's newest local.db back; if there is none, move local.db and local.db.anchor aside to start with empty local state",
};

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

export function describeError(error: unknown): ErrorReport {
  if (NanoError.is(error)) {
    const hint =
      error instanceof CliUsageError
        ? error.hint
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
}

/** Writes the error the way the CLI promises and returns the exit code. */
export function reportError(error: unknown, sink: ErrorSink): number {
  const report = describeError(error);
  if (sink.json) {
    sink.stdout.write(`${JSON.stringify({ error: report })}\n`);
  } else {
    sink.stderr.write(`nano-client: ${report.message}\nhint: ${report.hint}\n`);
  }
  if (sink.debug && error instanceof Error && error.stack) sink.stderr.write(`${error.stack}\n`);
  return exitCodeFor(error);
}
