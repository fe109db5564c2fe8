import { constantTimeEqual, getSuite, type Suite, type SuiteId } from "../crypto/index.ts";
import { NanoError } from "../errors/index.ts";
import { decodeBundleExact } from "./bundle.ts";
import { decodeEnvelope, ENVELOPE_TYPES } from "./envelope.ts";
import {
  analyzeFirstContact,
  checkInitiatorSignature,
  type HeldPrekey,
  initiate,
  respond,
} from "./handshake.ts";
import { acceptedSuites, type IdentityRecord } from "./identity-record.ts";
import { DEFAULT_LIMITS, type ProtocolLimits } from "./limits.ts";
import { unpad } from "./padding.ts";
import { PREKEY_ROLES, planRotation } from "./prekey.ts";
import { ratchetDecrypt } from "./ratchet.ts";
import { checkPin, raisePin, type Selection, selectSuite } from "./selection.ts";
import { encryptContent, openFirstContact } from "./session-cipher.ts";
import {
  decryptWithSessions,
  dropBelowPin,
  findByHandshake,
  installSession,
  keepBoundTo,
  promote,
  sendingSession,
} from "./session-lifecycle.ts";
import {
  type ContactSessions,
  decodeActiveSession,
  decodeContactSessions,
  EMPTY_SESSIONS,
  encodeActiveSession,
  encodeContactSessions,
} from "./session-record.ts";
import type { Contact, ProtocolStores } from "./stores.ts";

/**
 * The protocol over stores (docs/protocol.md §11): what a client calls. Every decision is made by the
 * pure functions; this file only loads records, calls them and commits the result. Nothing is written
 * unless the message verified and decrypted, so a failure changes no stored byte. The one deliberate
 * exception is a verified changed identity: the call that finds it stores the block (§11.2) and fails.
 */
export interface CallOptions {
  readonly now?: number;
  readonly limits?: ProtocolLimits;
}

function resolve(options: CallOptions): { now: number; limits: ProtocolLimits } {
  return { now: options.now ?? Date.now(), limits: options.limits ?? DEFAULT_LIMITS };
}

async function loadSessions(
  stores: ProtocolStores,
  peer: string,
  limits: ProtocolLimits,
): Promise<ContactSessions> {
  const bytes = await stores.sessions.load(peer);
  return bytes ? decodeContactSessions(bytes, limits) : EMPTY_SESSIONS;
}

function identityChanged(username: string): NanoError {
  return new NanoError("identity_changed", `${username}'s identity changed; verify it before continuing`);
}

/** A contact blocked by a changed identity (DESIGN.md: until the user re-verifies): no state change. */
function checkNotBlocked(contact: Contact | undefined, username: string): void {
  if (contact?.changed !== undefined) throw identityChanged(username);
}

function differs(contact: Contact | undefined, record: IdentityRecord): contact is Contact {
  return contact !== undefined && !constantTimeEqual(contact.record.hash, record.hash);
}

/**
 * A verified record (a decoded bundle or directory record, or a first contact whose handshake and
 * signature verified) that differs from the stored one: the contact is blocked, persistently, until
 * `acceptIdentity`. The stored record and pin stay as they were; only the pending record is added.
 */
async function blockChanged(
  stores: ProtocolStores,
  contact: Contact,
  record: IdentityRecord,
): Promise<never> {
  await stores.identity.putContact(record.username, {
    record: contact.record,
    pin: contact.pin,
    changed: record,
  });
  throw identityChanged(record.username);
}

/** Checks a verified record against the stored contact; a change blocks the contact. */
async function checkContact(
  stores: ProtocolStores,
  contact: Contact | undefined,
  record: IdentityRecord,
): Promise<void> {
  checkNotBlocked(contact, record.username);
  if (differs(contact, record)) await blockChanged(stores, contact, record);
}

/** Chooses the suite to ask the relay for (the floor, the peer's record and this contact's pin). */
export async function chooseSuite(
  stores: ProtocolStores,
  peer: IdentityRecord,
  explicit?: SuiteId,
): Promise<{ suite: Suite; selection: Selection }> {
  const { record } = await stores.identity.ownIdentity();
  const contact = await stores.identity.getContact(peer.username);
  await checkContact(stores, contact, peer);
  return selectSuite(record, peer, {
    ...(explicit === undefined ? {} : { explicit }),
    ...(contact ? { pin: contact.pin } : {}),
  });
}

/** Starts a session from a bundle fetched for the chosen suite. */
export async function startSession(
  stores: ProtocolStores,
  bundleBytes: Uint8Array,
  selection: Selection,
  options: CallOptions & { readonly peer?: string } = {},
): Promise<void> {
  const { now, limits } = resolve(options);
  const { keys, record } = await stores.identity.ownIdentity();
  const bundle = decodeBundleExact(bundleBytes, now);
  const peer = bundle.record.username;
  if (options.peer !== undefined && options.peer !== peer) {
    throw new NanoError("certificate_mismatch", `the bundle is ${peer}'s, not ${options.peer}'s`);
  }
  const contact = await stores.identity.getContact(peer);
  await checkContact(stores, contact, bundle.record);
  checkPin(bundle.suite, contact?.pin);
  const state = initiate(keys, record, bundle, { selection, now });
  const pin = raisePin(contact?.pin, bundle.suite.id);
  const sessions = dropBelowPin(
    installSession(await loadSessions(stores, peer, limits), state, now, limits),
    pin,
  );
  await stores.identity.putContact(peer, { record: bundle.record, pin });
  await stores.sessions.store(peer, encodeContactSessions(sessions));
}

export async function sendMessage(
  stores: ProtocolStores,
  peer: string,
  content: Uint8Array,
  options: CallOptions = {},
): Promise<Uint8Array> {
  const { now, limits } = resolve(options);
  const contact = await stores.identity.getContact(peer);
  checkNotBlocked(contact, peer);
  const { keys } = await stores.identity.ownIdentity();
  // Sending touches only the active session: archived ones are carried over as stored bytes.
  const bytes = await stores.sessions.load(peer);
  const record = bytes ? decodeActiveSession(bytes, limits) : { active: null, archived: [] };
  const sending = sendingSession({ active: record.active, archived: [] }, contact?.pin);
  const { state, envelope } = encryptContent(sending, keys, content, { now, limits });
  await stores.sessions.store(peer, encodeActiveSession(state, record.archived));
  return envelope;
}

export interface Received {
  /** Named from the verified identity record for first contacts, never from a claimed name. */
  readonly peer: string;
  readonly content: Uint8Array;
  readonly newSession: boolean;
}

/**
 * Processes one envelope. `relaySender` is the sender the relay authenticated; first-contact messages
 * ignore it and name the peer from the sealed, verified identity record.
 */
export async function receiveMessage(
  stores: ProtocolStores,
  relaySender: string,
  bytes: Uint8Array,
  options: CallOptions = {},
): Promise<Received> {
  const { now, limits } = resolve(options);
  const envelope = decodeEnvelope(bytes);
  if (envelope.type !== ENVELOPE_TYPES.prekey) {
    const contact = await stores.identity.getContact(relaySender);
    if (contact === undefined) throw new NanoError("no_session", `no session with ${relaySender}`);
    checkNotBlocked(contact, relaySender);
    const sessions = await loadSessions(stores, relaySender, limits);
    const result = decryptWithSessions(sessions, envelope, { now, limits, pin: contact.pin });
    await stores.sessions.store(relaySender, encodeContactSessions(result.sessions));
    return { peer: relaySender, content: result.content, newSession: false };
  }
  const { keys, record } = await stores.identity.ownIdentity();
  const suite = envelope.suite;
  const contact = openFirstContact(keys, record, envelope);
  const peer = contact.initiator.username;
  const known = await stores.identity.getContact(peer);
  checkNotBlocked(known, peer);
  // A changed identity is only recorded once the whole handshake verified (keys and, in hybrid and
  // quantum, the initiator signature), so that a message that proves nothing cannot block a contact.
  const changed = differs(known, contact.initiator) ? known : null;
  if (changed === null) checkPin(suite, known?.pin);
  const held = new Map<number, HeldPrekey>();
  for (const id of [contact.signedDhId, contact.pqId, contact.oneTimeId]) {
    if (id === null) continue;
    const found = await stores.prekeys.get(suite.id, id);
    if (found) held.set(id, found);
  }
  const context = analyzeFirstContact(suite, record, contact, (_suite, id) => held.get(id), now);
  const sessions = await loadSessions(stores, peer, limits);
  if (await stores.replay.has(context.handshakeHash)) {
    // A repeated first contact: only a new message of a session this handshake created is accepted.
    const existing = findByHandshake(sessions, context.handshakeHash);
    if (existing === null) throw new NanoError("replayed_prekey_message", "first contact seen before");
    let decrypted: ReturnType<typeof ratchetDecrypt>;
    try {
      decrypted = ratchetDecrypt(existing, ENVELOPE_TYPES.prekey, contact.message, { now, limits });
    } catch (error) {
      if (NanoError.is(error, "duplicate_message")) {
        throw new NanoError("replayed_prekey_message", "first contact seen before");
      }
      throw error;
    }
    const payload = checkInitiatorSignature(suite, contact.initiator, context.transcript, decrypted.body);
    const content = unpad(payload);
    if (changed !== null) await blockChanged(stores, changed, contact.initiator);
    const updated = promote(sessions, existing, decrypted.state, now, limits);
    await stores.sessions.store(peer, encodeContactSessions(updated));
    return { peer, content, newSession: false };
  }
  const initial = respond(keys, record, contact, context, now);
  const decrypted = ratchetDecrypt(initial, ENVELOPE_TYPES.prekey, contact.message, { now, limits });
  const payload = checkInitiatorSignature(suite, contact.initiator, context.transcript, decrypted.body);
  const content = unpad(payload);
  if (changed !== null) await blockChanged(stores, changed, contact.initiator);
  const consumed = [context.held.oneTime, context.held.pq]
    .filter(
      (h): h is HeldPrekey => h !== null && h.prekey.role !== PREKEY_ROLES.signedDh && !h.prekey.lastResort,
    )
    .map((h) => ({ suite: suite.id, id: h.prekey.id }));
  const anchor = (context.held.pq ?? context.held.signedDh)!.prekey;
  const pin = raisePin(known?.pin, suite.id);
  await stores.commitFirstContact({
    peer,
    sessions: encodeContactSessions(
      dropBelowPin(installSession(sessions, decrypted.state, now, limits), pin),
    ),
    contact: { record: contact.initiator, pin },
    replay: { handshakeHash: context.handshakeHash, prekey: { suite: suite.id, id: anchor.id } },
    consumed,
  });
  return { peer, content, newSession: true };
}

/**
 * After the user re-verified a changed identity: pin the new record and unblock the contact. The pin
 * is kept, never lowered (DESIGN.md: lowering needs an IR update signed by the pinned PQ key plus the
 * user's consent, not implemented): a record that accepts no suite at or above the pin is refused with
 * `suite_below_pin` and nothing changes. Sessions bound to another record of this contact are closed,
 * so nothing more is sent to, or accepted from, the superseded keys; the next session (a verified
 * first contact, or our `startSession` with the new bundle) is then usable.
 */
export async function acceptIdentity(
  stores: ProtocolStores,
  record: IdentityRecord,
  options: CallOptions = {},
): Promise<void> {
  const { limits } = resolve(options);
  const contact = await stores.identity.getContact(record.username);
  if (contact === undefined) {
    await stores.identity.putContact(record.username, { record, pin: getSuite(record.preferred).id });
    return;
  }
  const pinned = getSuite(contact.pin);
  if (!acceptedSuites(record).some((id) => getSuite(id).rank >= pinned.rank)) {
    throw new NanoError(
      "suite_below_pin",
      `${record.username}'s new identity accepts no suite at or above the pinned ${pinned.name}`,
    );
  }
  if (!constantTimeEqual(contact.record.hash, record.hash)) {
    const sessions = await loadSessions(stores, record.username, limits);
    await stores.sessions.store(record.username, encodeContactSessions(keepBoundTo(sessions, record.hash)));
  }
  await stores.identity.putContact(record.username, { record, pin: contact.pin });
}

/**
 * Deletes expired prekeys (secrets and public parts) and the replay-cache entries anchored to them
 * (docs/protocol.md §6.2, §7.7). Returns what the owner should generate next (`planRotation`).
 */
export async function rotatePrekeys(
  stores: ProtocolStores,
  options: CallOptions = {},
): Promise<ReturnType<typeof planRotation>> {
  const { now } = resolve(options);
  const { record } = await stores.identity.ownIdentity();
  const plan = planRotation(await stores.prekeys.list(), acceptedSuites(record), now);
  for (const prekey of plan.expired) {
    await stores.replay.removeFor({ suite: prekey.suite.id, id: prekey.id });
    await stores.prekeys.remove(prekey.suite.id, prekey.id);
  }
  return plan;
}
