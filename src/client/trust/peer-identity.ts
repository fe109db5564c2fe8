import { equalBytes } from "../../crypto/bytes.ts";
import { NanoError } from "../../errors/index.ts";
import { decodeIdentityRecordExact, type IdentityRecord } from "../../protocol/index.ts";
import type { ClientContext } from "../context.ts";
import type { LocalStoreApi } from "../local-store/local-tables.ts";
import type { RelayLink } from "../transport/relay-link.ts";

/**
 * A peer's identity as this client checks it (docs/client.md "Key transparency", DESIGN.md "Safety
 * numbers"): the relay's current record for a username is used only after its self-signatures, the
 * name inside it and its key-transparency proof all check out; a record that differs from the pinned
 * one blocks the contact until the user verifies or trusts it.
 */

export function identityChangedError(peer: string): NanoError {
  return new NanoError(
    "contact_identity_changed",
    `${peer}'s identity changed; nothing is sent until you verify or trust it`,
  );
}

/** Records that a contact's identity changed; it blocks sending and receiving until trusted. */
export async function markIdentityChanged(
  store: LocalStoreApi,
  peer: string,
  now: number,
  changedRecord?: Uint8Array,
): Promise<void> {
  await store.transaction((tables) => {
    const contact = tables.getContact(peer);
    if (contact === null) return;
    if (
      contact.identityChanged &&
      (changedRecord === undefined || contact.changedIdentityRecord !== undefined)
    )
      return;
    // The verification was of the old identity; it says nothing about the new one.
    tables.putContact({
      ...contact,
      identityChanged: true,
      ...(changedRecord === undefined ? {} : { changedIdentityRecord: changedRecord }),
      verified: false,
      safetyNumberConfirmedAt: null,
      updatedAt: now,
    });
  });
}

/**
 * `peer`'s current record from the relay, decoded (every self-signature verified), naming `peer`, and
 * proven in the relay's key-transparency log. Throws certificate_mismatch or the KT codes otherwise.
 */
export async function fetchVerifiedAccount(
  context: ClientContext,
  link: RelayLink,
  peer: string,
): Promise<IdentityRecord> {
  const account = await link.api.account(peer);
  const record = await decodeIdentityRecordExact(context.provider, account.identityRecord);
  if (record.username !== peer)
    throw new NanoError("certificate_mismatch", `the relay returned ${record.username}'s record`);
  await context.transparency.verify(link.api, peer, record.encoded, account.transparency);
  return record;
}

/**
 * The record key transparency proves for the sender of a first contact, which the protocol asks for
 * (`needs_record`, docs/protocol.md §7.7) only once the first contact passed its cheap checks and
 * names a record this client has not pinned: `fetchVerifiedAccount`, or null when the relay knows no
 * such account (the protocol then refuses the first contact).
 */
export async function fetchProvenRecord(
  context: ClientContext,
  link: RelayLink,
  username: string,
): Promise<IdentityRecord | null> {
  try {
    return await fetchVerifiedAccount(context, link, username);
  } catch (error) {
    if (NanoError.is(error, "account_not_found")) return null;
    throw error;
  }
}

/**
 * On an open session the peer's record is not otherwise seen again: ask the relay for it, so a peer
 * who replaced their identity blocks sending at once rather than after the messages failed to open.
 * Offline, the check is skipped (the message is queued; the peer's client refuses it if stale).
 */
export async function checkPeerIdentity(
  context: ClientContext,
  link: RelayLink,
  peer: string,
  pinned: Uint8Array,
  now: number,
): Promise<void> {
  let record: IdentityRecord;
  try {
    record = await fetchVerifiedAccount(context, link, peer);
  } catch (error) {
    if (NanoError.is(error, "relay_unreachable")) return;
    throw error;
  }
  if (equalBytes(record.encoded, pinned)) {
    context.peerChecks.remember(peer, pinned, now);
    return;
  }
  context.peerChecks.forget(peer);
  await markIdentityChanged(context.store, peer, now, record.encoded);
  throw identityChangedError(peer);
}
