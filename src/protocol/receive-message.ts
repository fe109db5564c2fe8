import type { CryptoProvider } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { ENVELOPE_TYPES, type Envelope } from "./envelope.ts";
import { receiveFirstContact } from "./first-contact-receive.ts";
import type { IdentityRecord } from "./identity-record.ts";
import { type CallOptions, decide, type ReceiveOutcome, refused, resolveOptions } from "./outcomes.ts";
import { ratchetSecrets } from "./ratchet-state.ts";
import { decryptWithSessions } from "./session-lifecycle.ts";
import { decodeContactSessions, encodeContactSessions } from "./session-record.ts";
import { NO_WRITES, type ProtocolView, writes } from "./stores.ts";

export interface ReceiveInput {
  /** The sender the relay authenticated: the only name a message is ever shown under. */
  readonly relaySender: string;
  /** Decoded by the caller (`decodeEnvelope`: size, version, suite and type checked). */
  readonly envelope: Envelope;
  /**
   * The identity record key transparency proves for `relaySender` — decoded (so verified) and proven
   * by the caller with an inclusion proof under a checkpoint it verified — or null when the log holds
   * none. Asked for only when a first contact passed its cheap checks and names a record this device
   * has not pinned (`needs_record`); a first contact is accepted only with a record byte-equal to it.
   */
  readonly provenRecord?: IdentityRecord | null;
}

/**
 * Decides what one envelope means (docs/protocol.md §7.7, §8.6, §11.2): `delivered` with the writes
 * to commit together with the plaintext, `held` (the sender's identity changed: keep it at the relay),
 * `needs_record` (decide again with the proven record), or `refused` with the reason (acknowledge and
 * report it; never show it). Nothing is written by the decision; every stored byte stays as it was
 * until the caller commits the writes.
 */
export async function receiveMessage(
  provider: CryptoProvider,
  view: ProtocolView,
  input: ReceiveInput,
  options: CallOptions = {},
): Promise<ReceiveOutcome> {
  const resolved = resolveOptions(options);
  const { envelope, relaySender } = input;
  if (envelope.type === ENVELOPE_TYPES.prekey) {
    return receiveFirstContact(provider, view, { ...input, envelope }, resolved);
  }
  return decide(async (): Promise<ReceiveOutcome> => {
    const contact = await view.getContact(relaySender);
    if (contact === undefined) throw new NanoError("no_session", `no session with ${relaySender}`);
    if (contact.changed !== undefined) {
      return { kind: "held", peer: relaySender, changed: contact.changed, writes: NO_WRITES };
    }
    const stored = await view.loadSessions(relaySender);
    if (stored === undefined) throw new NanoError("no_session", `no session with ${relaySender}`);
    const sessions = decodeContactSessions(provider, stored, resolved.limits);
    const result = await decryptWithSessions(sessions, envelope, { ...resolved, provider, pin: contact.pin });
    return {
      kind: "delivered",
      peer: relaySender,
      content: result.content,
      newSession: false,
      writes: writes({
        sessions: [{ username: relaySender, record: encodeContactSessions(result.sessions) }],
      }),
      consumed: ratchetSecrets(result.superseded),
    };
  }, refused);
}
