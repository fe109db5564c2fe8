import { type SuiteId, suiteName, suiteRank } from "../crypto/suite-ids.ts";
import { NanoError } from "../errors/index.ts";
import { constantTimeEqual } from "./_constant-time.ts";
import type { Envelope } from "./envelope.ts";
import type { ProtocolLimits } from "./limits.ts";
import type { RatchetOptions } from "./ratchet.ts";
import { type RatchetState, wipeRatchetState } from "./ratchet-state.ts";
import { checkedSuiteId, checkPin } from "./selection.ts";
import { decryptContent } from "./session-cipher.ts";
import type { ContactSessions } from "./session-record.ts";

/**
 * Session lifecycle for one contact (docs/protocol.md §11.2): one active session (the one we send on),
 * up to five archived ones kept 30 days. A message on an archived session promotes it (send on the
 * session that most recently received), which is how simultaneous initiation converges. A session is
 * never reset on a decryption failure: errors leave the record unchanged.
 */
function prune(archived: readonly RatchetState[], now: number, limits: ProtocolLimits): RatchetState[] {
  return archived
    .filter((state) => now - Math.max(state.lastReceived, state.created) < limits.archiveRetentionMs)
    .slice(0, limits.maxArchivedSessions);
}

/** A new session (ours or from a verified first contact) becomes active; the old active is archived. */
export function installSession(
  sessions: ContactSessions,
  state: RatchetState,
  now: number,
  limits: ProtocolLimits,
): ContactSessions {
  const archived = sessions.active ? [sessions.active, ...sessions.archived] : [...sessions.archived];
  return { active: state, archived: prune(archived, now, limits) };
}

/** The session to send on: the active one, never below the pin (docs/protocol.md §11.2). */
export function sendingSession(sessions: ContactSessions, pin?: SuiteId): RatchetState {
  if (sessions.active === null) throw new NanoError("no_session", "no session with this contact");
  const active = checkedSuiteId(sessions.active.suiteId);
  checkPin({ name: suiteName(active), rank: suiteRank(active) }, pin);
  return sessions.active;
}

/**
 * When a pin rises, the sessions below it go, their keys wiped (docs/protocol.md §11.2): an archived
 * lower-suite session could otherwise be promoted back by one replayed old message (a downgrade).
 */
export function dropBelowPin(sessions: ContactSessions, pin: SuiteId): ContactSessions {
  const floor = suiteRank(checkedSuiteId(pin));
  const keep = (state: RatchetState) => {
    if (suiteRank(checkedSuiteId(state.suiteId)) >= floor) return true;
    wipeRatchetState(state);
    return false;
  };
  const active = sessions.active !== null && keep(sessions.active) ? sessions.active : null;
  return { active, archived: sessions.archived.filter(keep) };
}

export function replaceActive(sessions: ContactSessions, state: RatchetState): ContactSessions {
  return { active: state, archived: sessions.archived };
}

/**
 * Only the sessions with the given remote identity record (after a changed identity was accepted, the
 * sessions with the superseded keys are closed: nothing is sent to or accepted from them again).
 */
export function keepBoundTo(sessions: ContactSessions, remoteIdentityHash: Uint8Array): ContactSessions {
  const bound = (state: RatchetState) => constantTimeEqual(state.remoteIdentityHash, remoteIdentityHash);
  const archived = sessions.archived.filter(bound);
  if (sessions.active !== null && bound(sessions.active)) return { active: sessions.active, archived };
  return { active: archived[0] ?? null, archived: archived.slice(1) };
}

/** Finds the session (active or archived) that a handshake created. */
export function findByHandshake(sessions: ContactSessions, handshakeHash: Uint8Array): RatchetState | null {
  const all = sessions.active ? [sessions.active, ...sessions.archived] : [...sessions.archived];
  return all.find((state) => constantTimeEqual(state.handshakeHash, handshakeHash)) ?? null;
}

/** Puts `updated` (a new version of `previous`) first: it is the session that most recently received. */
export function promote(
  sessions: ContactSessions,
  previous: RatchetState,
  updated: RatchetState,
  now: number,
  limits: ProtocolLimits,
): ContactSessions {
  const all = sessions.active ? [sessions.active, ...sessions.archived] : [...sessions.archived];
  return {
    active: updated,
    archived: prune(
      all.filter((state) => state !== previous),
      now,
      limits,
    ),
  };
}

/**
 * Decrypts a type 2/3 envelope with the active session, then the archived ones. Only "no header key
 * opens this" moves on to the next session; any other error belongs to the session that opened the
 * header and is thrown as is.
 */
export async function decryptWithSessions(
  sessions: ContactSessions,
  envelope: Envelope,
  options: RatchetOptions & { limits: ProtocolLimits; pin: SuiteId },
): Promise<{ sessions: ContactSessions; content: Uint8Array; superseded: RatchetState }> {
  // Before any key is tried: a message of a suite below the pin is never decrypted, so an archived
  // lower-suite session can never be promoted back (docs/protocol.md §11.2).
  checkPin(envelope.suite, options.pin);
  const candidates = sessions.active ? [sessions.active, ...sessions.archived] : [...sessions.archived];
  if (candidates.length === 0) throw new NanoError("no_session", "no session with this contact");
  for (const candidate of candidates) {
    if (candidate.suiteId !== envelope.suite.id) continue;
    try {
      const { state, content } = await decryptContent(candidate, envelope, options);
      return {
        sessions: promote(sessions, candidate, state, options.now, options.limits),
        content,
        superseded: candidate,
      };
    } catch (error) {
      if (NanoError.is(error, "decryption_failed")) continue;
      throw error;
    }
  }
  throw new NanoError("decryption_failed", "no session with this contact opens the message");
}
