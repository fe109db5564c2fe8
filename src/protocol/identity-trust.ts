import type { CryptoProvider } from "../crypto/provider/index.ts";
import { suiteName, suiteRank } from "../crypto/suite-ids.ts";
import { NanoError } from "../errors/index.ts";
import { constantTimeEqual } from "./_constant-time.ts";
import { acceptedSuites, type IdentityRecord } from "./identity-record.ts";
import type { ProtocolLimits } from "./limits.ts";
import { type AcceptOutcome, type Blocked, type CallOptions, refused, resolveOptions } from "./outcomes.ts";
import { checkedSuiteId } from "./selection.ts";
import { keepBoundTo } from "./session-lifecycle.ts";
import { decodeContactSessions, encodeContactSessions } from "./session-record.ts";
import { type Contact, NO_WRITES, type ProtocolView, type ProtocolWrites, writes } from "./stores.ts";

/**
 * Which identity record of a contact is trusted, and what a changed one does (docs/protocol.md §11.2).
 * A record is trusted when it is byte-equal to one already verified: the contact's pinned record, the
 * pending changed record (verified and proven when it was stored), or the record the caller proved
 * with key transparency. Comparing bytes with a verified record is what makes a second verification of
 * its signatures unnecessary (the cost of a forged first contact, §7.7).
 */
export function sameRecord(a: IdentityRecord | null | undefined, bytes: Uint8Array): boolean {
  return a != null && constantTimeEqual(a.encoded, bytes);
}

export function differs(contact: Contact | undefined, record: IdentityRecord): contact is Contact {
  return contact !== undefined && !sameRecord(contact.record, record.encoded);
}

/**
 * A verified record that differs from the stored one blocks the contact until `acceptIdentity`: the
 * stored record and pin stay, the new one is kept as `changed`. The write is returned, not made.
 */
export function blockChanged(contact: Contact, record: IdentityRecord): Blocked {
  const already = contact.changed !== undefined && sameRecord(contact.changed, record.encoded);
  return {
    kind: "blocked",
    peer: record.username,
    changed: record,
    writes: already
      ? NO_WRITES
      : writes({
          contacts: [
            {
              username: record.username,
              contact: { record: contact.record, pin: contact.pin, changed: record },
            },
          ],
        }),
  };
}

async function loadSessions(
  provider: CryptoProvider,
  view: ProtocolView,
  peer: string,
  limits: ProtocolLimits,
) {
  const bytes = await view.loadSessions(peer);
  return bytes ? decodeContactSessions(provider, bytes, limits) : null;
}

/**
 * After the user re-verified a changed identity: pin the new record and unblock the contact. The pin
 * is kept, never lowered (DESIGN.md: lowering needs an IR update signed by the pinned PQ key plus the
 * user's consent, not implemented): a record that accepts no suite at or above the pin is refused with
 * `suite_below_pin`. Sessions bound to another record of this contact are closed, so nothing more is
 * sent to, or accepted from, the superseded keys. `record` must be verified (decoded) by the caller
 * and, for a client, proven by key transparency.
 */
export async function acceptIdentity(
  provider: CryptoProvider,
  view: ProtocolView,
  record: IdentityRecord,
  options: CallOptions = {},
): Promise<AcceptOutcome> {
  const { limits } = resolveOptions(options);
  const contact = await view.getContact(record.username);
  if (contact === undefined) {
    const pin = checkedSuiteId(record.preferred);
    return {
      kind: "accepted",
      writes: writes({ contacts: [{ username: record.username, contact: { record, pin } }] }),
    };
  }
  const pinned = checkedSuiteId(contact.pin);
  if (!acceptedSuites(record).some((id) => suiteRank(id) >= suiteRank(pinned))) {
    return refused(
      new NanoError(
        "suite_below_pin",
        `${record.username}'s new identity accepts no suite at or above the pinned ${suiteName(pinned)}`,
      ),
    );
  }
  const updates: Partial<{ -readonly [K in keyof ProtocolWrites]: ProtocolWrites[K] }> = {
    contacts: [{ username: record.username, contact: { record, pin: contact.pin } }],
  };
  if (!sameRecord(contact.record, record.encoded)) {
    const sessions = await loadSessions(provider, view, record.username, limits);
    if (sessions !== null) {
      updates.sessions = [
        { username: record.username, record: encodeContactSessions(keepBoundTo(sessions, record.hash)) },
      ];
    }
  }
  return { kind: "accepted", writes: writes(updates) };
}
