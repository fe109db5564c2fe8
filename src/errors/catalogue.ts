import { AUDIT_ERRORS } from "./codes-audit.ts";
import { CLIENT_ERRORS } from "./codes-client.ts";
import { COMMON_ERRORS } from "./codes-common.ts";
import { CRYPTO_ERRORS } from "./codes-crypto.ts";
import { PROTOCOL_ERRORS } from "./codes-protocol.ts";
import { RELAY_ERRORS } from "./codes-relay.ts";

/**
 * The one catalogue of error codes. Codes are stable: clients, scripts and the relay's HTTP boundary
 * match on them, so a code is never renamed or reused for another meaning. `docs/errors.md` is
 * generated from this table (`node scripts/gen-errors-doc.ts`) and a test keeps the two in step.
 *
 * kind says what the caller should do:
 * - codec: the bytes are not a valid encoding (truncated, trailing data, wrong tag); do not retry.
 * - validation: well-formed but breaks a rule (expired, below the floor, over a limit); do not retry.
 * - crypto: a signature, tag or key check failed; treat as an attack or corruption, never as "try again".
 * - usage: the caller used the API or command wrongly; fix the call.
 * - internal: a bug or an environment fault; report it.
 */
export type ErrorKind = "codec" | "validation" | "crypto" | "usage" | "internal";

export interface ErrorEntry {
  readonly kind: ErrorKind;
  /** HTTP status the relay answers with when this error crosses its boundary. */
  readonly status: number;
  readonly meaning: string;
  readonly fix: string;
}

/**
 * One file of codes per layer so the layers can grow their codes independently; a code appears in
 * exactly one of them (checked by test/errors.test.ts).
 */
export const ERROR_CATALOGUE = Object.freeze({
  ...COMMON_ERRORS,
  ...CRYPTO_ERRORS,
  ...PROTOCOL_ERRORS,
  ...RELAY_ERRORS,
  ...CLIENT_ERRORS,
  ...AUDIT_ERRORS,
});

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
