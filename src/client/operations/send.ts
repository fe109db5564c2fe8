import { randomBytes } from "node:crypto";
import { getSuite, getSuiteByName, type SuiteId, type SuiteName, toHex, utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { encodeAttachmentReference } from "../../protocol/attachment.ts";
import { assembleBundle } from "../../protocol/bundle.ts";
import {
  activeSessionSuite,
  CONTENT_TYPES,
  chooseSuite,
  decodeBundleExact,
  decodeIdentityRecordExact,
  encodeContent,
  MAX_PADDED_CONTENT,
  MESSAGE_ID_BYTES,
  sendMessage,
  startSession,
} from "../../protocol/index.ts";
import type { UnlockedHome } from "../home/unlocked-home.ts";
import type { ContactRecord, LocalTables } from "../local-store/local-store.ts";
import { LocalProtocolStores } from "../local-store/protocol-stores.ts";
import {
  LONG_TEXT_TYPE,
  MAX_ATTACHMENT_BYTES,
  type Progress,
  sendAttachment,
} from "../messaging/attachments.ts";
import { newClientMessageId } from "../outbox/outbox.ts";
import { deliverCommitted } from "../outbox/outbox-flush.ts";
import { openRelayLink, type RelayLink } from "../transport/relay-link.ts";
import { verifyTransparency } from "../trust/kt-client.ts";
import { checkUsername } from "./claim-username.ts";

/** Attachments (and long texts, which travel as attachments) are read into memory whole in v1. */
export const MAX_FILE_BYTES = MAX_ATTACHMENT_BYTES;
export const MAX_TEXT_BYTES = MAX_ATTACHMENT_BYTES;
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
}

export interface SendResult {
  readonly clientMessageId: string;
  /** The message's own id inside the encrypted content (hex): delivery receipts name it. */
  readonly contentId: string;
  readonly recipient: string;
  readonly suite: SuiteName;
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
}

export function checkSendRequest(request: SendRequest): void {
  checkUsername(request.recipient);
  if ((request.text === null || request.text === "") && request.file === null) {
    throw new NanoError(
      "invalid_argument",
      "nothing to send: give TEXT, pipe it on stdin, or pass --file PATH",
    );
  }
  if (request.text !== null && Buffer.byteLength(request.text) > MAX_TEXT_BYTES) {
    throw new NanoError(
      "invalid_argument",
      `text is longer than ${MAX_TEXT_BYTES} bytes; send it with --file`,
    );
  }
  if (request.file !== null && request.file.bytes.length > MAX_FILE_BYTES) {
    throw new NanoError("invalid_argument", `file is larger than ${MAX_FILE_BYTES} bytes`);
  }
}

/** The suite of the session a message to `peer` would go on now, or null when none is open. */
function activeSuite(tables: LocalTables, peer: string): number | null {
  const state = tables.getSessions(peer)[0]?.state;
  if (state === undefined) return null;
  return activeSessionSuite(state);
}

function identityChangedError(peer: string): NanoError {
  return new NanoError(
    "contact_identity_changed",
    `${peer}'s identity changed; nothing is sent until you verify or trust it`,
  );
}

/** Records that a contact's identity changed; it blocks sending and receiving until trusted. */
export async function markIdentityChanged(
  home: UnlockedHome,
  peer: string,
  now: number,
  changedRecord?: Uint8Array,
): Promise<void> {
  await home.store.transaction((tables) => {
    const contact = tables.getContact(peer);
    if (contact === null) return;
    if (
      contact.identityChanged &&
      (changedRecord === undefined || contact.changedIdentityRecord !== undefined)
    )
      return;
    // The verification was of the old identity; it says nothing about the new one.
    tables.putContact({
      ...contact,
      identityChanged: true,
      ...(changedRecord === undefined ? {} : { changedIdentityRecord: changedRecord }),
      verified: false,
      safetyNumberConfirmedAt: null,
      updatedAt: now,
    });
  });
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
  home: UnlockedHome,
  link: RelayLink,
  request: SendRequest,
  context: {
    readonly peer: string;
    readonly contact: ContactRecord | null;
    readonly explicit: SuiteId | undefined;
    readonly current: number | null;
    readonly needsSession: boolean;
    readonly now: number;
  },
): Promise<Prepared> {
  const { peer, contact, explicit, current, needsSession, now } = context;
  let bundleBytes: Uint8Array | null = null;
  if (needsSession) bundleBytes = await fetchChosenBundle(home, link, peer, explicit, now);
  else if (contact !== null && !recentlyChecked(home, peer, contact.identityRecord, now))
    await checkPeerIdentity(home, link, peer, contact.identityRecord, now);
  const messageId = new Uint8Array(randomBytes(MESSAGE_ID_BYTES));
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
    if (Buffer.byteLength(text) + INLINE_OVERHEAD <= MAX_PADDED_CONTENT) {
      content = encodeContent({ type: CONTENT_TYPES.text, text, messageId, sentAt: now });
    } else {
      upload = { bytes: utf8(text), contentType: LONG_TEXT_TYPE };
    }
  }
  let attachment: SendResult["attachment"] = null;
  if (upload !== null) {
    const { bytes, ...meta } = upload;
    const reference = await sendAttachment(link, peer, bytes, meta, request.onProgress);
    content = encodeContent({
      type: CONTENT_TYPES.attachment,
      reference: encodeAttachmentReference(reference),
      messageId,
      sentAt: now,
    });
    attachment = { size: reference.size, filename: reference.filename ?? null };
  }
  const body = content!;
  const clientMessageId = newClientMessageId();
  let committed: { suite: number; envelope: Uint8Array };
  let blocked: Uint8Array | undefined;
  let checkedRecord: Uint8Array | undefined;
  try {
    committed = await home.store.transaction(async (tables) => {
      const stores = new LocalProtocolStores(tables, link.own, now, (_, changed) => {
        blocked = changed.encoded;
      });
      let suite = current;
      if (bundleBytes !== null) {
        const bundle = decodeBundleExact(bundleBytes, now);
        const chosen = await chooseSuite(stores, bundle.record, explicit);
        if (chosen.suite.id !== bundle.suite.id) {
          throw new NanoError(
            "suite_unavailable",
            `${peer}'s prekeys at this relay are for the ${bundle.suite.name} mode, but this message needs ${chosen.suite.name}`,
          );
        }
        await startSession(stores, bundleBytes, chosen.selection, { now, peer });
        suite = chosen.suite.id;
        // The bundle's record was just verified with its key-transparency proof: if it is the one now
        // pinned, the next send on this session needs no check of its own.
        const pinned = tables.getContact(peer)?.identityRecord;
        if (pinned !== undefined && equalBytes(pinned, bundle.record.encoded)) checkedRecord = pinned;
      }
      const envelope = await sendMessage(stores, peer, body, { now });
      tables.insertOutbox({ clientMessageId, recipient: peer, envelope, createdAt: now });
      return { suite: suite!, envelope };
    });
  } catch (error) {
    if (NanoError.is(error, "identity_changed")) {
      await markIdentityChanged(home, peer, now, blocked);
      throw identityChangedError(peer);
    }
    throw error;
  }
  return {
    clientMessageId,
    messageId,
    committed,
    checkedRecord,
    newSession: bundleBytes !== null,
    attachment,
  };
}

/**
 * Send: pick or start the session, encrypt, and commit the advanced session state together with the
 * outbox entry in ONE transaction (so a crash can neither lose the message nor advance the ratchet
 * twice for it); then post it (outbox-dispatch.ts). A relay that is down leaves it queued.
 */
export async function send(home: UnlockedHome, request: SendRequest, now = Date.now()): Promise<SendResult> {
  checkSendRequest(request);
  const peer = request.recipient;
  const contact = await home.store.getContact(peer);
  if (contact?.identityChanged) throw identityChangedError(peer);
  const link = await openRelayLink(home);
  const explicit = request.cryptoMode === null ? undefined : getSuiteByName(request.cryptoMode).id;
  const wantsSession = (suite: number | null) =>
    suite === null || (explicit !== undefined && explicit !== suite);
  let current = await home.store.read((tables) => activeSuite(tables, peer));
  // One session start per peer at a time: concurrent first sends to a new contact would otherwise each
  // fetch a bundle (using up a one-time prekey each) and each start a session, every one replacing the
  // one before. The others wait for the first to commit, then send on the session it opened.
  let releaseStart: (() => void) | null = null;
  if (wantsSession(current)) {
    releaseStart = await acquireSessionStart(home, peer);
    current = await home.store.read((tables) => activeSuite(tables, peer));
    if (!wantsSession(current)) {
      releaseStart();
      releaseStart = null;
    }
  }
  let prepared: Prepared;
  try {
    prepared = await encryptAndCommit(home, link, request, {
      peer,
      contact,
      explicit,
      current,
      needsSession: releaseStart !== null,
      now,
    });
  } finally {
    releaseStart?.();
  }
  const { clientMessageId, messageId, committed, checkedRecord, attachment } = prepared;
  // In the step right after the commit, so concurrent sends are posted in their commit order.
  const delivery = deliverCommitted(home, link, {
    clientMessageId,
    recipient: peer,
    envelope: committed.envelope,
    createdAt: now,
    attempts: 0,
    nextAttemptAt: now,
    lastError: null,
  });
  if (checkedRecord !== undefined) rememberChecked(home, peer, checkedRecord, now);
  const attempt = await delivery;
  const queued = !attempt.acknowledged;
  return {
    clientMessageId,
    contentId: toHex(messageId),
    recipient: peer,
    suite: getSuite(committed.suite).name,
    queued,
    queuedBecause: queued ? attempt.code : null,
    envelopeBytes: committed.envelope.length,
    newSession: prepared.newSession,
    attachment,
  };
}

/** Per open home (memory only): peer -> the chain of sends starting a session with that peer. */
const sessionStarts = new WeakMap<UnlockedHome, Map<string, Promise<void>>>();

/** Waits until no other send of this home is starting a session with `peer`; returns the release. */
async function acquireSessionStart(home: UnlockedHome, peer: string): Promise<() => void> {
  let starts = sessionStarts.get(home);
  if (starts === undefined) {
    starts = new Map();
    sessionStarts.set(home, starts);
  }
  const previous = starts.get(peer) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const chain = previous.then(() => mine);
  starts.set(peer, chain);
  await previous;
  return () => {
    release();
    if (starts.get(peer) === chain) starts.delete(peer);
  };
}

/**
 * How long an open client trusts its last check of a peer's record (the relay's current record equal
 * to the pinned one, with a valid key-transparency proof) before asking the relay again on a send.
 * Without it every send on an open session cost one request and one record verification; with it a
 * peer's identity replacement blocks this client's sends at most this long after it happened (its
 * messages are refused at once on receive, and the peer's client rejects stale-session messages).
 */
export const PEER_RECHECK_MS = 5 * 60_000;

/** Per open home (memory only): peer -> the pinned record last checked at the relay, and when. */
const checkedPeers = new WeakMap<UnlockedHome, Map<string, { record: Uint8Array; at: number }>>();

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function recentlyChecked(home: UnlockedHome, peer: string, pinned: Uint8Array, now: number): boolean {
  const entry = checkedPeers.get(home)?.get(peer);
  // A different pinned record (trusted, replaced) was never checked: ask the relay.
  return (
    entry !== undefined &&
    now - entry.at < PEER_RECHECK_MS &&
    now >= entry.at &&
    equalBytes(entry.record, pinned)
  );
}

function rememberChecked(home: UnlockedHome, peer: string, record: Uint8Array, now: number): void {
  let peers = checkedPeers.get(home);
  if (peers === undefined) {
    peers = new Map();
    checkedPeers.set(home, peers);
  }
  peers.set(peer, { record: Uint8Array.from(record), at: now });
}

/**
 * On an open session the peer's record is not otherwise seen again: ask the relay for it, so a peer
 * who replaced their identity blocks sending at once rather than after the messages failed to open.
 * Offline, the check is skipped (the message is queued; the peer's client refuses it if stale).
 */
async function checkPeerIdentity(
  home: UnlockedHome,
  link: RelayLink,
  peer: string,
  pinned: Uint8Array,
  now: number,
): Promise<void> {
  let account: { identityRecord: Uint8Array; transparency: unknown };
  try {
    account = await link.api.account(peer);
  } catch (error) {
    if (NanoError.is(error, "relay_unreachable")) return;
    throw error;
  }
  const current = account.identityRecord;
  const record = decodeIdentityRecordExact(current); // verifies every self-signature
  if (record.username !== peer)
    throw new NanoError("certificate_mismatch", `the relay returned ${record.username}'s record`);
  await verifyTransparency(home.store, link.api, peer, current, account.transparency);
  if (Buffer.from(current).equals(Buffer.from(pinned))) {
    rememberChecked(home, peer, pinned, now);
    return;
  }
  checkedPeers.get(home)?.delete(peer);
  await markIdentityChanged(home, peer, now, record.encoded);
  throw identityChangedError(peer);
}

/**
 * The suite comes first (docs/api.md "Prekeys"): the peer's current record, the floor and the pin
 * decide it (chooseSuite), and only then is THAT suite's bundle fetched, so a fetch never consumes a
 * one-time key of a suite the session will not use.
 */
async function fetchChosenBundle(
  home: UnlockedHome,
  link: RelayLink,
  peer: string,
  explicit: SuiteId | undefined,
  now: number,
): Promise<Uint8Array> {
  const account = await link.api.account(peer);
  const record = decodeIdentityRecordExact(account.identityRecord); // verifies every self-signature
  if (record.username !== peer)
    throw new NanoError("certificate_mismatch", `the relay returned ${record.username}'s record`);
  await verifyTransparency(home.store, link.api, peer, account.identityRecord, account.transparency);
  let suite: number;
  try {
    // A differing record is verified here and blocks the contact (markIdentityChanged below).
    suite = await home.store.transaction(
      async (tables) =>
        (await chooseSuite(new LocalProtocolStores(tables, link.own, now), record, explicit)).suite.id,
    );
  } catch (error) {
    if (NanoError.is(error, "identity_changed")) {
      await markIdentityChanged(home, peer, now, account.identityRecord);
      throw identityChangedError(peer);
    }
    throw error;
  }
  const fetched = await link.api.fetchBundle(peer, suite);
  const assembled = assembleBundle(
    fetched.bundle,
    fetched.oneTimePrekey === null ? [] : [fetched.oneTimePrekey],
    now,
  );
  // The bundle's own proof, for the record inside it: a bundle whose proof fails is never used.
  const bundleRecord = decodeBundleExact(assembled, now).record;
  await verifyTransparency(home.store, link.api, peer, bundleRecord.encoded, fetched.transparency);
  return assembled;
}
