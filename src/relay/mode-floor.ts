import { NanoError } from "../errors/index.ts";
import { CRYPTO_MODE_RANK, CRYPTO_MODES, type CryptoMode } from "./config/schema.ts";

/**
 * `security.minimum_crypto_mode` as the relay applies it: to identity records at claim and update
 * (their preferred mode), to prekey bundles and to envelopes. One refusal, worded once, that names
 * the modes the relay does accept — a client (or its user) cannot guess them from the minimum's name
 * alone, since the ranking (hybrid > quantum > classical) is not the order of the names.
 */

/** The modes at or above `minimum`, best first. */
export function acceptedModes(minimum: CryptoMode): CryptoMode[] {
  return CRYPTO_MODES.filter((mode) => CRYPTO_MODE_RANK[mode] >= CRYPTO_MODE_RANK[minimum]).sort(
    (a, b) => CRYPTO_MODE_RANK[b] - CRYPTO_MODE_RANK[a],
  );
}

/** Throws `suite_below_minimum` when `mode` ranks below `minimum`; `what` is "bundles", "envelopes"... */
export function requireModeFloor(what: string, mode: CryptoMode, minimum: CryptoMode): void {
  if (CRYPTO_MODE_RANK[mode] >= CRYPTO_MODE_RANK[minimum]) return;
  throw new NanoError(
    "suite_below_minimum",
    `${mode} ${what} are below this relay's minimum (${minimum}); it accepts ${acceptedModes(minimum).join(" or ")}`,
  );
}
