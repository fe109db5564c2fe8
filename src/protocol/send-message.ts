import type { CryptoProvider } from "../crypto/provider/index.ts";
import { type CallOptions, decide, refused, resolveOptions, type SendOutcome } from "./outcomes.ts";
import { ratchetSecrets } from "./ratchet-state.ts";
import { encryptContent } from "./session-cipher.ts";
import { sendingSession } from "./session-lifecycle.ts";
import { decodeActiveSession, encodeActiveSession } from "./session-record.ts";
import { NO_WRITES, type ProtocolView, writes } from "./stores.ts";

export interface SendInput {
  readonly peer: string;
  /** The content to pad and encrypt (content.ts encoding). */
  readonly content: Uint8Array;
}

/**
 * Encrypts one message on the contact's active session (docs/protocol.md §9.2, §11.2): never on a
 * blocked contact (`blocked`), never on a session below the pin (`refused`, `suite_below_pin`). The
 * new session state is the write; the superseded state's secrets are consumed. Sending touches only
 * the active session: archived ones are carried over as the bytes they were stored as.
 */
export async function sendMessage(
  provider: CryptoProvider,
  view: ProtocolView,
  input: SendInput,
  options: CallOptions = {},
): Promise<SendOutcome> {
  const { now, limits } = resolveOptions(options);
  return decide(async (): Promise<SendOutcome> => {
    const { peer } = input;
    const contact = await view.getContact(peer);
    if (contact?.changed !== undefined) {
      return { kind: "blocked", peer, changed: contact.changed, writes: NO_WRITES };
    }
    const { keys } = await view.ownIdentity();
    const bytes = await view.loadSessions(peer);
    const record = bytes ? decodeActiveSession(provider, bytes, limits) : { active: null, archived: [] };
    const sending = sendingSession({ active: record.active, archived: [] }, contact?.pin);
    const { state, envelope } = await encryptContent(sending, keys, input.content, { provider, now, limits });
    return {
      kind: "sent",
      envelope,
      suite: state.suiteId,
      writes: writes({ sessions: [{ username: peer, record: encodeActiveSession(state, record.archived) }] }),
      consumed: ratchetSecrets(sending),
    };
  }, refused);
}
