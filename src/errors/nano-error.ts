import { ERROR_CATALOGUE, type ErrorCode, type ErrorKind } from "./catalogue.ts";

/**
 * The project's one error type. Callers branch on `code` (stable, documented in docs/errors.md),
 * never on the message. Messages name what was wrong and never contain secret material.
 */
export class NanoError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  /** HTTP status for the relay boundary. */
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NanoError";
    this.code = code;
    const entry = ERROR_CATALOGUE[code];
    this.kind = entry.kind;
    this.status = entry.status;
  }

  /** Narrowing guard: `if (NanoError.is(e, "truncated")) ...` */
  static is(error: unknown, code?: ErrorCode): error is NanoError {
    return error instanceof NanoError && (code === undefined || error.code === code);
  }
}
