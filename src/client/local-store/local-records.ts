import { z } from "zod";
import { SUITE_IDS, type SuiteId } from "../../crypto/suite-ids.ts";
import { NanoError } from "../../errors/index.ts";
import { MAX_EXPIRE_SECONDS, MIN_EXPIRE_SECONDS } from "../../protocol/content.ts";
import { type Base64Codec, PORTABLE_BASE64 } from "../../text/base64.ts";

/**
 * The typed records the local store seals, and their plaintext encoding: JSON with bytes as base64,
 * validated by a zod schema on the way out. The encoding only ever exists inside a sealed row, so its
 * job is to be strict and versionable (`v`), not compact.
 */

/** What the client knows about a peer. The identity record bytes are the protocol's IR, kept opaque. */
export interface ContactRecord {
  readonly username: string;
  readonly identityRecord: Uint8Array;
  /** The suite this contact is pinned to; lowering it needs a signed IR update and consent. */
  readonly pinnedSuite: SuiteId;
  readonly verified: boolean;
  readonly safetyNumberConfirmedAt: number | null;
  /** Set when a new IR arrived for this user: blocks sending and receiving until re-verified. */
  readonly identityChanged: boolean;
  /**
   * The verified record that differs from `identityRecord` (the protocol's `Contact.changed`,
   * docs/protocol.md §11.2); absent in records written before the protocol kept it.
   */
  readonly changedIdentityRecord?: Uint8Array | undefined;
  readonly addedAt: number;
  readonly updatedAt: number;
}

export interface SessionRecord {
  readonly sessionId: Uint8Array;
  readonly peer: string;
  /** The protocol's serialized session state, opaque here. */
  readonly state: Uint8Array;
  readonly updatedAt: number;
  readonly archived: boolean;
  /**
   * The local state counter this row was written under (state-anchor.ts): a row newer than its
   * database's counter means a partly restored database. Absent in rows written before the counter.
   */
  readonly stateVersion?: number | undefined;
}

export interface PrekeySecretRecord {
  readonly id: Uint8Array;
  readonly suite: SuiteId;
  readonly role: string;
  readonly secret: Uint8Array;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly lastResort: boolean;
}

/** A message waiting for the relay's acknowledgement (see outbox.ts). */
export interface OutboxEntry {
  readonly clientMessageId: string;
  readonly recipient: string;
  /** The encrypted envelope: retried byte for byte, so the ratchet never advances twice for one send. */
  readonly envelope: Uint8Array;
  readonly createdAt: number;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  /** Error code of the last failed attempt; never a message (it could echo content). */
  readonly lastError: string | null;
}

export interface ReceivedMessage {
  /** The relay's id for the message: redelivery of the same id is stored once. */
  readonly messageId: string;
  readonly sender: string;
  readonly contentType: string;
  /** A text's UTF-8; an attachment's description as JSON (path, filename, size, content type). */
  readonly body: Uint8Array;
  readonly receivedAt: number;
  /**
   * What the application is handed again when the message was committed and not yet shown (a crash
   * between the commit and onMessage); absent in rows written before history was kept.
   */
  readonly suite?: SuiteId | undefined;
  readonly sentAt?: number | undefined;
  readonly contentId?: string | undefined;
  readonly envelopeBytes?: number | undefined;
  readonly newSession?: boolean | undefined;
  /** The sender's timer (disappearing messages) and the local time the row is deleted at. */
  readonly expireAfterSeconds?: number | undefined;
  readonly expiresAt?: number | undefined;
}

/**
 * A send accepted while the relay was unreachable and not yet encrypted (`intents` table): what the
 * user asked for, sealed, with the ids fixed at once so a retry and `outbox cancel` can name it.
 */
export interface IntentRecord {
  readonly clientMessageId: string;
  /** The id inside the encrypted content (hex), fixed now: `SendResult.contentId`. */
  readonly contentId: string;
  readonly recipient: string;
  readonly text: string | null;
  readonly file: { readonly name: string; readonly bytes: Uint8Array } | null;
  readonly cryptoMode: "classical" | "hybrid" | "quantum" | null;
  readonly createdAt: number;
  /** The timer the message goes with; its clock started at \`createdAt\` (when the user sent it). */
  readonly expireAfterSeconds?: number | undefined;
}

/** An intent with its retry bookkeeping (clear columns). */
export interface PendingIntent extends IntentRecord {
  readonly attempts: number;
  readonly lastError: string | null;
}

/** A message that could not be opened, kept with its envelope (`quarantine` table). */
export interface QuarantinedMessage {
  /** The relay's id (as a string). */
  readonly messageId: string;
  /** The relay-authenticated sender. */
  readonly from: string;
  readonly envelope: Uint8Array;
  /** Why it could not be opened (an error code) and the message of that error. */
  readonly code: string;
  readonly message: string;
  readonly firstContact: boolean;
  readonly quarantinedAt: number;
}

/** A message this client sent, kept for history (`sent` table) under the local retention setting. */
export interface SentMessage {
  readonly clientMessageId: string;
  readonly recipient: string;
  readonly contentType: "text" | "attachment";
  /** A text's UTF-8; an attachment's `{filename, size}` as JSON. */
  readonly body: Uint8Array;
  readonly sentAt: number;
  readonly contentId: string;
  readonly suite: SuiteId;
  /** The timer it went with, and the local time this row is deleted at (sentAt + timer). */
  readonly expireAfterSeconds?: number | undefined;
  readonly expiresAt?: number | undefined;
}

/** A conversation's settings (\`conversation_settings\` table): the timer new sends to the peer get. */
export interface ConversationSettings {
  readonly peer: string;
  /** Null: messages to this peer do not disappear unless a send asks for it. */
  readonly expireAfterSeconds: number | null;
  readonly updatedAt: number;
}

const suiteId = z.union([
  z.literal(SUITE_IDS.classical),
  z.literal(SUITE_IDS.hybrid),
  z.literal(SUITE_IDS.quantum),
]);
const time = z.number().int().nonnegative();
const timer = z.number().int().min(MIN_EXPIRE_SECONDS).max(MAX_EXPIRE_SECONDS);

/** The schemas, with byte fields decoded by `codec` (the runtime's fastest base64). */
function recordSchemas(codec: Base64Codec) {
  const base64 = z.base64().transform((text) => codec.decode(text));
  return {
    contact: z.strictObject({
      v: z.literal(1),
      username: z.string().min(1),
      identityRecord: base64,
      pinnedSuite: suiteId,
      verified: z.boolean(),
      safetyNumberConfirmedAt: time.nullable(),
      identityChanged: z.boolean(),
      changedIdentityRecord: base64.optional(),
      addedAt: time,
      updatedAt: time,
    }),
    session: z.strictObject({
      v: z.literal(1),
      sessionId: base64,
      peer: z.string().min(1),
      state: base64,
      updatedAt: time,
      archived: z.boolean(),
      stateVersion: time.optional(),
    }),
    prekey: z.strictObject({
      v: z.literal(1),
      id: base64,
      suite: suiteId,
      role: z.string(),
      secret: base64,
      createdAt: time,
      expiresAt: time,
      lastResort: z.boolean(),
    }),
    outbox: z.strictObject({
      v: z.literal(1),
      recipient: z.string().min(1),
      envelope: base64,
      createdAt: time,
    }),
    received: z.strictObject({
      v: z.literal(1),
      messageId: z.string().min(1),
      sender: z.string().min(1),
      contentType: z.string(),
      body: base64,
      // The body is sealed in the row's own column (the SQLite store's long bodies); `body` is empty.
      bodyApart: z.literal(true).optional(),
      receivedAt: time,
      suite: suiteId.optional(),
      sentAt: time.optional(),
      contentId: z
        .string()
        .regex(/^[0-9a-f]+$/)
        .optional(),
      envelopeBytes: time.optional(),
      newSession: z.boolean().optional(),
      expireAfterSeconds: timer.optional(),
      expiresAt: time.optional(),
    }),
    quarantined: z.strictObject({
      v: z.literal(1),
      messageId: z.string().min(1),
      from: z.string().min(1),
      envelope: base64,
      code: z.string(),
      message: z.string(),
      firstContact: z.boolean(),
      quarantinedAt: time,
    }),
    intent: z.strictObject({
      v: z.literal(1),
      clientMessageId: z.string().min(1),
      contentId: z.string().regex(/^[0-9a-f]+$/),
      recipient: z.string().min(1),
      text: z.string().nullable(),
      file: z.strictObject({ name: z.string(), bytes: base64 }).nullable(),
      cryptoMode: z.enum(["classical", "hybrid", "quantum"]).nullable(),
      createdAt: time,
      expireAfterSeconds: timer.optional(),
    }),
    sent: z.strictObject({
      v: z.literal(1),
      clientMessageId: z.string().min(1),
      recipient: z.string().min(1),
      contentType: z.enum(["text", "attachment"]),
      body: base64,
      bodyApart: z.literal(true).optional(),
      sentAt: time,
      contentId: z.string().regex(/^[0-9a-f]+$/),
      suite: suiteId,
      expireAfterSeconds: timer.optional(),
      expiresAt: time.optional(),
    }),
    conversation: z.strictObject({
      v: z.literal(1),
      peer: z.string().min(1),
      expireAfterSeconds: timer.nullable(),
      updatedAt: time,
    }),
  } as const;
}

type RecordSchemas = ReturnType<typeof recordSchemas>;
export type RecordKind = keyof RecordSchemas;
type Decoded<K extends RecordKind> = z.output<RecordSchemas[K]>;
export type DecodedRecord<K extends RecordKind> = Omit<Decoded<K>, "v">;

/** Encoding and decoding of sealed records, over one base64 implementation. */
export interface RecordCodec {
  encodeRecord(kind: RecordKind, record: object): Uint8Array;
  /** Only reached after the AEAD opened the row, so a failure means a bug or a foreign writer. */
  decodeRecord<K extends RecordKind>(kind: K, bytes: Uint8Array): DecodedRecord<K>;
}

/** JSON form of a record; with `probe`, byte fields become "" (the form the schema check sees). */
function toJson(value: unknown, probe: boolean, codec: Base64Codec): unknown {
  if (value instanceof Uint8Array) return probe ? "" : codec.encode(value);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, toJson(inner, probe, codec)]),
    );
  }
  return value;
}

function encodeWith(
  schemas: RecordSchemas,
  codec: Base64Codec,
  kind: RecordKind,
  record: object,
): Uint8Array {
  // Refuse to seal what could not be read back. The check sees byte fields as "": base64 written by
  // toBase64 is valid by construction, and re-validating (and decoding) a 1 MiB message body's base64
  // cost more than sealing it. A string where bytes belong is still checked as base64.
  schemas[kind].parse({ v: 1, ...(toJson(record, true, codec) as object) });
  return jsonBytes({ v: 1, ...record }, codec);
}

/**
 * `utf8(JSON.stringify(toJson(record)))`, byte for byte, for the flat records above, written field by
 * field into one buffer: JSON.stringify would scan a megabyte of base64 for characters to escape,
 * and base64 has none. Other values go through JSON.stringify as before; undefined fields are left
 * out as JSON.stringify leaves them out.
 */
function jsonBytes(record: object, codec: Base64Codec): Uint8Array {
  const texts: string[] = [];
  let separator = "{";
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    texts.push(`${separator}${JSON.stringify(key)}:`);
    separator = ",";
    if (value instanceof Uint8Array) texts.push('"', codec.encode(value), '"');
    else texts.push(JSON.stringify(toJson(value, false, codec)));
  }
  texts.push(separator === "{" ? "{}" : "}");
  // One TextEncoder pass over the joined text: no runtime-specific buffer (this file is bundled for
  // the page too), and the output is a fresh array, so no shared pool keeps the plaintext record.
  return new TextEncoder().encode(texts.join(""));
}

function decodeWith<K extends RecordKind>(
  schemas: RecordSchemas,
  kind: K,
  bytes: Uint8Array,
): DecodedRecord<K> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new NanoError("local_record_tampered", `a ${kind} record is not valid JSON`, { cause });
  }
  const result = schemas[kind].safeParse(json);
  if (!result.success) {
    throw new NanoError("local_record_tampered", `a ${kind} record does not match its schema`);
  }
  const { v: _version, ...record } = result.data;
  return record as unknown as DecodedRecord<K>;
}

/** The record codec over `codec`: every codec writes the same bytes for the same record. */
export function recordCodec(codec: Base64Codec): RecordCodec {
  const schemas = recordSchemas(codec);
  return Object.freeze({
    encodeRecord: (kind: RecordKind, record: object) => encodeWith(schemas, codec, kind, record),
    decodeRecord: <K extends RecordKind>(kind: K, bytes: Uint8Array) => decodeWith(schemas, kind, bytes),
  });
}

/**
 * The portable codec (text/base64.ts): the browser store's, and any caller's that has no faster
 * base64. The SQLite store uses Node's (node-record-codec.ts).
 */
const PORTABLE_RECORDS: RecordCodec = recordCodec(PORTABLE_BASE64);
export const encodeRecord: RecordCodec["encodeRecord"] = PORTABLE_RECORDS.encodeRecord;
export const decodeRecord: RecordCodec["decodeRecord"] = PORTABLE_RECORDS.decodeRecord;
