import { type ErrorCode, NanoError } from "../errors/index.ts";

/**
 * How far a validity period may start in the future of this machine's clock and still be accepted:
 * a prekey or device certificate is stamped by its owner's clock, and a clock a few minutes behind
 * must not refuse it (docs/protocol.md "Clock skew"). Expiry is not stretched: a key past its end is
 * refused at once (rotation relies on it), so only "not yet valid" gets this tolerance.
 */
export const CLOCK_SKEW_TOLERANCE_MS = 15 * 60_000;

/**
 * `created <= now + tolerance` and `now < expires`, else a typed error: `early` for a period that has
 * not begun (this clock may be behind: a time failure, never an attack signal by itself), `late` for
 * one that has ended.
 */
export function checkValidityPeriod(
  period: { readonly created: number; readonly expires: number },
  now: number,
  codes: { readonly early: ErrorCode; readonly late: ErrorCode },
  what: string,
): void {
  if (now + CLOCK_SKEW_TOLERANCE_MS < period.created) {
    const ahead = Math.round((period.created - now) / 60_000);
    throw new NanoError(
      codes.early,
      `${what} is not valid yet: it starts ${ahead} min after this machine's clock`,
    );
  }
  if (now >= period.expires) throw new NanoError(codes.late, `${what} expired`);
}

/** The error codes of a validity period that has not begun: the local clock may be behind. */
export const NOT_YET_VALID_CODES: ReadonlySet<string> = new Set([
  "prekey_not_yet_valid",
  "certificate_not_yet_valid",
]);
