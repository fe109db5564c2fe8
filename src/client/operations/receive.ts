import { join, resolve } from "node:path";
import { equalBytes, getSuite, type SuiteName, toHex, utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { type AttachmentReference, decodeAttachmentReferenceExact } from "../../protocol/attachment.ts";
import {
  CONTENT_TYPES,
  decodeContentExact,
  decodeEnvelope,
  ENVELOPE_TYPES,
  receiveMessage,
} from "../../protocol/index.ts";
import type { ClientContext } from "../context.ts";
import type { LocalTables } from "../local-store/local-store.ts";
import { LocalProtocolStores } from "../local-store/protocol-stores.ts";
import {
  DEFAULT_DOWNLOADS_DIR,
  fetchAttachment,
  fetchAttachmentToFile,
  LONG_TEXT_TYPE,
  type Progress,
  sweepStalePartials,
} from "../messaging/attachments.ts";
import { type DeliveryReceipt, ReceiptBatcher, receiptKindName } from "../messaging/delivery-receipts.ts";
import { maintainPrekeys, PREKEY_POLICY } from "../messaging/prekey-maintenance.ts";
import { processTogether } from "../messaging/receive-batch.ts";
import { DEFAULT_BACKOFF } from "../outbox/outbox.ts";
import { flushOutbox } from "../outbox/outbox-flush.ts";
import type { RelayMessage } from "../transport/relay-api.ts";
import type { RelayLink } from "../transport/relay-link.ts";
import { watchRelay } from "../transport/relay-socket.ts";
import { markIdentityChanged } from "../trust/peer-identity.ts";

/** A decrypted message as the SDK hands it out. */
export interface IncomingMessage {
  /** The relay's id (as a string): redelivery of one id is stored and shown once. */
  readonly messageId: string;
  /** Named from the verified identity record (first contact) or the relay-authenticated session peer. */
  readonly sender: string;
  readonly suite: SuiteName;
  readonly contentType: "text" | "attachment";
  /** The text; for an attachment, a one-line description of the saved file. */
  readonly text: string;
  /** A file received as an attachment: verified, then saved (0600) at `path`. */
  readonly attachment: {
    readonly path: string;
    readonly filename: string | null;
    readonly size: number;
    readonly contentType: string;
  } | null;
  /** The sender's clock: display only. */
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly envelopeBytes: number;
  readonly newSession: boolean;
  /** The sender's id of this message (hex): the one its delivery receipt names (`SendResult.contentId`). */
  readonly contentId: string;
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
  /** Where attachments are written (0600 files); null means `downloads/` under the home. */
  readonly saveDir: string | null;
  /** Download progress of an attachment. */
  readonly onProgress?: Progress;
  readonly onMessage: (message: IncomingMessage) => void | Promise<void>;
  readonly onRejected?: (rejected: RejectedMessage) => void | Promise<void>;
  /** A peer confirmed delivery of messages this client sent (docs/client.md "Delivery receipts"). */
  readonly onReceipt?: (receipt: DeliveryReceipt) => void | Promise<void>;
  /**
   * Send a delivery receipt for each message received (default true). Without receipts a session this
   * client did not start stays in its first-contact phase on the peer's side until the user replies.
   */
  readonly receipts?: boolean;
  /** A contact's identity record changed: their messages wait at the relay until trusted. */
  readonly onIdentityChanged?: (username: string) => void;
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
const KEEP_AT_RELAY: ReadonlySet<string> = new Set(["identity_changed"]);

type Outcome =
  | { kind: "message"; message: IncomingMessage; contentId: Uint8Array; firstContact: boolean }
  | { kind: "receipt"; receipt: DeliveryReceipt }
  | { kind: "skip" }
  | { kind: "rejected"; rejected: RejectedMessage }
  | { kind: "keep"; identityChanged?: string };

/**
 * One envelope: decrypt with the session protocol and commit the session state, the contact, the
 * replay entry, the consumed prekeys AND the plaintext in one transaction; only then may the caller
 * acknowledge it to the relay (DESIGN.md "Commit state and plaintext before acknowledging").
 */
/** Thrown inside the first pass to roll it back once the content turned out to be an attachment. */
class AttachmentFirst extends Error {
  readonly reference: AttachmentReference;
  constructor(reference: AttachmentReference) {
    super("attachment to fetch before committing");
    this.reference = reference;
  }
}

type Saved = { path: string | null; text: string | null; reference: AttachmentReference };

export async function processEnvelope(
  context: ClientContext,
  link: RelayLink,
  relayMessage: RelayMessage,
  options: { saveDir: string; onProgress?: Progress },
  now = Date.now(),
): Promise<Outcome> {
  const messageId = String(relayMessage.id);
  // An attachment is downloaded, verified and saved BEFORE the message commits: the first pass
  // decrypts only to learn the reference and is rolled back, so a failed download changes nothing and
  // the message is retried whole; the second pass commits session state and the saved file's record.
  let saved: Saved | null = null;
  let blocked: Uint8Array | undefined;
  for (let pass = 0; pass < 2; pass++) {
    try {
      return await context.store.transaction((tables) => decryptAndCommit(tables, saved));
    } catch (error) {
      if (error instanceof AttachmentFirst && saved === null) {
        try {
          saved = await fetchAndSave(link, error.reference, options);
        } catch (failure) {
          if (NanoError.is(failure, "relay_unreachable")) return { kind: "keep" };
          // Not the attachment's fault (a full disk, an unwritable save folder): the message stays at
          // the relay, unacknowledged, and the receive reports the error; fixing the folder and
          // receiving again delivers it. Only a blob that fails its checks is refused for good.
          if (!NanoError.is(failure)) throw failure;
          return rejected(failure);
        }
        continue;
      }
      if (!NanoError.is(error)) throw error;
      if (KEEP_AT_RELAY.has(error.code)) {
        await markIdentityChanged(context.store, relayMessage.from, now, blocked);
        return { kind: "keep", identityChanged: relayMessage.from };
      }
      return rejected(error);
    }
  }
  throw new Error("unreachable: the second pass either commits or fails");

  function rejected(error: unknown): Outcome {
    const code = NanoError.is(error) ? error.code : "internal_error";
    const message = error instanceof Error ? error.message : String(error);
    return { kind: "rejected", rejected: { messageId, from: relayMessage.from, code, message } };
  }

  async function decryptAndCommit(tables: LocalTables, ready: Saved | null): Promise<Outcome> {
    // Committed before a crash that came ahead of the ack: acknowledge again, show nothing twice.
    if (tables.hasReceived(messageId)) return { kind: "skip" };
    const known = tables.getContact(relayMessage.from);
    if (known?.identityChanged) return { kind: "keep", identityChanged: relayMessage.from };
    const { suite, type: envelopeType } = decodeEnvelope(relayMessage.envelope);
    const stores = new LocalProtocolStores(tables, link.own, now, {
      records: context.records,
      onBlocked: (username, changed) => {
        if (username === relayMessage.from) blocked = changed.encoded;
      },
    });
    const received = await receiveMessage(stores, relayMessage.from, relayMessage.envelope, { now });
    const content = decodeContentExact(received.content);
    if (content.type === CONTENT_TYPES.receipt) {
      tables.insertReceived({
        messageId,
        sender: received.peer,
        contentType: "receipt",
        body: new Uint8Array(0),
        receivedAt: now,
      });
      return {
        kind: "receipt",
        receipt: {
          from: received.peer,
          kind: receiptKindName(content.kind),
          contentIds: content.ids.map((id) => toHex(id)),
          sentAt: content.sentAt,
        },
      };
    }
    let text: string;
    let attachment: IncomingMessage["attachment"] = null;
    if (content.type === CONTENT_TYPES.attachment) {
      const reference = decodeAttachmentReferenceExact(content.reference);
      if (ready === null || !equalBytes(ready.reference.hash, reference.hash))
        throw new AttachmentFirst(reference);
      if (ready.text !== null) text = ready.text;
      else {
        attachment = {
          path: ready.path!,
          filename: reference.filename ?? null,
          size: reference.size,
          contentType: reference.contentType,
        };
        text = `[file ${reference.filename ?? "(unnamed)"}, ${reference.size} bytes, saved to ${ready.path}]`;
      }
    } else {
      text = content.text;
    }
    tables.insertReceived({
      messageId,
      sender: received.peer,
      contentType: attachment === null ? "text" : "attachment",
      body: utf8(attachment === null ? text : JSON.stringify(attachment)),
      receivedAt: now,
    });
    return {
      kind: "message",
      contentId: content.messageId,
      firstContact: envelopeType === ENVELOPE_TYPES.prekey,
      message: {
        messageId,
        sender: received.peer,
        suite: getSuite(suite.id).name,
        contentType: attachment === null ? "text" : "attachment",
        text,
        attachment,
        sentAt: content.sentAt,
        receivedAt: now,
        envelopeBytes: relayMessage.envelope.length,
        newSession: received.newSession,
        contentId: toHex(content.messageId),
      },
    };
  }
}

async function fetchAndSave(
  link: RelayLink,
  reference: AttachmentReference,
  options: { saveDir: string; onProgress?: Progress },
): Promise<Saved> {
  if (reference.contentType === LONG_TEXT_TYPE && reference.filename === undefined) {
    // A long text: shown like any text (strict UTF-8), never written as a file.
    const plaintext = await fetchAttachment(link, reference, options.onProgress);
    return { path: null, text: new TextDecoder("utf-8", { fatal: true }).decode(plaintext), reference };
  }
  const name = reference.filename ?? `attachment-${toHex(reference.hash).slice(0, 16)}`;
  const path = await fetchAttachmentToFile(link, reference, options.saveDir, name, options.onProgress);
  return { path, text: null, reference };
}

/**
 * During a watch, prekey upkeep (docs/sdk.md "Prekeys": a relay request and a pass over the local
 * prekey secrets) runs after every PREKEY_POLICY.refillBelow new sessions, and at least this often.
 * It used to run every 10 messages, which the e2e benchmark showed as a steady cost per message.
 */
export const UPKEEP_INTERVAL_MS = 10 * 60_000;

export async function receive(context: ClientContext, options: ReceiveOptions): Promise<ReceiveResult> {
  const link = await context.link();
  const saveDir = resolve(options.saveDir ?? join(context.home.paths.root, DEFAULT_DOWNLOADS_DIR));
  // A crash mid-download leaves a hidden partial file of unverified plaintext: clear old ones.
  await sweepStalePartials(saveDir).catch(() => {});
  let received = 0;
  let rejected = 0;
  let outboxSent = 0;
  const receipts = options.receipts === false ? null : new ReceiptBatcher(context);
  /** Sessions peers opened since the last prekey upkeep (each may have used a one-time prekey). */
  let newSessions = 0;
  const processOne = (message: RelayMessage) =>
    processEnvelope(context, link, message, {
      saveDir,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
  /**
   * Messages that arrived together: processed together, each handed to the application right after
   * its local commit, in the relay's order. Returns the ids to acknowledge — after the commit
   * (DESIGN.md) and after the application had them, in one frame for the whole batch.
   */
  const handle = async (messages: readonly RelayMessage[]): Promise<number[]> => {
    const outcomes = processTogether(messages, processOne, (outcome) => outcome.kind === "rejected");
    const acknowledge: number[] = [];
    let failure: { error: unknown } | null = null;
    for (const [index, pending] of outcomes.entries()) {
      const message = messages[index]!;
      const outcome = await pending;
      if (outcome.kind === "keep") {
        if (outcome.identityChanged !== undefined) options.onIdentityChanged?.(outcome.identityChanged);
        continue;
      }
      acknowledge.push(message.id);
      try {
        if (outcome.kind === "message") {
          received += 1;
          if (outcome.message.newSession) newSessions += 1;
          receipts?.add(outcome.message.sender, outcome.contentId, outcome.firstContact);
          await options.onMessage(outcome.message);
        } else if (outcome.kind === "receipt") {
          await options.onReceipt?.(outcome.receipt);
        } else if (outcome.kind === "rejected") {
          rejected += 1;
          await options.onRejected?.(outcome.rejected);
        }
      } catch (error) {
        // The rest of the batch is committed too: hand it over all the same, then report.
        failure ??= { error };
      }
    }
    if (failure !== null) {
      await acknowledgeIds(link, acknowledge, options.watch);
      throw failure.error;
    }
    return acknowledge;
  };
  // Messages queued while the relay was down go first: the next command delivers them.
  outboxSent += (await flushOutbox(context, link)).sent;
  const signal = options.signal ?? new AbortController().signal;
  // A watch listens on the channel BEFORE paging, so nothing committed in between is missed; what
  // it hears waits until the pages are done (order), and what came both ways is a skip the second time.
  let pagesDone!: () => void;
  const afterPages = new Promise<void>((resolve) => {
    pagesDone = resolve;
  });
  const stopWatch = new AbortController();
  const stop = () => stopWatch.abort();
  signal.addEventListener("abort", stop, { once: true });
  if (signal.aborted) stop();
  let lastUpkeep = Date.now();
  let overflowed = false;
  const acking = new Set<Promise<void>>();
  const watching = options.watch
    ? watchRelay(link.channel, {
        signal: stopWatch.signal,
        startAfter: afterPages,
        onOverflow: () => {
          overflowed = true;
        },
        onMessages: async (messages) => {
          const ids = await handle(messages);
          if (ids.length > 0) {
            // Not awaited: the next batch need not wait for this answer. Unacknowledged, a message
            // comes again and is acknowledged then (it is committed: shown once).
            const ack: Promise<void> = link.channel
              .ack(ids)
              .catch(() => {})
              .finally(() => acking.delete(ack));
            acking.add(ack);
          }
          // A long watch keeps the one-time prekey stock up: a new session may have used one (and
          // bundle fetches that led to no message use them too, hence the timer).
          if (newSessions >= PREKEY_POLICY.refillBelow || Date.now() - lastUpkeep >= UPKEEP_INTERVAL_MS) {
            newSessions = 0;
            lastUpkeep = Date.now();
            await maintainPrekeysQuietly(context, link);
          }
        },
        onReady: async () => {
          outboxSent += (await flushOutbox(context, link, DEFAULT_BACKOFF)).sent;
        },
        onError: () => {},
      })
    : null;
  try {
    let after = 0;
    for (let page = 0; page < 10_000; page += 1) {
      const messages = await link.api.fetchMessages(after);
      if (messages.length === 0) {
        // Pushes dropped meanwhile were of stored messages: page on until none was.
        if (!overflowed) break;
        overflowed = false;
        continue;
      }
      await acknowledgeIds(link, await handle(messages), options.watch);
      for (const message of messages) after = Math.max(after, message.id);
    }
    if (options.watch) {
      // What the pages fetched is confirmed now; from here on, batches as they arrive.
      await receipts?.flush();
      receipts?.startTimed();
    }
  } catch (error) {
    stop();
    throw error;
  } finally {
    pagesDone();
    await watching;
    signal.removeEventListener("abort", stop);
    await Promise.allSettled([...acking]);
    // Also when the receive failed: the messages it committed are delivered and get their receipts.
    await receipts?.flush();
  }
  // Prekey upkeep rides along: refill one-time keys, rotate the signed ones when due.
  await maintainPrekeysQuietly(context, link);
  return { received, rejected, outboxSent };
}

/**
 * One acknowledgement for many ids: on the relay channel when it is open (or, for a watch, about to
 * be), else one HTTP request.
 */
async function acknowledgeIds(
  link: RelayLink,
  ids: readonly number[],
  preferChannel: boolean,
): Promise<void> {
  if (ids.length === 0) return;
  if (link.channel.ready || (preferChannel && link.channel.usable)) {
    try {
      return await link.channel.ack(ids);
    } catch (error) {
      if (!NanoError.is(error, "relay_unreachable")) throw error;
    }
  }
  await link.api.ack(ids);
}

async function maintainPrekeysQuietly(context: ClientContext, link: RelayLink): Promise<void> {
  try {
    await maintainPrekeys(context.store, link);
  } catch (error) {
    if (!NanoError.is(error)) throw error;
  }
}
