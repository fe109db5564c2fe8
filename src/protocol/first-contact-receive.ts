import { utf8 } from "../crypto/bytes.ts";
import { KDF_LABELS, label } from "../crypto/labels.ts";
import type { CryptoProvider } from "../crypto/provider/index.ts";
import type { SuiteId } from "../crypto/suite-ids.ts";
import { NanoError } from "../errors/index.ts";
import { lengthPrefixed } from "./_codec.ts";
import { ENVELOPE_TYPES, type Envelope } from "./envelope.ts";
import { type ParsedFirstContact, trustFirstContact } from "./first-contact.ts";
import {
  checkFirstContactPrekeys,
  checkInitiatorSignature,
  type HeldPrekey,
  type HeldPrekeys,
  respond,
  transcriptOf,
} from "./handshake.ts";
import { claimedUsername, type IdentityRecord } from "./identity-record.ts";
import { blockChanged, differs, sameRecord } from "./identity-trust.ts";
import type { ProtocolLimits } from "./limits.ts";
import { type ReceiveOutcome, refused } from "./outcomes.ts";
import { unpad } from "./padding.ts";
import { PREKEY_ROLES } from "./prekey.ts";
import { ratchetDecrypt } from "./ratchet.ts";
import { ratchetSecrets } from "./ratchet-state.ts";
import { checkPin, raisePin } from "./selection.ts";
import { openFirstContact } from "./session-cipher.ts";
import { dropBelowPin, findByHandshake, installSession, promote } from "./session-lifecycle.ts";
import { decodeContactSessions, EMPTY_SESSIONS, encodeContactSessions } from "./session-record.ts";
import { type Contact, NO_WRITES, type PrekeyRef, type ProtocolView, writes } from "./stores.ts";

/**
 * The responder's processing of a first contact (docs/protocol.md §7.7), cheapest checks first, so a
 * forged first contact — built once and resent, or re-sealed — costs the recipient a fraction of an
 * honest one (audit finding 5):
 *   1. a copy of a refused envelope (refusal cache, keyed by the relay sender and the sealed bytes);
 *   2. open the seal (one decapsulation); parse;
 *   3. the record names the relay-authenticated sender (audit finding 1);
 *   4. it names our current record; the prekeys it names are ours, of the right role, valid now;
 *   5. the record is trusted: byte-equal to the contact's pinned (or pending changed) record, or to the
 *      record key transparency proves for the sender, which the caller supplies (`needs_record`);
 *   6. selection, transcript hash; a refused handshake (refusal cache) or a replay (replay cache);
 *   7. only then secrets: DH and KEM, decryption, the initiator signature.
 * Every refusal except a time-dependent one is remembered, so the same bytes are refused at step 1.
 */
export interface FirstContactInput {
  readonly relaySender: string;
  readonly envelope: Extract<Envelope, { type: typeof ENVELOPE_TYPES.prekey }>;
  readonly provenRecord?: IdentityRecord | null;
}

const REFUSAL_KINDS = Object.freeze({ envelope: 1, handshake: 2 } as const);

/** Key of the refusal cache: H(label || kind || fields), never sent anywhere. */
function refusalKey(provider: CryptoProvider, kind: number, ...fields: Uint8Array[]): Uint8Array {
  return provider.primitives.blake2b(
    lengthPrefixed(label(KDF_LABELS.refused), Uint8Array.of(kind), ...fields),
  );
}

/**
 * Refusals never cached: a time-dependent one may not hold later for the same bytes, and a replay is
 * refused cheaply anyway (before any signature) — caching it would only change its code.
 */
const NOT_CACHED = new Set(["prekey_expired", "prekey_not_yet_valid", "replayed_prekey_message"]);

function notProven(username: string): NanoError {
  return new NanoError(
    "identity_not_proven",
    `the first contact's identity record is not the one pinned for ${username} nor the one key transparency proves`,
  );
}

/** The trusted record the first contact's bytes equal, or why there is none. */
function resolveTrust(
  contact: Contact | undefined,
  input: FirstContactInput,
  bytes: Uint8Array,
): IdentityRecord | "needs_record" {
  if (sameRecord(contact?.record, bytes)) return contact!.record;
  if (sameRecord(contact?.changed, bytes)) return contact!.changed!;
  const proven = input.provenRecord;
  if (proven === undefined) return "needs_record";
  if (proven !== null && proven.username !== input.relaySender) {
    throw new TypeError(`the proven record is ${proven.username}'s, not the relay sender's`);
  }
  if (proven !== null && sameRecord(proven, bytes)) return proven;
  throw notProven(input.relaySender);
}

function heldRefs(suite: SuiteId, held: HeldPrekeys): { consumed: PrekeyRef[]; anchor: PrekeyRef } {
  const consumed = [held.oneTime, held.pq]
    .filter(
      (h): h is HeldPrekey => h !== null && h.prekey.role !== PREKEY_ROLES.signedDh && !h.prekey.lastResort,
    )
    .map((h) => ({ suite, id: h.prekey.id }));
  const anchor = (held.pq ?? held.signedDh)!.prekey;
  return { consumed, anchor: { suite, id: anchor.id } };
}

function seeds(held: HeldPrekeys): Uint8Array[] {
  return [held.signedDh, held.pq, held.oneTime].flatMap((h) => (h?.seed ? [h.seed] : []));
}

export async function receiveFirstContact(
  provider: CryptoProvider,
  view: ProtocolView,
  input: FirstContactInput,
  options: { now: number; limits: ProtocolLimits },
): Promise<ReceiveOutcome> {
  const { now, limits } = options;
  const { envelope, relaySender } = input;
  const suite = envelope.suite;
  const keys: Uint8Array[] = [
    refusalKey(provider, REFUSAL_KINDS.envelope, utf8(relaySender), envelope.enc, envelope.sealed),
  ];
  const refusedBefore = () =>
    new NanoError("first_contact_refused", "a copy of a first contact refused before");
  if (await view.wasRefused(keys[0]!)) return refused(refusedBefore());
  // The handshake itself is refused only while no session came of it: every later chain-0 message of
  // an accepted handshake shares its transcript, and one bad copy must not refuse them all.
  let refuseHandshake = false;
  try {
    const own = await view.ownIdentity();
    // 2-3: one decapsulation, then the name the record claims against the relay's sender.
    const parsed: ParsedFirstContact = await openFirstContact(provider, own.keys, own.record, envelope);
    const claimed = claimedUsername(parsed.initiatorRecord);
    if (claimed !== relaySender) {
      throw new NanoError(
        "first_contact_sender_mismatch",
        `a first contact from ${relaySender} carries an identity record for ${claimed}`,
      );
    }
    // 4: our record, our prekeys (store lookups only).
    const found = new Map<number, HeldPrekey>();
    for (const id of [parsed.signedDhId, parsed.pqId, parsed.oneTimeId]) {
      if (id === null) continue;
      const held = await view.getPrekey(suite.id, id);
      if (held) found.set(id, held);
    }
    const held = checkFirstContactPrekeys(suite, own.record, parsed, (_s, id) => found.get(id), now);
    // 5: a record this device trusts, byte for byte; else the caller proves the sender's.
    const contact = await view.getContact(relaySender);
    const trusted = resolveTrust(contact, input, parsed.initiatorRecord);
    if (trusted === "needs_record") return { kind: "needs_record", username: relaySender };
    const first = trustFirstContact(parsed, trusted);
    // 6: selection and transcript; the caches.
    const context = transcriptOf(provider, suite, own.record, first, held);
    keys.push(refusalKey(provider, REFUSAL_KINDS.handshake, context.handshakeHash));
    if (await view.wasRefused(keys[1]!)) {
      return refused(refusedBefore(), writes({ refused: [keys[0]!] }));
    }
    if (contact?.changed !== undefined) {
      // Blocked until the user decides (§11.2): held at the relay, nothing verified or written.
      return { kind: "held", peer: relaySender, changed: contact.changed, writes: NO_WRITES };
    }
    const changed = differs(contact, trusted) ? contact : null;
    if (changed === null) checkPin(suite, contact?.pin);
    const stored = await view.loadSessions(relaySender);
    const sessions = stored ? decodeContactSessions(provider, stored, limits) : EMPTY_SESSIONS;
    if (await view.hasReplay(context.handshakeHash)) {
      // A repeated first contact: only a new message of the session this handshake created.
      const existing = findByHandshake(sessions, context.handshakeHash);
      const replayed = () => new NanoError("replayed_prekey_message", "first contact seen before");
      if (existing === null) throw replayed();
      let decrypted: Awaited<ReturnType<typeof ratchetDecrypt>>;
      try {
        decrypted = await ratchetDecrypt(existing, ENVELOPE_TYPES.prekey, first.message, {
          provider,
          now,
          limits,
        });
      } catch (error) {
        if (NanoError.is(error, "duplicate_message")) throw replayed();
        throw error;
      }
      const content = unpad(
        await checkInitiatorSignature(provider, suite, trusted, context.transcript, decrypted.body),
      );
      if (changed !== null) return { ...blockChanged(changed, trusted), kind: "held" };
      const updated = promote(sessions, existing, decrypted.state, now, limits);
      return {
        kind: "delivered",
        peer: relaySender,
        content,
        newSession: false,
        writes: writes({ sessions: [{ username: relaySender, record: encodeContactSessions(updated) }] }),
        consumed: [...ratchetSecrets(existing), ...seeds(held)],
      };
    }
    // 7: secrets, decryption, the initiator signature (hybrid, quantum).
    refuseHandshake = true;
    const initial = await respond(provider, own.keys, own.record, first, context, now);
    const decrypted = await ratchetDecrypt(initial, ENVELOPE_TYPES.prekey, first.message, {
      provider,
      now,
      limits,
    });
    const content = unpad(
      await checkInitiatorSignature(provider, suite, trusted, context.transcript, decrypted.body),
    );
    if (changed !== null) {
      // Verified, from the relay sender, with a record key transparency proves: hold and block.
      return { ...blockChanged(changed, trusted), kind: "held" };
    }
    const pin = raisePin(contact?.pin, suite.id);
    const { consumed, anchor } = heldRefs(suite.id, held);
    const installed = dropBelowPin(installSession(sessions, decrypted.state, now, limits), pin);
    return {
      kind: "delivered",
      peer: relaySender,
      content,
      newSession: true,
      writes: writes({
        contacts: [{ username: relaySender, contact: { record: trusted, pin } }],
        sessions: [{ username: relaySender, record: encodeContactSessions(installed) }],
        replay: [{ handshakeHash: context.handshakeHash, anchor }],
        consumedPrekeys: consumed,
      }),
      consumed: [...ratchetSecrets(initial), ...seeds(held)],
    };
  } catch (error) {
    if (!NanoError.is(error)) throw error;
    if (NOT_CACHED.has(error.code)) return refused(error);
    return refused(error, writes({ refused: refuseHandshake ? keys : keys.slice(0, 1) }));
  }
}
