import { describeKtOutcome } from "../../audit/kt-verifier.ts";
import { toHex } from "../../crypto/bytes.ts";
import { NanoError } from "../../errors/index.ts";
import {
  computeSafetyNumber,
  formatSafetyNumber,
  safetyNumberMatches,
} from "../../protocol/safety-number.ts";
import type { ClientContext } from "../context.ts";
import { loadOwnIdentity, requireOwnIdentity } from "../home/local-identity.ts";

export interface VerifyResult {
  readonly username: string;
  /** 60 digits in groups of five (DESIGN.md "Safety numbers"). */
  readonly safetyNumber: string;
  /** The QR payload (docs/safety-numbers.md "QR payload", 68 bytes, hex): what `verify --qr` shows. */
  readonly qrPayload: string;
  readonly verified: boolean;
  /** Whether the relay's key-transparency log proves THIS record for the contact, at its latest checkpoint. */
  readonly transparency: {
    readonly proven: boolean;
    /** describeKtOutcome's line: the checkpoint, or why not. */
    readonly line: string;
    /** The error code when not proven (relay_unreachable, kt_binding_mismatch, log_fork_detected...). */
    readonly code: string | null;
  };
}

/**
 * The safety number over both identity records (docs/safety-numbers.md): the same 60 digits on both
 * sides. With `confirm` the user states that they compared it out of band: the contact is marked
 * verified and a changed-identity block is lifted. `confirm` as a string is the number the user typed
 * from the peer's screen: it must match (`safety_number_mismatch`, nothing recorded) — the check a
 * bare "yes, they match" cannot make. It also says whether the relay's key-transparency
 * log proves the stored record as the contact's current one (docs/client.md "Key transparency").
 */
export async function verifyContact(
  context: ClientContext,
  username: string,
  confirm: boolean | string,
  now = Date.now(),
): Promise<VerifyResult> {
  const local = await safetyNumberOf(context, username, confirm, now);
  const outcome = await proveInLog(context, username, local.identityRecord);
  if (NanoError.is(outcome, "log_fork_detected") || NanoError.is(outcome, "log_rollback_detected"))
    throw outcome; // Two histories from one relay: a hard error, never a line among others.
  const proven = !(outcome instanceof Error);
  return {
    username,
    safetyNumber: local.safetyNumber,
    qrPayload: local.qrPayload,
    verified: local.verified,
    transparency: {
      proven,
      line: describeKtOutcome(username, outcome),
      code: proven ? null : NanoError.is(outcome) ? outcome.code : "internal_error",
    },
  };
}

/** The stored record of `username` checked against the relay's log (the relay's current proof). */
async function proveInLog(context: ClientContext, username: string, record: Uint8Array): Promise<unknown> {
  try {
    const link = await context.link();
    const account = await link.api.account(username);
    return await context.transparency.verify(link.api, username, record, account.transparency);
  } catch (error) {
    return error;
  }
}

async function safetyNumberOf(
  context: ClientContext,
  username: string,
  confirm: boolean | string,
  now: number,
): Promise<{ safetyNumber: string; qrPayload: string; verified: boolean; identityRecord: Uint8Array }> {
  const { home, provider } = context;
  const loaded = await loadOwnIdentity(context.provider, home.store, home.seeds);
  return home.store.transaction((tables) => {
    const contact = tables.requireContact(username);
    if (contact.identityChanged && confirm !== false) {
      throw new NanoError(
        "contact_identity_changed",
        `${username}'s identity changed; accept the new one with \`nano-client trust ${username}\`, then verify it`,
      );
    }
    const own = requireOwnIdentity(loaded, home.config.username);
    const number = computeSafetyNumber(
      provider,
      { username: own.record.username, identityRecord: own.record.encoded },
      { username, identityRecord: contact.identityRecord },
    );
    if (typeof confirm === "string" && !safetyNumberMatches(number, confirm)) {
      throw new NanoError(
        "safety_number_mismatch",
        `the number typed is not the safety number of you and ${username}; nothing was recorded`,
      );
    }
    if (confirm !== false) {
      tables.putContact({ ...contact, verified: true, safetyNumberConfirmedAt: now, updatedAt: now });
    }
    return {
      safetyNumber: formatSafetyNumber(number.digits, 12),
      qrPayload: toHex(number.qrPayload),
      verified: confirm !== false || contact.verified,
      identityRecord: contact.identityRecord,
    };
  });
}
