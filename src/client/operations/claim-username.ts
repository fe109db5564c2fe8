import { type ErrorCode, NanoError } from "../../errors/index.ts";
import { isUsername, USERNAME } from "../../wire/index.ts";
import type { ClientContext } from "../context.ts";
import { ensureOwnIdentity, forgetUnclaimedIdentity } from "../home/local-identity.ts";
import { maintainPrekeys } from "../messaging/prekey-maintenance.ts";
import { relayUrl } from "../transport/relay-link.ts";

/**
 * A username given to the SDK (to claim, to send to, to list): the relay's normalized shape from the
 * wire contract (src/wire/limits.ts USERNAME), so a name the relay would refuse fails here, before a
 * session or an outbox entry is made for it. Not the protocol's `checkUsername`, which only bounds
 * what an identity record may encode.
 */
export function checkUsernameArgument(username: string): string {
  if (!isUsername(username)) {
    throw new NanoError(
      "invalid_argument",
      `username "${username.slice(0, USERNAME.max + 8)}" must be ${USERNAME.min}-${USERNAME.max} characters of a-z, 0-9 and single ".", "_" or "-" between them, starting with a letter`,
    );
  }
  return username;
}

export interface ClaimUsernameResult {
  readonly username: string;
  readonly relay: string;
  /** False when this identity had already claimed it (a retried claim is idempotent). */
  readonly created: boolean;
  readonly oneTimePrekeys: number;
}

/**
 * The relay's answers that say this record will never hold this name at this relay. Only these drop
 * the stored record: after a timeout, a 5xx or a rate limit the claim may have been stored (or may
 * be retried), and a retry must present the same record, or the relay would see another identity.
 */
const REFUSED_FOR_GOOD: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "username_taken",
  "username_reserved",
  "username_invalid",
  "identity_record_invalid",
  "suite_below_minimum",
  "post_quantum_required",
]);

/**
 * Creates the identity record and device certificate for NAME (stored sealed before anything is sent),
 * claims NAME with proof of possession of every identity key, then uploads the prekey bundle and
 * one-time prekeys. Every step is idempotent, so a claim interrupted anywhere can simply be re-run.
 * A claim the relay refuses for good leaves the home as it was, ready to claim another name.
 */
export async function claimUsername(
  context: ClientContext,
  username: string,
  now = Date.now(),
): Promise<ClaimUsernameResult> {
  checkUsernameArgument(username);
  const home = context.home;
  const relay = relayUrl(home);
  // A home that claimed a name and lost its local.db: a new claim would leave waiting mail unreadable.
  const own = await ensureOwnIdentity(
    context.provider,
    home.store,
    home.seeds,
    username,
    now,
    home.config.username,
  );
  const link = await context.linkAs(own);
  let created: boolean;
  try {
    ({ created } = await link.api.claim());
  } catch (error) {
    if (NanoError.is(error) && REFUSED_FOR_GOOD.has(error.code)) {
      context.retireLink();
      await forgetUnclaimedIdentity(context.provider, home.store, home.seeds, username);
    }
    throw error;
  }
  const prekeys = await maintainPrekeys(context.provider, home.store, link, { now });
  if (home.config.username !== username || home.config.relay !== relay) {
    await home.saveConfig({ ...home.config, username, relay });
  }
  return { username, relay, created, oneTimePrekeys: prekeys.oneTimeCount };
}
