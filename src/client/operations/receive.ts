import { z } from "zod";
import { equalBytes, toHex, utf8 } from "../../crypto/bytes.ts";
import { type SuiteName, suiteNameOf } from "../../crypto/suite-ids.ts";
import { NanoError } from "../../errors/index.ts";
import {
  type AttachmentReference,
  decodeAttachmentReferenceExact,
} from "../../protocol/attachment-reference.ts";
import {
  CONTENT_TYPES,
  decodeContentExact,
  decodeEnvelope,
  ENVELOPE_TYPES,
  type IdentityRecord,
  receiveMessage,
  wipeConsumed,
} from "../../protocol/index.ts";
import { CLOCK_SKEW_TOLERANCE_MS, NOT_YET_VALID_CODES } from "../../protocol/validity.ts";
import { humanBytes } from "../../text/human-bytes.ts";
import type { ClientContext } from "../context.ts";
import type { ReceivedMessage } from "../local-store/local-records.ts";
import { type LocalTables, RECEIPT_CONTENT } from "../local-store/local-tables.ts";
import { LocalProtocolStores } from "../local-store/protocol-stores.ts";
import type { AttachmentSink } from "../messaging/attachment-sink.ts";
import { fetchAttachment, LONG_TEXT_TYPE, type Progress } from "../messaging/attachments.ts";
import { type DeliveryReceipt, ReceiptBatcher, receiptKindName } from "../messaging/delivery-receipts.ts";
import { RelayClock, receivedExpiresAt, sweepWhileWatching } from "../messaging/disappearing.ts";
import { maintainPrekeys, PREKEY_POLICY } from "../messaging/prekey-maintenance.ts";
import { processTogether } from "../messaging/receive-batch.ts";
import { flushOutbox, USER_RETRY } from "../outbox/outbox-flush.ts";
import type { RelayMessage } from "../transport/relay-api.ts";
import type { RelayLink } from "../transport/relay-link.ts";
import { watchRelay } from "../transport/relay-socket.ts";
import { fetchProvenRecord } from "../trust/peer-identity.ts";
import { countDropped, isBlocked } from "./contact-blocks.ts";
import { applyRetention } from "./history.ts";
import { sendIntents } from "./send.ts";

/** A decrypted message as the SDK hands it out. */
export interface IncomingMessage {
  /** The relay's id (as a string): redelivery of one id is stored and shown once. */
  readonly messageId: string;
  /** The relay-authenticated sender (a first contact's record must name it and be proven, §7.7). */
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
  /** The sender's timer in seconds (disappearing messages), null when it does not disappear. */
  readonly expireAfterSeconds: number | null;
  /** Local time the message is deleted at (both sides delete it), null when it does not disappear. */
  readonly expiresAt: number | null;
}

/** A message that could not be opened: reported, acknowledged (so it cannot block the queue forever). */
export interface RejectedMessage {
  readonly messageId: string;
  /** The sender the relay authenticated: the only name a refused message is reported under. */
  readonly from: string;
  readonly code: string;
  readonly message: string;
  /** A refused first contact (docs/protocol.md §7.7): nobody was added as a contact. */
  readonly firstContact: boolean;
  /**
   * Kept in the local quarantine (with its envelope) before it was acknowledged: `quarantine retry`
   * tries it again, `quarantine discard` drops it. False only when the quarantine is full.
   */
  readonly quarantined?: boolean;
}

/**
 * Refusals that mean "a copy of a message this state already opened" (a relay's replay under a new id,
 * of a message shown or since deleted by its timer): its keys are spent, so no retry can ever open it.
 * Reported and dropped, never kept in the quarantine (where it would wait for ever).
 */
const SPENT_COPY_CODES: ReadonlySet<string> = new Set(["duplicate_message", "replayed_prekey_message"]);

/** Messages the quarantine keeps at most: beyond, a refused message is reported and dropped as before. */
export const MAX_QUARANTINED = 500;

export interface ReceiveOptions {
  /** Keep the connection open and deliver messages as they arrive, until `signal` aborts. */
  readonly watch: boolean;
  /** Where attachments are written (0600 files); null means `downloads/` under the home. */
  readonly saveDir: string | null;
  /** Download progress of an attachment. */
  readonly onProgress?: Progress;
  /**
   * The application takes a message: once this returns (or its promise resolves) the message is marked
   * shown. A message committed and not taken (a crash, a throw) is handed over again by the next
   * receive, before anything new: every committed message is taken exactly once.
   */
  readonly onMessage: (message: IncomingMessage) => void | Promise<void>;
  /** A taken message also counts as read (the CLI prints it to a person); default false. */
  readonly markRead?: boolean;
  readonly onRejected?: (rejected: RejectedMessage) => void | Promise<void>;
  /** A disappearing message had expired before it arrived: never stored or shown (ExpiredMessage). */
  readonly onExpired?: (expired: ExpiredMessage) => void | Promise<void>;
  /** A peer confirmed delivery of messages this client sent (docs/client.md "Delivery receipts"). */
  readonly onReceipt?: (receipt: DeliveryReceipt) => void | Promise<void>;
  /**
   * Send a delivery receipt for each message received (default true). Without receipts a session this
   * client did not start stays in its first-contact phase on the peer's side until the user replies.
   */
  readonly receipts?: boolean;
  /** A contact's identity record changed: their messages wait at the relay until trusted. */
  readonly onIdentityChanged?: (username: string) => void;
  /** A message failed for a time reason and waits at the relay (a clock is off): see TimeFailure. */
  readonly onTimeFailure?: (failure: TimeFailure) => void;
  /** Messages kept at the relay per such sender in one receive (default MAX_HELD_PER_SENDER). */
  readonly maxHeldPerSender?: number;
  readonly signal?: AbortSignal;
}

/**
 * A disappearing message whose timer had run out when it arrived: its plaintext was never stored or
 * shown. Reported rather than silently gone: a relay that lies about times can cause it (docs/client.md
 * "Disappearing messages"), and the sender got a delivery receipt for it.
 */
export interface ExpiredMessage {
  readonly from: string;
  /** The relay's id of the message. */
  readonly messageId: string;
  /** The sender's id of the message (hex), the one its delivery receipt names. */
  readonly contentId: string;
  readonly expireAfterSeconds: number;
  /** The sender's clock when it was sent (authenticated), and the relay's claimed acceptance time. */
  readonly sentAt: number;
  readonly relaySentAt: number;
}

export interface ReceiveResult {
  readonly received: number;
  readonly rejected: number;
  /** Disappearing messages that had expired before they arrived (`onExpired`). */
  readonly expired: number;
  /** Messages from blocked senders, acknowledged and dropped unread. */
  readonly blocked: number;
  /** Outbox entries delivered on the way (messages queued while the relay was down). */
  readonly outboxSent: number;
}

type Outcome =
  | { kind: "message"; message: IncomingMessage; contentId: Uint8Array; firstContact: boolean }
  /** Its timer ran out before it arrived: never stored, never shown, reported (docs/client.md). */
  | { kind: "expired"; expired: ExpiredMessage; contentId: Uint8Array; firstContact: boolean }
  | { kind: "receipt"; receipt: DeliveryReceipt }
  | { kind: "skip" }
  /** From a blocked sender: acknowledged and dropped, never decrypted (contact-blocks.ts). */
  | { kind: "blocked" }
  | { kind: "rejected"; rejected: RejectedMessage }
  | { kind: "keep"; identityChanged?: string; firstContact?: boolean; timeFailure?: TimeFailure };

/**
 * A message that failed for a time reason (issue 13, loss 3): never dropped. It stays at the relay,
 * unacknowledged, and is received once the clock is right; the user is told whose clock is off.
 */
export interface TimeFailure {
  readonly messageId: string;
  /** The relay-authenticated sender. */
  readonly from: string;
  /** `prekey_not_yet_valid`, `certificate_not_yet_valid`, or `prekey_expired` with this clock off. */
  readonly code: string;
  readonly message: string;
  /** The relay's clock minus this machine's (ms), from its Date header; null when unknown. */
  readonly clockSkewMs: number | null;
}

/**
 * Messages kept at the relay per sender while that sender's changed identity waits for the user
 * (docs/protocol.md §11.2). Beyond this many in one receive, further ones are refused and
 * acknowledged (`held_limit_reached`), so one sender cannot fill the mailbox quota with held mail.
 */
export const MAX_HELD_PER_SENDER = 50;

type Saved = { path: string | null; text: string | null; reference: AttachmentReference };

/** What one pass over the local store decided: a final outcome, or what to fetch before the next pass. */
type Pass =
  | { kind: "done"; outcome: Outcome; consumed: readonly Uint8Array[] }
  | { kind: "needs-clock" }
  | { kind: "needs-record"; username: string }
  | { kind: "needs-attachment"; reference: AttachmentReference };

/** Failures that depend on the clock: the message may open once the clock is right. */
const TIME_CODES: ReadonlySet<string> = new Set([...NOT_YET_VALID_CODES, "prekey_expired"]);

/**
 * Passes one envelope may take: decide, fetch the proven record, ask the relay's clock (a message with
 * a timer), fetch the attachment, commit.
 */
const MAX_PASSES = 4;

/**
 * One envelope: the protocol decides (src/protocol/receive-message.ts) and this commits the decision's
 * writes — session state, contact, replay entry, consumed prekeys — together with the plaintext in one
 * transaction; only then may the caller acknowledge it to the relay (DESIGN.md "Commit state and
 * plaintext before acknowledging"). What has to come from the network first is fetched between passes,
 * outside any transaction, and the decision is made again with it: the record key transparency proves
 * for the sender of a first contact (`needs_record`, docs/protocol.md §7.7), and an attachment, which is
 * downloaded, verified and saved BEFORE its message commits (a failed download changes nothing).
 */
export async function processEnvelope(
  context: ClientContext,
  link: RelayLink,
  relayMessage: RelayMessage,
  options: { sink: AttachmentSink; onProgress?: Progress; clock?: RelayClock },
  now = Date.now(),
): Promise<Outcome> {
  const clock = options.clock ?? new RelayClock(link.api.endpoint);
  const messageId = String(relayMessage.id);
  const sender = relayMessage.from;
  let saved: Saved | null = null;
  let proven: IdentityRecord | null | undefined;
  let firstContact = false;
  const rejected = (error: unknown): Outcome => {
    const code = NanoError.is(error) ? error.code : "internal_error";
    const message = error instanceof Error ? error.message : String(error);
    // A time failure is never dropped: the message stays at the relay (receive asks whose clock is off).
    if (TIME_CODES.has(code))
      return { kind: "keep", timeFailure: { messageId, from: sender, code, message, clockSkewMs: null } };
    return { kind: "rejected", rejected: { messageId, from: sender, code, message, firstContact } };
  };
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let step: Pass;
    try {
      step = await context.store.transaction((tables) => decideAndCommit(tables));
    } catch (error) {
      if (!NanoError.is(error)) throw error;
      return rejected(error);
    }
    if (step.kind === "done") {
      // Committed: what the decision consumed (superseded keys, used prekey seeds) leaves memory.
      wipeConsumed(step);
      return step.outcome;
    }
    if (step.kind === "needs-clock") {
      await clock.measure();
      continue;
    }
    if (step.kind === "needs-record") {
      try {
        proven = await fetchProvenRecord(context, link, step.username);
      } catch (failure) {
        if (NanoError.is(failure, "relay_unreachable")) return { kind: "keep" };
        // A relay that shows two histories is not trusted any further: the receive fails loudly.
        if (NanoError.is(failure, "log_fork_detected") || NanoError.is(failure, "log_rollback_detected"))
          throw failure;
        if (!NanoError.is(failure)) throw failure;
        return rejected(failure);
      }
      continue;
    }
    try {
      saved = await fetchAndSave(context, link, step.reference, options);
    } catch (failure) {
      if (NanoError.is(failure, "relay_unreachable")) return { kind: "keep" };
      // Not the attachment's fault (a full disk, an unwritable save folder): the message stays at
      // the relay, unacknowledged, and the receive reports the error; fixing the folder and
      // receiving again delivers it. Only a blob that fails its checks is refused for good.
      if (!NanoError.is(failure)) throw failure;
      return rejected(failure);
    }
  }
  throw new Error("unreachable: every pass past the last fetch decides");

  async function decideAndCommit(tables: LocalTables): Promise<Pass> {
    const done = (outcome: Outcome, consumed: readonly Uint8Array[] = []): Pass => ({
      kind: "done",
      outcome,
      consumed,
    });
    // Committed before a crash that came ahead of the ack: acknowledge again, show nothing twice.
    if (tables.hasReceived(messageId)) return done({ kind: "skip" });
    if (isBlocked(tables, sender)) {
      countDropped(tables, sender);
      return done({ kind: "blocked" });
    }
    const envelope = decodeEnvelope(context.provider, relayMessage.envelope);
    firstContact = envelope.type === ENVELOPE_TYPES.prekey;
    const stores = new LocalProtocolStores(tables, link.own, now, {
      records: context.records,
      provider: context.provider,
    });
    const decided = await receiveMessage(
      stores.provider,
      stores,
      { relaySender: sender, envelope, ...(proven === undefined ? {} : { provenRecord: proven }) },
      { now },
    );
    if (decided.kind === "needs_record") return { kind: "needs-record", username: decided.username };
    if (decided.kind === "held") {
      // The block (first time) commits now; the message waits at the relay until the user decides.
      await stores.apply(decided.writes);
      return done({ kind: "keep", identityChanged: decided.peer, firstContact });
    }
    if (decided.kind === "refused") {
      // Only the refusal cache is written: a resent copy is refused for one lookup.
      await stores.apply(decided.writes);
      return done(rejected(decided.error));
    }
    const content = decodeContentExact(decided.content);
    if (content.type === CONTENT_TYPES.receipt) {
      await stores.apply(decided.writes);
      tables.insertReceived({
        messageId,
        sender: decided.peer,
        contentType: RECEIPT_CONTENT,
        body: new Uint8Array(0),
        receivedAt: now,
      });
      return done(
        {
          kind: "receipt",
          receipt: {
            from: decided.peer,
            kind: receiptKindName(content.kind),
            contentIds: content.ids.map((id) => toHex(id)),
            sentAt: content.sentAt,
          },
        },
        decided.consumed,
      );
    }
    let expiresAt: number | null = null;
    if (content.expireAfterSeconds !== undefined) {
      // Nothing is written yet: the relay's clock is asked outside the transaction, then decided again.
      if (clock.known === null) return { kind: "needs-clock" };
      expiresAt = receivedExpiresAt({
        now,
        relaySentAt: relayMessage.sentAt,
        senderSentAt: content.sentAt,
        skewMs: clock.known.skewMs,
        expireAfterSeconds: content.expireAfterSeconds,
      });
      if (expiresAt <= now) {
        // Expired on the way (a receiver long offline): the session still steps, the plaintext is
        // never stored, and an attachment is never fetched.
        await stores.apply(decided.writes);
        tables.rememberExpired(messageId, now);
        return done(
          {
            kind: "expired",
            expired: {
              from: decided.peer,
              messageId,
              contentId: toHex(content.messageId),
              expireAfterSeconds: content.expireAfterSeconds,
              sentAt: content.sentAt,
              relaySentAt: relayMessage.sentAt,
            },
            contentId: content.messageId,
            firstContact,
          },
          decided.consumed,
        );
      }
    }
    const timer = expiresAt === null ? {} : { expireAfterSeconds: content.expireAfterSeconds, expiresAt };
    let text: string;
    let attachment: IncomingMessage["attachment"] = null;
    if (content.type === CONTENT_TYPES.attachment) {
      const reference = decodeAttachmentReferenceExact(content.reference);
      // Nothing is written yet: the next pass decides again once the file is saved.
      if (saved === null || !equalBytes(saved.reference.hash, reference.hash)) {
        return { kind: "needs-attachment", reference };
      }
      if (saved.text !== null) text = saved.text;
      else {
        attachment = {
          path: saved.path!,
          filename: reference.filename ?? null,
          size: reference.size,
          contentType: reference.contentType,
        };
        text = describeAttachment(attachment);
      }
    } else {
      text = content.text;
    }
    await stores.apply(decided.writes);
    const contentId = toHex(content.messageId);
    tables.insertReceived({
      messageId,
      sender: decided.peer,
      contentType: attachment === null ? "text" : "attachment",
      body: utf8(attachment === null ? text : JSON.stringify(attachment)),
      receivedAt: now,
      suite: envelope.suite.id,
      sentAt: content.sentAt,
      contentId,
      envelopeBytes: relayMessage.envelope.length,
      newSession: decided.newSession,
      ...timer,
    });
    return done(
      {
        kind: "message",
        contentId: content.messageId,
        firstContact,
        message: {
          messageId,
          sender: decided.peer,
          suite: suiteNameOf(envelope.suite.id),
          contentType: attachment === null ? "text" : "attachment",
          text,
          attachment,
          sentAt: content.sentAt,
          receivedAt: now,
          envelopeBytes: relayMessage.envelope.length,
          newSession: decided.newSession,
          contentId,
          expireAfterSeconds: content.expireAfterSeconds ?? null,
          expiresAt,
        },
      },
      decided.consumed,
    );
  }
}

/** The one line an attachment is shown as (the CLI's text; the SDK's `text` of an attachment). */
function describeAttachment(attachment: NonNullable<IncomingMessage["attachment"]>): string {
  return `[file ${attachment.filename ?? "(unnamed)"}, ${humanBytes(attachment.size)}, saved to ${attachment.path}]`;
}

const ATTACHMENT_JSON = z.strictObject({
  path: z.string(),
  filename: z.string().nullable(),
  size: z.number().int().nonnegative(),
  contentType: z.string(),
});

/**
 * A committed message as the application is handed it, rebuilt from its sealed row: a message a
 * crash (or a throwing onMessage) left unshown.
 */
export function incomingFromStored(stored: ReceivedMessage): IncomingMessage {
  // Rows without a suite were written before this column and were shown then (migration 2).
  if (stored.suite === undefined)
    throw new NanoError("local_record_tampered", "an unshown message row lacks its suite");
  const body = new TextDecoder().decode(stored.body);
  const attachment = stored.contentType === "attachment" ? ATTACHMENT_JSON.parse(JSON.parse(body)) : null;
  return {
    messageId: stored.messageId,
    sender: stored.sender,
    suite: suiteNameOf(stored.suite),
    contentType: attachment === null ? "text" : "attachment",
    text: attachment === null ? body : describeAttachment(attachment),
    attachment,
    sentAt: stored.sentAt ?? stored.receivedAt,
    receivedAt: stored.receivedAt,
    envelopeBytes: stored.envelopeBytes ?? 0,
    newSession: stored.newSession ?? false,
    contentId: stored.contentId ?? "",
    expireAfterSeconds: stored.expireAfterSeconds ?? null,
    expiresAt: stored.expiresAt ?? null,
  };
}

async function fetchAndSave(
  context: ClientContext,
  link: RelayLink,
  reference: AttachmentReference,
  options: { sink: AttachmentSink; onProgress?: Progress },
): Promise<Saved> {
  if (reference.contentType === LONG_TEXT_TYPE && reference.filename === undefined) {
    // A long text: shown like any text (strict UTF-8), never written as a file.
    const plaintext = await fetchAttachment(context.provider.primitives, link, reference, options.onProgress);
    return { path: null, text: new TextDecoder("utf-8", { fatal: true }).decode(plaintext), reference };
  }
  const name = reference.filename ?? `attachment-${toHex(reference.hash).slice(0, 16)}`;
  const path = await options.sink.save(link, reference, name, options.onProgress);
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
  const sink = await context.attachmentSink(options.saveDir);
  let received = 0;
  let rejected = 0;
  let expired = 0;
  let blocked = 0;
  let outboxSent = 0;
  const receipts = options.receipts === false ? null : new ReceiptBatcher(context);
  /** Sessions peers opened since the last prekey upkeep (each may have used a one-time prekey). */
  let newSessions = 0;
  /**
   * Messages kept at the relay in this receive, by id, per sender whose identity change waits. By id:
   * a watch gets a held message from its pages and again from the socket's push (and from every
   * reconnect's), and counting deliveries dropped real held mail once the count passed the cap.
   */
  const held = new Map<string, Set<number>>();
  const maxHeld = options.maxHeldPerSender ?? MAX_HELD_PER_SENDER;
  const markRead = options.markRead === true;
  /**
   * The relay's clock, asked once per receive: at the first time failure (whose clock is off) or the
   * first message with a timer (when it was accepted), whichever comes first.
   */
  const relayClock = new RelayClock(link.api.endpoint);
  /**
   * Hands one committed message to the application, then marks it shown. The mark waits for no fsync
   * (`relaxed`): it survives a killed process (it is in the WAL), and losing it to a power cut shows
   * the message once more, never zero times. Awaited before the next message is handed over, so a
   * kill leaves at most the last message handed over unmarked.
   */
  const take = async (message: IncomingMessage): Promise<void> => {
    await options.onMessage(message);
    await context.store.relaxed((tables) => tables.markShown(message.messageId, markRead));
  };
  const processOne = (message: RelayMessage) =>
    processEnvelope(context, link, message, {
      sink,
      clock: relayClock,
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
      let outcome = await pending;
      if (outcome.kind === "keep" && outcome.timeFailure !== undefined) {
        const failure = outcome.timeFailure;
        const clockSkewMs = await relayClock.measure();
        // An expired prekey with a clock that agrees with the relay's is not a clock problem: the
        // message really came too late; refused and acknowledged as before.
        if (
          failure.code !== "prekey_expired" ||
          (clockSkewMs !== null && clockSkewMs < -CLOCK_SKEW_TOLERANCE_MS)
        ) {
          options.onTimeFailure?.({ ...failure, clockSkewMs });
          continue;
        }
        const { messageId, from, code, message } = failure;
        // Prekey codes arise only in first contacts (the prekey named by a prekey message).
        outcome = { kind: "rejected", rejected: { messageId, from, code, message, firstContact: true } };
      }
      if (outcome.kind === "keep") {
        const waiting = outcome.identityChanged;
        if (waiting === undefined) continue;
        const ids = held.get(waiting) ?? new Set<number>();
        held.set(waiting, ids);
        if (ids.has(message.id) || ids.size < maxHeld) {
          ids.add(message.id);
          options.onIdentityChanged?.(waiting);
          continue;
        }
        outcome = {
          kind: "rejected",
          rejected: {
            messageId: String(message.id),
            from: message.from,
            code: "held_limit_reached",
            message: `more than ${maxHeld} messages from ${waiting} wait for their new identity to be trusted`,
            firstContact: outcome.firstContact === true,
          },
        };
      }
      // Kept before it is acknowledged; a store that cannot keep it fails the receive unacknowledged.
      const quarantined =
        outcome.kind === "rejected" &&
        !SPENT_COPY_CODES.has(outcome.rejected.code) &&
        (await quarantine(context, message, outcome.rejected));
      acknowledge.push(message.id);
      try {
        if (outcome.kind === "message") {
          received += 1;
          if (outcome.message.newSession) newSessions += 1;
          receipts?.add(outcome.message.sender, outcome.contentId, outcome.firstContact);
          await take(outcome.message);
        } else if (outcome.kind === "expired") {
          // Delivered, though never shown: the receipt lets the sender's session leave its first phase.
          expired += 1;
          receipts?.add(outcome.expired.from, outcome.contentId, outcome.firstContact);
          await options.onExpired?.(outcome.expired);
        } else if (outcome.kind === "receipt") {
          await options.onReceipt?.(outcome.receipt);
        } else if (outcome.kind === "blocked") {
          blocked += 1;
        } else if (outcome.kind === "rejected") {
          rejected += 1;
          await options.onRejected?.({ ...outcome.rejected, quarantined });
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
  await applyRetention(context);
  // Messages committed earlier and never taken (killed between the commit and the show) come first.
  received += await showUnshown(context, take);
  // Messages queued while the relay was down go first: the next command delivers them (and starts the
  // sessions of first messages accepted then).
  await sendIntentsQuietly(context, link);
  outboxSent += (await flushOutbox(context, link)).sent;
  const signal = options.signal ?? new AbortController().signal;
  // A watch listens on the channel BEFORE paging, so nothing committed in between is missed; what
  // it hears waits until the pages are done (order), and what came both ways is a skip the second time.
  let pagesDone!: () => void;
  const afterPages = new Promise<void>((resolve) => {
    pagesDone = resolve;
  });
  const stopWatch = new AbortController();
  /** Set when the relay said the account no longer exists: the watch ends with this error. */
  let accountGone: NanoError | null = null;
  const stop = () => stopWatch.abort();
  signal.addEventListener("abort", stop, { once: true });
  if (signal.aborted) stop();
  let lastUpkeep = Date.now();
  // One upkeep at a time: the relay verifies one upload per account at a time, and two would race
  // over the same stock.
  let upkeep: Promise<void> = Promise.resolve();
  const upkeepOnce = (options: { topUp?: boolean } = {}): Promise<void> => {
    lastUpkeep = Date.now();
    upkeep = upkeep.then(() => maintainPrekeysQuietly(context, link, options));
    return upkeep;
  };
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
            await upkeepOnce();
          }
        },
        onReady: async () => {
          await sendIntentsQuietly(context, link);
          // A connection just authenticated: the relay is reachable again (after a 1012 restart, an
          // outage), so every pending entry is due now rather than at its backoff. Reconnections are
          // themselves backed off (or jittered after a 1012), which bounds how often this runs.
          outboxSent += (await flushOutbox(context, link, USER_RETRY)).sent;
        },
        // The relay's `low_prekeys`: others are taking this account's one-time keys (first contacts,
        // or a drain the relay is slowing down); refill now rather than at the next timer.
        onLowPrekeys: () => upkeepOnce({ topUp: true }),
        onError: (error) => {
          // The relay ended the session for good (the account was erased or deleted): so does the watch.
          if (NanoError.is(error, "account_gone")) {
            accountGone ??= error;
            stop();
          }
        },
      })
    : null;
  // A watch deletes disappearing messages as their timers run out (a command does it when it opens
  // the store); stopped with the watch.
  const sweeping = options.watch ? sweepWhileWatching(context.store, stopWatch.signal) : null;
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
    stop();
    await sweeping;
    signal.removeEventListener("abort", stop);
    await Promise.allSettled([...acking]);
    // Also when the receive failed: the messages it committed are delivered and get their receipts.
    await receipts?.flush();
  }
  if (accountGone !== null) throw accountGone;
  // Prekey upkeep rides along: refill one-time keys, rotate the signed ones when due.
  await maintainPrekeysQuietly(context, link);
  return { received, rejected, expired, blocked, outboxSent };
}

/**
 * Keeps a message that could not be opened, envelope and all, durably before it is acknowledged
 * (issue 13, loss 4): after a lost or mismatched local.db is put right, `quarantine retry` opens it.
 */
async function quarantine(
  context: ClientContext,
  message: RelayMessage,
  rejected: RejectedMessage,
): Promise<boolean> {
  return context.home.quarantine.transaction((tables) => {
    if (tables.countQuarantine() >= MAX_QUARANTINED) return false;
    tables.quarantine({
      messageId: rejected.messageId,
      from: message.from,
      envelope: message.envelope,
      code: rejected.code,
      message: rejected.message,
      firstContact: rejected.firstContact,
      quarantinedAt: Date.now(),
    });
    return true;
  });
}

/** Hands over what a crash left committed and unshown, oldest first, page by page. */
async function showUnshown(
  context: ClientContext,
  take: (message: IncomingMessage) => Promise<void>,
): Promise<number> {
  let shown = 0;
  for (;;) {
    const page = await context.store.read((tables) => tables.listUnshown(100));
    if (page.length === 0) return shown;
    for (const stored of page) {
      await take(incomingFromStored(stored));
      shown += 1;
    }
  }
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

/** Intents are sent on the way; one that fails keeps its error code in the outbox listing. */
async function sendIntentsQuietly(context: ClientContext, link: RelayLink): Promise<void> {
  if ((await context.store.read((tables) => tables.countIntents())) === 0) return;
  try {
    await sendIntents(context, link);
  } catch (error) {
    if (!NanoError.is(error)) throw error;
  }
}

async function maintainPrekeysQuietly(
  context: ClientContext,
  link: RelayLink,
  options: { topUp?: boolean } = {},
): Promise<void> {
  try {
    await maintainPrekeys(context.provider, context.store, link, options);
  } catch (error) {
    if (!NanoError.is(error)) throw error;
  }
}
