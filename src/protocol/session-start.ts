import type { CryptoProvider } from "../crypto/provider/index.ts";
import type { SuiteId } from "../crypto/suite-ids.ts";
import { NanoError } from "../errors/index.ts";
import type { Bundle } from "./bundle.ts";
import { initiate } from "./handshake.ts";
import type { IdentityRecord } from "./identity-record.ts";
import { blockChanged, differs } from "./identity-trust.ts";
import {
  type CallOptions,
  type ChooseOutcome,
  decide,
  refused,
  resolveOptions,
  type StartOutcome,
} from "./outcomes.ts";
import { checkPin, raisePin, type Selection, selectSuite } from "./selection.ts";
import { dropBelowPin, installSession } from "./session-lifecycle.ts";
import { decodeContactSessions, EMPTY_SESSIONS, encodeContactSessions } from "./session-record.ts";
import { type Contact, NO_WRITES, type ProtocolView, writes } from "./stores.ts";

/**
 * The initiator's decisions (docs/protocol.md §5, §7, §11.2): which suite to ask the relay for, and a
 * new session from the bundle it served. Both read through the view and return the writes; a record
 * that differs from the pinned one is `blocked` with the block as the write, never written and thrown.
 */

/** A contact whose change is already pending, or a verified record that differs from the pinned one. */
function identityCheck(contact: Contact | undefined, record: IdentityRecord): ChooseOutcome | null {
  if (contact?.changed !== undefined) {
    return { kind: "blocked", peer: record.username, changed: contact.changed, writes: NO_WRITES };
  }
  return differs(contact, record) ? blockChanged(contact, record) : null;
}

/**
 * Chooses the suite to ask the relay for: the floor, the peer's record and this contact's pin.
 * `peer` must be verified and (for a client) proven by key transparency: a differing one blocks.
 */
export async function chooseSuite(
  view: ProtocolView,
  peer: IdentityRecord,
  explicit?: SuiteId,
): Promise<ChooseOutcome> {
  return decide(async () => {
    const { record } = await view.ownIdentity();
    const contact = await view.getContact(peer.username);
    const blocked = identityCheck(contact, peer);
    if (blocked !== null) return blocked;
    const { suite, selection } = selectSuite(record, peer, {
      ...(explicit === undefined ? {} : { explicit }),
      ...(contact ? { pin: contact.pin } : {}),
    });
    return { kind: "chosen", suite, selection };
  }, refused);
}

export interface StartInput {
  /** Decoded and verified (`decodeBundleExact` / `assembleBundle`): the record inside is trusted. */
  readonly bundle: Bundle;
  readonly selection: Selection;
  /** The username the bundle was fetched for: a bundle of anyone else is `certificate_mismatch`. */
  readonly peer?: string;
}

/** Starts a session from a bundle fetched for the chosen suite; it becomes the contact's active one. */
export async function startSession(
  provider: CryptoProvider,
  view: ProtocolView,
  input: StartInput,
  options: CallOptions = {},
): Promise<StartOutcome> {
  const { now, limits } = resolveOptions(options);
  return decide(async (): Promise<StartOutcome> => {
    const { bundle, selection } = input;
    const peer = bundle.record.username;
    if (input.peer !== undefined && input.peer !== peer) {
      throw new NanoError("certificate_mismatch", `the bundle is ${peer}'s, not ${input.peer}'s`);
    }
    const { keys, record } = await view.ownIdentity();
    const contact = await view.getContact(peer);
    const blocked = identityCheck(contact, bundle.record);
    if (blocked !== null) return blocked as StartOutcome;
    checkPin(bundle.suite, contact?.pin);
    const state = await initiate(provider, keys, record, bundle, { selection, now });
    const stored = await view.loadSessions(peer);
    const pin = raisePin(contact?.pin, bundle.suite.id);
    const sessions = dropBelowPin(
      installSession(
        stored ? decodeContactSessions(provider, stored, limits) : EMPTY_SESSIONS,
        state,
        now,
        limits,
      ),
      pin,
    );
    return {
      kind: "started",
      suite: bundle.suite,
      writes: writes({
        contacts: [{ username: peer, contact: { record: bundle.record, pin } }],
        sessions: [{ username: peer, record: encodeContactSessions(sessions) }],
      }),
      consumed: [],
    };
  }, refused);
}
