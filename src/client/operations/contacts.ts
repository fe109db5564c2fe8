import { getSuite, type SuiteName } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { acceptIdentity, decodeIdentityRecordExact } from "../../protocol/index.ts";
import type { UnlockedHome } from "../home/unlocked-home.ts";
import { LocalProtocolStores } from "../local-store/protocol-stores.ts";
import { openRelayLink } from "../transport/relay-link.ts";
import { verifyTransparency } from "../trust/kt-client.ts";

export interface ContactSummary {
  readonly username: string;
  readonly pinnedSuite: SuiteName;
  readonly verified: boolean;
  readonly identityChanged: boolean;
  readonly safetyNumberConfirmedAt: string | null;
}

export async function listContacts(home: UnlockedHome): Promise<ContactSummary[]> {
  return (await home.store.listContacts()).map((contact) => ({
    username: contact.username,
    pinnedSuite: getSuite(contact.pinnedSuite).name,
    verified: contact.verified,
    identityChanged: contact.identityChanged,
    safetyNumberConfirmedAt:
      contact.safetyNumberConfirmedAt === null
        ? null
        : new Date(contact.safetyNumberConfirmedAt).toISOString(),
  }));
}

/**
 * `trust NAME`: accept a contact's changed identity after the user checked it out of band. The
 * current identity record is fetched from the relay (verified by its self-signatures on decode) and
 * stored; the old sessions are dropped, so the next message starts a new session with the new
 * identity; the pin is kept (never lowered). The contact shows as unverified until
 * `verify NAME --confirm`.
 */
export async function trustContact(
  home: UnlockedHome,
  username: string,
  now = Date.now(),
): Promise<ContactSummary> {
  const existing = await home.store.getContact(username);
  if (existing === null) throw new NanoError("contact_not_found", `no contact named ${username}`);
  if (existing.identityChanged) {
    const link = await openRelayLink(home);
    const account = await link.api.account(username);
    const record = decodeIdentityRecordExact(account.identityRecord);
    if (record.username !== username) {
      throw new NanoError("certificate_mismatch", `the relay returned ${record.username}'s record`);
    }
    // The record trusted here must be the one the relay logged (docs/client.md "Key transparency").
    await verifyTransparency(home.store, link.api, username, account.identityRecord, account.transparency);
    await home.store.transaction(async (tables) => {
      await acceptIdentity(new LocalProtocolStores(tables, link.own, now), record);
      for (const session of tables.getSessions(username)) tables.deleteSession(session.sessionId);
      const contact = tables.requireContact(username);
      tables.putContact({
        ...contact,
        identityChanged: false,
        verified: false,
        safetyNumberConfirmedAt: null,
        updatedAt: now,
      });
    });
  }
  const summary = (await listContacts(home)).find((contact) => contact.username === username);
  if (summary === undefined) throw new NanoError("contact_not_found", `no contact named ${username}`);
  return summary;
}
