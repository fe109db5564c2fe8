import { type SuiteName, suiteNameOf } from "../../crypto/suite-ids.ts";
import { NanoError } from "../../errors/index.ts";
import { acceptIdentity } from "../../protocol/index.ts";
import type { ClientContext } from "../context.ts";
import { LocalProtocolStores } from "../local-store/protocol-stores.ts";
import { fetchVerifiedAccount } from "../trust/peer-identity.ts";

export interface ContactSummary {
  readonly username: string;
  readonly pinnedSuite: SuiteName;
  readonly verified: boolean;
  readonly identityChanged: boolean;
  readonly safetyNumberConfirmedAt: string | null;
}

export async function listContacts(context: ClientContext): Promise<ContactSummary[]> {
  return (await context.store.read((tables) => tables.listContacts())).map((contact) => ({
    username: contact.username,
    pinnedSuite: suiteNameOf(contact.pinnedSuite),
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
  context: ClientContext,
  username: string,
  now = Date.now(),
): Promise<ContactSummary> {
  const existing = await context.store.read((tables) => tables.getContact(username));
  if (existing === null) throw new NanoError("contact_not_found", `no contact named ${username}`);
  if (existing.identityChanged) {
    const link = await context.link();
    // The record trusted here must be the one the relay logged (docs/client.md "Key transparency").
    const record = await fetchVerifiedAccount(context, link, username);
    await context.store.transaction(async (tables) => {
      const stores = new LocalProtocolStores(tables, link.own, now, {
        records: context.records,
        provider: context.provider,
      });
      const accepted = await acceptIdentity(stores.provider, stores, record);
      if (accepted.kind === "refused") throw accepted.error;
      await stores.apply(accepted.writes);
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
  const summary = (await listContacts(context)).find((contact) => contact.username === username);
  if (summary === undefined) throw new NanoError("contact_not_found", `no contact named ${username}`);
  return summary;
}

export interface RemovedContact {
  readonly username: string;
  /** Sessions (current and archived) deleted with the contact. */
  readonly sessions: number;
}

/**
 * `contacts remove NAME`: forgets the contact — its pinned identity record, verification and every
 * session (their keys leave the WAL with the commit). Their next message is a first contact again,
 * checked like any stranger's (key transparency, a fresh pin); one sent on a deleted session cannot be
 * opened and is refused. Queued outbox entries to NAME are not recalled. To stop someone's messages,
 * `block NAME` instead: removing does not.
 */
export async function removeContact(context: ClientContext, username: string): Promise<RemovedContact> {
  const removed = await context.store.transaction((tables) => {
    if (tables.getContact(username) === null)
      throw new NanoError("contact_not_found", `no contact named ${username}`);
    const sessions = tables.getSessions(username);
    for (const session of sessions) tables.deleteSession(session.sessionId);
    tables.deleteContact(username);
    return { username, sessions: sessions.length };
  });
  // In-memory knowledge of the peer goes too: the next send starts from the relay again.
  context.peerChecks.forget(username);
  return removed;
}
