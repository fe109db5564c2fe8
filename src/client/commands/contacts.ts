import { getSuite, type SuiteName } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import type { UnlockedHome } from "../unlocked-home.ts";

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
 * `trust NAME`: accept a contact's changed identity without comparing safety numbers. It lifts the
 * block a changed identity puts on the contact but clears `verified`, so the contact shows as
 * unverified until `verify NAME --confirm`.
 */
export async function trustContact(
  home: UnlockedHome,
  username: string,
  now = Date.now(),
): Promise<ContactSummary> {
  await home.store.transaction((tables) => {
    const contact = tables.requireContact(username);
    tables.putContact({
      ...contact,
      identityChanged: false,
      verified: contact.identityChanged ? false : contact.verified,
      safetyNumberConfirmedAt: contact.identityChanged ? null : contact.safetyNumberConfirmedAt,
      updatedAt: now,
    });
  });
  const summary = (await listContacts(home)).find((contact) => contact.username === username);
  if (summary === undefined) throw new NanoError("contact_not_found", `no contact named ${username}`);
  return summary;
}
