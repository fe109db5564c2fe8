import { equalBytes, fromHex, toHex, utf8 } from "../../crypto/bytes.ts";
import { type SuiteId, type SuiteName, suiteIdByName } from "../../crypto/suite-ids.ts";
import { NanoError } from "../../errors/index.ts";
import { encodeAttachmentReference } from "../../protocol/attachment-reference.ts";
import {
  activeSessionSuite,
  assembleBundle,
  type Blocked,
  type Bundle,
  CONTENT_TYPES,
  chooseSuite,
  encodeContent,
  MAX_PADDED_CONTENT,
  MESSAGE_ID_BYTES,
  sendMessage,
  startSession,
  wipeConsumed,
} from "../../protocol/index.ts";
import { humanBytes } from "../../text/human-bytes.ts";
import { utf8LengthExceeds } from "../../text/utf8-length.ts";
import type { ClientContext } from "../context.ts";
import type { ContactRecord } from "../local-store/local-records.ts";
import type { LocalTables } from "../local-store/local-tables.ts";
import { LocalProtocolStores } from "../local-store/protocol-stores.ts";
import { LONG_TEXT_TYPE, type Progress, sendAttachment } from "../messaging/attachments.ts";
import { expirySeconds } from "../messaging/disappearing.ts";
import { newClientMessageId } from "../outbox/outbox.ts";
import { deliverCommitted, flushOutbox } from "../outbox/outbox-flush.ts";
import type { RelayLink } from "../transport/relay-link.ts";
import { checkPeerIdentity, fetchVerifiedAccount, identityChangedError } from "../trust/peer-identity.ts";
import { checkUsernameArgument } from "./claim-username.ts";
import { findPendingCopy, listPending, type PendingMessage } from "./pending.ts";
import { MAX_FILE_BYTES, MAX_TEXT_BYTES, TEXT_WITH_FILE } from "./send-limits.ts";

export { MAX_FILE_BYTES, MAX_TEXT_BYTES, TEXT_WITH_FILE };

/** Content framing around a text (type, message id, time, lengths), with room to spare. */
const INLINE_OVERHEAD = 64;

export interface SendRequest {
  readonly recipient: string;
  readonly text: string | null;
  readonly file: { readonly name: string; readonly bytes: Uint8Array } | null;
  /** Exactly this suite or an error; null means the negotiated choice (DESIGN.md "Modes"). */
  readonly cryptoMode: SuiteName | null;
  /** Upload progress of an attachment (file or long text), in ciphertext bytes. */
  readonly onProgress?: Progress;
  /**
   * When an earlier message to the same recipient with exactly this text is still in the outbox (a
   * killed or failed send), deliver that one instead of a second copy (`SendResult.earlierCopy`). The
   * CLI's default (a person retrying); off by default in the SDK, where sending a text twice is the
   * application's call.
   */
  readonly reusePending?: boolean;
  /**
   * Disappearing message: both sides delete it this long after it is sent (whole seconds, 1 s..365 d).
   * Absent: the conversation's timer (`setConversationExpiry`); null: none, whatever the conversation's.
   */
  readonly expireAfterMs?: number | null;
}

export interface SendResult {
  readonly clientMessageId: string;
  /** The message's own id inside the encrypted content (hex): delivery receipts name it. */
  readonly contentId: string;
  readonly recipient: string;
  /** Null while a message accepted with the relay unreachable waits for its session (`intent`). */
  readonly suite: SuiteName | null;
  /** False when the relay acknowledged at once; true when it waits in the outbox for a retry. */
  readonly queued: boolean;
  /**
   * Why it is queued: the error code of the attempt (`relay_unreachable` when the relay could not be
   * reached, else what the relay answered, e.g. `internal_error` for an HTTP 500); null when sent or
   * not attempted yet.
   */
  readonly queuedBecause: string | null;
  /** Size of the encrypted envelope: what the relay stores and forwards. */
  readonly envelopeBytes: number;
  /** True when this message started a new session (a prekey message). */
  readonly newSession: boolean;
  /** Set when the content went as an attachment (a file, or text above the envelope limit). */
  readonly attachment: { readonly size: number; readonly filename: string | null } | null;
  /** True when an earlier pending copy of this text was delivered instead (`reusePending`). */
  readonly earlierCopy: boolean;
  /** The message's timer in seconds (disappearing messages), null when it does not disappear. */
  readonly expireAfterSeconds: number | null;
}

/** A send's timer: its length and the local time its clock started (the user's send). */
interface Timer {
  readonly seconds: number;
  readonly startedAt: number;
}

export function checkSendRequest(request: SendRequest): void {
  checkUsernameArgument(request.recipient);
  if ((request.text === null || request.text === "") && request.file === null) {
    throw new NanoError(
      "invalid_argument",
      "nothing to send: give TEXT, pipe it on stdin, or pass --file PATH",
    );
  }
  if (request.text !== null && request.text !== "" && request.file !== null) {
    throw new NanoError("invalid_argument", TEXT_WITH_FILE);
  }
  if (request.text !== null && utf8LengthExceeds(request.text, MAX_TEXT_BYTES)) {
    throw new NanoError(
      "invalid_argument",
      `text is longer than ${humanBytes(MAX_TEXT_BYTES)}; send it with --file`,
    );
  }
  if (request.file !== null && request.file.bytes.length > MAX_FILE_BYTES) {
    throw new NanoError("invalid_argument", `file is larger than ${humanBytes(MAX_FILE_BYTES)}`);
  }
  if (request.expireAfterMs !== undefined && request.expireAfterMs !== null)
    expirySeconds(request.expireAfterMs);
}

/** The timer a send goes with: its own, else the conversation's (docs/client.md "Disappearing messages"). */
async function resolveTimer(
  context: ClientContext,
  request: SendRequest,
  now: number,
): Promise<Timer | null> {
  if (request.expireAfterMs === null) return null;
  if (request.expireAfterMs !== undefined)
    return { seconds: expirySeconds(request.expireAfterMs), startedAt: now };
  const settings = await context.store.read((tables) => tables.getConversation(request.recipient));
  const seconds = settings?.expireAfterSeconds ?? null;
  return seconds === null ? null : { seconds, startedAt: now };
}

/** The suite of the session a message to `peer` would go on now, or null when none is open. */
function activeSuite(tables: LocalTables, peer: string): number | null {
  const state = tables.getSessions(peer)[0]?.state;
  if (state === undefined) return null;
  return activeSessionSuite(state);
}

interface Prepared {
  readonly clientMessageId: string;
  readonly messageId: Uint8Array;
  readonly committed: { readonly suite: number; readonly envelope: Uint8Array };
  /** The peer's record, when the bundle just fetched proved it (no check needed on the next send). */
  readonly checkedRecord: Uint8Array | undefined;
  readonly newSession: boolean;
  readonly attachment: SendResult["attachment"];
}

/**
 * Everything of a send up to its durable commit: the bundle or the peer check, the attachment upload,
 * then session state and outbox entry in one transaction.
 */
async function encryptAndCommit(
  context: ClientContext,
  link: RelayLink,
  request: SendRequest,
  plan: {
    readonly peer: string;
    readonly contact: ContactRecord | null;
    readonly explicit: SuiteId | undefined;
    readonly current: number | null;
    readonly needsSession: boolean;
    readonly now: number;
    readonly timer: Timer | null;
    /** An intent being sent (sendIntents): its ids, and its row removed in the same commit. */
    readonly intent?: { readonly clientMessageId: string; readonly messageId: Uint8Array };
  },
): Promise<Prepared> {
  const { peer, contact, explicit, current, needsSession, now, intent, timer } = plan;
  const expiry = timer === null ? {} : { expireAfterSeconds: timer.seconds };
  let bundle: Bundle | null = null;
  if (needsSession) bundle = await fetchChosenBundle(context, link, peer, explicit, now);
  else if (contact !== null && !context.peerChecks.recent(peer, contact.identityRecord, now))
    await checkPeerIdentity(context, link, peer, contact.identityRecord, now);
  const messageId = intent?.messageId ?? context.provider.primitives.randomBytes(MESSAGE_ID_BYTES);
  let content: Uint8Array | null = null;
  let upload: { bytes: Uint8Array; contentType: string; filename?: string } | null = null;
  if (request.file !== null) {
    upload = {
      bytes: request.file.bytes,
      contentType: "application/octet-stream",
      filename: request.file.name,
    };
  } else {
    const text = request.text ?? "";
    // Above the largest padding bucket the text cannot be an envelope: it goes as an attachment.
    if (!utf8LengthExceeds(text, MAX_PADDED_CONTENT - INLINE_OVERHEAD)) {
      content = encodeContent({ type: CONTENT_TYPES.text, text, messageId, sentAt: now, ...expiry });
    } else {
      upload = { bytes: utf8(text), contentType: LONG_TEXT_TYPE };
    }
  }
  let attachment: SendResult["attachment"] = null;
  if (upload !== null) {
    const { bytes, ...meta } = upload;
    const reference = await sendAttachment(
      context.provider.primitives,
      link,
      peer,
      bytes,
      meta,
      request.onProgress,
    );
    content = encodeContent({
      type: CONTENT_TYPES.attachment,
      reference: encodeAttachmentReference(reference),
      messageId,
      sentAt: now,
      ...expiry,
    });
    attachment = { size: reference.size, filename: reference.filename ?? null };
  }
  const body = content!;
  const clientMessageId =
    intent?.clientMessageId ?? newClientMessageId(context.provider.primitives.randomBytes);
  // The decisions' writes commit with the outbox entry in ONE transaction; a changed identity commits
  // only its block, and the send fails after the commit (nothing written and then undone).
  const committed = await context.store.transaction(async (tables): Promise<Committed> => {
    // The intent becomes this outbox entry in one commit; gone already means cancelled meanwhile.
    if (intent !== undefined && !tables.removeIntent(intent.clientMessageId))
      throw new NanoError("invalid_argument", `the queued message ${intent.clientMessageId} was cancelled`);
    const stores = new LocalProtocolStores(tables, link.own, now, {
      records: context.records,
      provider: context.provider,
    });
    let suite = current;
    let checkedRecord: Uint8Array | undefined;
    if (bundle !== null) {
      const chosen = await chooseSuite(stores, bundle.record, explicit);
      if (chosen.kind === "blocked") return blockedBy(stores, chosen);
      if (chosen.kind === "refused") throw chosen.error;
      if (chosen.suite.id !== bundle.suite.id) {
        throw new NanoError(
          "suite_unavailable",
          `${peer}'s prekeys at this relay are for the ${bundle.suite.name} mode, but this message needs ${chosen.suite.name}`,
        );
      }
      const started = await startSession(
        stores.provider,
        stores,
        { bundle, selection: chosen.selection, peer },
        { now },
      );
      if (started.kind === "blocked") return blockedBy(stores, started);
      if (started.kind === "refused") throw started.error;
      await stores.apply(started.writes);
      suite = chosen.suite.id;
      // The bundle's record was just proven with key transparency: if it is the one now pinned, the
      // next send on this session needs no check of its own.
      const pinned = tables.getContact(peer)?.identityRecord;
      if (pinned !== undefined && equalBytes(pinned, bundle.record.encoded)) checkedRecord = pinned;
    }
    const sent = await sendMessage(stores.provider, stores, { peer, content: body }, { now });
    if (sent.kind === "blocked") return blockedBy(stores, sent);
    if (sent.kind === "refused") throw sent.error;
    await stores.apply(sent.writes);
    tables.insertOutbox({ clientMessageId, recipient: peer, envelope: sent.envelope, createdAt: now });
    // History (client.history, `nano-client history`): what was sent, sealed like everything else.
    tables.insertSent({
      clientMessageId,
      recipient: peer,
      contentType: request.file === null ? "text" : "attachment",
      body: utf8(request.file === null ? (request.text ?? "") : JSON.stringify(attachment)),
      sentAt: now,
      contentId: toHex(messageId),
      suite: context.provider.suite(suite!).id,
      ...(timer === null ? {} : { ...expiry, expiresAt: timer.startedAt + timer.seconds * 1000 }),
    });
    return { kind: "sent", suite: suite!, envelope: sent.envelope, checkedRecord, consumed: sent.consumed };
  });
  if (committed.kind === "blocked") throw identityChangedError(peer);
  wipeConsumed(committed);
  return {
    clientMessageId,
    messageId,
    committed,
    checkedRecord: committed.checkedRecord,
    newSession: bundle !== null,
    attachment,
  };
}

type Committed =
  | {
      readonly kind: "sent";
      readonly suite: number;
      readonly envelope: Uint8Array;
      readonly checkedRecord: Uint8Array | undefined;
      readonly consumed: readonly Uint8Array[];
    }
  | { readonly kind: "blocked" };

/** Commits a decision's block (a changed identity, docs/protocol.md §11.2); the send then fails. */
async function blockedBy(stores: LocalProtocolStores, blocked: Blocked): Promise<Committed> {
  await stores.apply(blocked.writes);
  return { kind: "blocked" };
}

/**
 * Send: pick or start the session, encrypt, and commit the advanced session state together with the
 * outbox entry in ONE transaction (so a crash can neither lose the message nor advance the ratchet
 * twice for it); then post it (outbox-dispatch.ts). A relay that is down leaves it queued.
 */
export async function send(
  context: ClientContext,
  request: SendRequest,
  now = Date.now(),
): Promise<SendResult> {
  checkSendRequest(request);
  const peer = request.recipient;
  if (request.reusePending === true && request.file === null && request.text !== null) {
    const earlier = await findPendingCopy(context, peer, request.text);
    if (earlier !== null) return deliverEarlierCopy(context, earlier);
  }
  const timer = await resolveTimer(context, request, now);
  const contact = await context.store.read((tables) => tables.getContact(peer));
  if (contact?.identityChanged) throw identityChangedError(peer);
  const link = await context.link();
  // Messages accepted while the relay was down go first; while one to this peer still waits, this one
  // waits behind it (order per recipient).
  if ((await context.store.read((tables) => tables.countIntents())) > 0) {
    await sendIntents(context, link);
    const waiting = (await context.store.read((tables) => tables.listIntents())).find(
      (intent) => intent.recipient === peer,
    );
    if (waiting !== undefined) return queueIntent(context, request, timer, now, waiting.lastError);
  }
  const sent = await sendNow(context, link, request, contact, timer, now);
  // Not committed because the relay could not be reached (a bundle, a check, an upload): the intent is.
  return sent ?? queueIntent(context, request, timer, now, "relay_unreachable");
}

/**
 * Starts or picks the session, encrypts, commits and delivers. Null when the relay could not be reached
 * BEFORE the commit (nothing was written); after the commit a relay that is down only leaves it queued.
 */
async function sendNow(
  context: ClientContext,
  link: RelayLink,
  request: SendRequest,
  contact: ContactRecord | null,
  timer: Timer | null,
  now: number,
  intent?: { readonly clientMessageId: string; readonly messageId: Uint8Array },
): Promise<SendResult | null> {
  const peer = request.recipient;
  const store = context.store;
  const explicit = request.cryptoMode === null ? undefined : suiteIdByName(request.cryptoMode);
  const wantsSession = (suite: number | null) =>
    suite === null || (explicit !== undefined && explicit !== suite);
  let current = await store.read((tables) => activeSuite(tables, peer));
  // One session start per peer at a time (SessionStarts): the others send on the session it opened.
  let releaseStart: (() => void) | null = null;
  if (wantsSession(current)) {
    releaseStart = await context.sessionStarts.acquire(peer);
    current = await store.read((tables) => activeSuite(tables, peer));
    if (!wantsSession(current)) {
      releaseStart();
      releaseStart = null;
    }
  }
  let prepared: Prepared;
  try {
    prepared = await encryptAndCommit(context, link, request, {
      peer,
      contact,
      explicit,
      current,
      needsSession: releaseStart !== null,
      now,
      timer,
      ...(intent === undefined ? {} : { intent }),
    });
  } catch (error) {
    if (NanoError.is(error, "relay_unreachable")) return null;
    throw error;
  } finally {
    releaseStart?.();
  }
  const { clientMessageId, messageId, committed, checkedRecord, attachment } = prepared;
  // In the step right after the commit, so concurrent sends are posted in their commit order.
  const delivery = deliverCommitted(context, link, {
    clientMessageId,
    recipient: peer,
    envelope: committed.envelope,
    createdAt: now,
    attempts: 0,
    nextAttemptAt: now,
    lastError: null,
  });
  if (checkedRecord !== undefined) context.peerChecks.remember(peer, checkedRecord, now);
  const attempt = await delivery;
  const queued = !attempt.acknowledged;
  return {
    clientMessageId,
    contentId: toHex(messageId),
    recipient: peer,
    suite: context.provider.suite(committed.suite).name,
    queued,
    queuedBecause: queued ? attempt.code : null,
    envelopeBytes: committed.envelope.length,
    newSession: prepared.newSession,
    attachment,
    earlierCopy: false,
    expireAfterSeconds: timer?.seconds ?? null,
  };
}

/**
 * Accepts a send the relay could not take yet (issue 13, loss 2): the plaintext (a file's bytes too)
 * sealed in the `intents` table, with its ids fixed now. Nothing is encrypted: a first message needs
 * the peer's prekey bundle, which only the relay has. `sendIntents` finishes it.
 */
async function queueIntent(
  context: ClientContext,
  request: SendRequest,
  timer: Timer | null,
  now: number,
  because: string | null,
): Promise<SendResult> {
  const clientMessageId = newClientMessageId(context.provider.primitives.randomBytes);
  const contentId = toHex(context.provider.primitives.randomBytes(MESSAGE_ID_BYTES));
  await context.store.transaction((tables) =>
    tables.insertIntent({
      clientMessageId,
      contentId,
      recipient: request.recipient,
      text: request.text,
      file: request.file,
      cryptoMode: request.cryptoMode,
      createdAt: now,
      ...(timer === null ? {} : { expireAfterSeconds: timer.seconds }),
    }),
  );
  return {
    clientMessageId,
    contentId,
    recipient: request.recipient,
    suite: null,
    queued: true,
    queuedBecause: because,
    envelopeBytes: 0,
    newSession: false,
    attachment:
      request.file === null ? null : { size: request.file.bytes.length, filename: request.file.name },
    earlierCopy: false,
    expireAfterSeconds: timer?.seconds ?? null,
  };
}

/**
 * Sends the intents, oldest first: each starts its session if needed, is encrypted and becomes an
 * outbox entry in one commit, and is delivered. Stops at the first that finds the relay unreachable;
 * one that fails otherwise (the peer is unknown, their identity changed) keeps its error code for
 * `nano-client outbox` and holds back the later ones to the same peer. Returns how many were sent.
 */
export async function sendIntents(context: ClientContext, link: RelayLink): Promise<number> {
  const intents = await context.store.read((tables) => tables.listIntents());
  const held = new Set<string>();
  let sent = 0;
  for (const intent of intents) {
    if (held.has(intent.recipient)) continue;
    const request: SendRequest = {
      recipient: intent.recipient,
      text: intent.text,
      file: intent.file,
      cryptoMode: intent.cryptoMode,
    };
    let code: string;
    try {
      const contact = await context.store.read((tables) => tables.getContact(intent.recipient));
      if (contact?.identityChanged) throw identityChangedError(intent.recipient);
      const ids = { clientMessageId: intent.clientMessageId, messageId: fromHex(intent.contentId) };
      // The timer's clock started when the user sent it, not now that the relay is back: the message
      // goes with what is left of it (the sweep removed an intent whose timer ran out).
      const now = Date.now();
      let timer: Timer | null = null;
      if (intent.expireAfterSeconds !== undefined) {
        const left = intent.createdAt + intent.expireAfterSeconds * 1000 - now;
        if (left <= 0) {
          await context.store.transaction((tables) => tables.removeIntent(intent.clientMessageId));
          continue;
        }
        timer = { seconds: Math.ceil(left / 1000), startedAt: now };
      }
      const result = await sendNow(context, link, request, contact, timer, now, ids);
      if (result !== null) {
        sent += 1;
        continue;
      }
      code = "relay_unreachable";
    } catch (error) {
      if (!NanoError.is(error)) throw error;
      code = error.code;
    }
    await context.store.transaction((tables) => tables.recordIntentFailure(intent.clientMessageId, code));
    if (code === "relay_unreachable") break;
    held.add(intent.recipient);
  }
  return sent;
}

/** Delivers the intents and the outbox (the earlier copy among them, in order) and reports on that copy. */
async function deliverEarlierCopy(context: ClientContext, earlier: PendingMessage): Promise<SendResult> {
  const link = await context.link();
  await sendIntents(context, link);
  const report = await flushOutbox(context, link);
  const still = (await listPending(context)).find((p) => p.clientMessageId === earlier.clientMessageId);
  return {
    clientMessageId: earlier.clientMessageId,
    // Found by its text, so it was an intent or had its history row: the content id is known.
    contentId: earlier.contentId!,
    recipient: earlier.recipient,
    suite: still?.suite ?? earlier.suite,
    queued: still !== undefined,
    queuedBecause: still === undefined ? null : (still.lastError ?? report.error),
    envelopeBytes: still?.envelopeBytes ?? earlier.envelopeBytes,
    newSession: false,
    attachment: null,
    earlierCopy: true,
    expireAfterSeconds: null,
  };
}

/**
 * The suite comes first (docs/api.md "Prekeys"): the peer's current record, the floor and the pin
 * decide it (chooseSuite), and only then is THAT suite's bundle fetched, so a fetch never consumes a
 * one-time key of a suite the session will not use.
 */
async function fetchChosenBundle(
  context: ClientContext,
  link: RelayLink,
  peer: string,
  explicit: SuiteId | undefined,
  now: number,
): Promise<Bundle> {
  // Decoded (every self-signature verified) and proven by key transparency, once.
  const record = await fetchVerifiedAccount(context, link, peer);
  const chosen = await context.store.transaction(async (tables) => {
    const stores = new LocalProtocolStores(tables, link.own, now, {
      records: context.records,
      provider: context.provider,
    });
    const outcome = await chooseSuite(stores, record, explicit);
    // A differing record blocks the contact: the block commits, then the send fails.
    if (outcome.kind === "blocked") await stores.apply(outcome.writes);
    return outcome;
  });
  if (chosen.kind === "blocked") throw identityChangedError(peer);
  if (chosen.kind === "refused") throw chosen.error;
  const fetched = await link.api.fetchBundle(peer, chosen.suite.id);
  // The record inside the bundle is compared byte for byte with the one just proven (no second
  // verification of its signatures); only the prekeys are verified here.
  const bundle = await assembleBundle(
    context.provider,
    fetched.bundle,
    fetched.oneTimePrekey === null ? [] : [fetched.oneTimePrekey],
    now,
    record,
  );
  // The bundle's own proof, for the record inside it: a bundle whose proof fails is never used.
  await context.transparency.verify(link.api, peer, bundle.record.encoded, fetched.transparency);
  return bundle;
}
