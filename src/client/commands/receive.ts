import { getSuite, type SuiteName, utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { CONTENT_TYPES, decodeContentExact, decodeEnvelope, receiveMessage } from "../../protocol/index.ts";
import { DEFAULT_BACKOFF } from "../outbox.ts";
import { maintainPrekeys } from "../prekey-maintenance.ts";
import { LocalProtocolStores } from "../protocol-stores.ts";
import { openRelayLink, type RelayLink } from "../relay-link.ts";
import type { RelayMessage } from "../transport/relay-api.ts";
import { watchRelay } from "../transport/relay-socket.ts";
import type { UnlockedHome } from "../unlocked-home.ts";
import { flushOutbox } from "./outbox-flush.ts";
import { markIdentityChanged } from "./send.ts";

/** A decrypted message as the SDK hands it out. */
export interface IncomingMessage {
  /** The relay's id (as a string): redelivery of one id is stored and shown once. */
  readonly messageId: string;
  /** Named from the verified identity record (first contact) or the relay-authenticated session peer. */
  readonly sender: string;
  readonly suite: SuiteName;
  readonly contentType: "text";
  readonly text: string;
  /** The sender's clock: display only. */
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly envelopeBytes: number;
  readonly newSession: boolean;
}

/** A message that could not be opened: reported, acknowledged (so it cannot block the queue forever). */
export interface RejectedMessage {
  readonly messageId: string;
  readonly from: string;
  readonly code: string;
  readonly message: string;
}

export interface ReceiveOptions {
  /** Keep the connection open and deliver messages as they arrive, until `signal` aborts. */
  readonly watch: boolean;
  /** Where attachments are written (0600 files); null keeps them in the local store only. */
  readonly saveDir: string | null;
  readonly onMessage: (message: IncomingMessage) => void | Promise<void>;
  readonly onRejected?: (rejected: RejectedMessage) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

export interface ReceiveResult {
  readonly received: number;
  readonly rejected: number;
  /** Outbox entries delivered on the way (messages queued while the relay was down). */
  readonly outboxSent: number;
}

/**
 * Errors that leave the message at the relay: the user must act first (accept a changed identity),
 * after which the same envelope decrypts. Everything else is final for that envelope.
 */
const KEEP_AT_RELAY = new Set(["identity_changed"]);

type Outcome =
  | { kind: "message"; message: IncomingMessage }
  | { kind: "skip" }
  | { kind: "rejected"; rejected: RejectedMessage }
  | { kind: "keep" };

/**
 * One envelope: decrypt with the session protocol and commit the session state, the contact, the
 * replay entry, the consumed prekeys AND the plaintext in one transaction; only then may the caller
 * acknowledge it to the relay (DESIGN.md "Commit state and plaintext before acknowledging").
 */
export async function processEnvelope(
  home: UnlockedHome,
  link: RelayLink,
  relayMessage: RelayMessage,
  now = Date.now(),
): Promise<Outcome> {
  const messageId = String(relayMessage.id);
  try {
    return await home.store.transaction(async (tables): Promise<Outcome> => {
      // Committed before a crash that came ahead of the ack: acknowledge again, show nothing twice.
      if (tables.hasReceived(messageId)) return { kind: "skip" };
      const blocked = tables.getContact(relayMessage.from);
      if (blocked?.identityChanged) return { kind: "keep" };
      const suite = decodeEnvelope(relayMessage.envelope).suite;
      const stores = new LocalProtocolStores(tables, link.own, now);
      const received = await receiveMessage(stores, relayMessage.from, relayMessage.envelope, { now });
      const content = decodeContentExact(received.content);
      if (content.type !== CONTENT_TYPES.text) {
        // Receipts carry no user content; attachments are not supported by this build.
        tables.insertReceived({
          messageId,
          sender: received.peer,
          contentType: content.type === CONTENT_TYPES.receipt ? "receipt" : "attachment",
          body: new Uint8Array(0),
          receivedAt: now,
        });
        return { kind: "skip" };
      }
      tables.insertReceived({
        messageId,
        sender: received.peer,
        contentType: "text",
        body: utf8(content.text),
        receivedAt: now,
      });
      return {
        kind: "message",
        message: {
          messageId,
          sender: received.peer,
          suite: getSuite(suite.id).name,
          contentType: "text",
          text: content.text,
          sentAt: content.sentAt,
          receivedAt: now,
          envelopeBytes: relayMessage.envelope.length,
          newSession: received.newSession,
        },
      };
    });
  } catch (error) {
    if (!NanoError.is(error)) throw error;
    if (KEEP_AT_RELAY.has(error.code)) {
      await markIdentityChanged(home, relayMessage.from, now);
      return { kind: "keep" };
    }
    return {
      kind: "rejected",
      rejected: { messageId, from: relayMessage.from, code: error.code, message: error.message },
    };
  }
}

export async function receive(home: UnlockedHome, options: ReceiveOptions): Promise<ReceiveResult> {
  const link = await openRelayLink(home);
  let received = 0;
  let rejected = 0;
  let outboxSent = 0;
  const handle = async (message: RelayMessage): Promise<boolean> => {
    const outcome = await processEnvelope(home, link, message);
    if (outcome.kind === "keep") return false;
    await link.api.ack([message.id]);
    if (outcome.kind === "message") {
      received += 1;
      await options.onMessage(outcome.message);
    } else if (outcome.kind === "rejected") {
      rejected += 1;
      await options.onRejected?.(outcome.rejected);
    }
    return true;
  };
  // Messages queued while the relay was down go first: the next command delivers them.
  outboxSent += (await flushOutbox(home, link)).sent;
  let after = 0;
  for (let page = 0; page < 10_000; page += 1) {
    const messages = await link.api.fetchMessages(after);
    if (messages.length === 0) break;
    for (const message of messages) {
      await handle(message);
      after = Math.max(after, message.id);
    }
  }
  if (options.watch) {
    const signal = options.signal ?? new AbortController().signal;
    await watchRelay(link.api, {
      signal,
      onMessage: async (message) => {
        await handle(message);
      },
      onReady: async () => {
        outboxSent += (await flushOutbox(home, link, DEFAULT_BACKOFF)).sent;
      },
      onError: () => {},
    });
  }
  // Prekey upkeep rides along: refill one-time keys, rotate the signed ones when due.
  await maintainPrekeysQuietly(home, link);
  return { received, rejected, outboxSent };
}

async function maintainPrekeysQuietly(home: UnlockedHome, link: RelayLink): Promise<void> {
  try {
    await maintainPrekeys(home, link);
  } catch (error) {
    if (!NanoError.is(error)) throw error;
  }
}
