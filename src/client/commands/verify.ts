import { NanoError } from "../../errors/index.ts";
import { computeSafetyNumber, formatSafetyNumber } from "../../protocol/safety-number.ts";
import { loadOwnIdentity, requireOwnIdentity } from "../local-identity.ts";
import type { UnlockedHome } from "../unlocked-home.ts";

export interface VerifyResult {
  readonly username: string;
  /** 60 digits in groups of five (DESIGN.md "Safety numbers"). */
  readonly safetyNumber: string;
  readonly verified: boolean;
}

/**
 * The safety number over both identity records (docs/safety-numbers.md): the same 60 digits on both
 * sides. With `confirm` the user states that they compared it out of band: the contact is marked
 * verified and a changed-identity block is lifted.
 */
export async function verifyContact(
  home: UnlockedHome,
  username: string,
  confirm: boolean,
  now = Date.now(),
): Promise<VerifyResult> {
  return home.store.transaction((tables) => {
    const contact = tables.requireContact(username);
    if (contact.identityChanged && confirm) {
      throw new NanoError(
        "contact_identity_changed",
        `${username}'s identity changed; accept the new one with \`nano-client trust ${username}\`, then verify it`,
      );
    }
    const own = requireOwnIdentity(loadOwnIdentity(tables, home.seeds));
    const number = computeSafetyNumber(
      { username: own.record.username, identityRecord: own.record.encoded },
      { username, identityRecord: contact.identityRecord },
    );
    if (confirm) {
      tables.putContact({ ...contact, verified: true, safetyNumberConfirmedAt: now, updatedAt: now });
    }
    return {
      username,
      safetyNumber: formatSafetyNumber(number.digits, 12),
      verified: confirm || contact.verified,
    };
  });
}
