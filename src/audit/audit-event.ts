/**
 * The audit log's leaf: one security event, version 1, byte layout (big-endian, vecN = N-bit length
 * then bytes):
 *
 *   u8    0x01                 encoding version
 *   u64   time                 milliseconds since the Unix epoch
 *   vec8  type                 printable ASCII, e.g. "account_claimed" (AUDIT_EVENT_TYPES)
 *   vec8  outcome              "success" | "failure" | "blocked"
 *   vec8  correlation id       printable ASCII, at most 64 (the HTTP request id; empty if none)
 *   vec8  actor                empty, or a 16-byte pseudonym (keyed hash of the account, per relay)
 *   u8    n                    number of personal-data commitments (at most 8)
 *   n x { vec8 field (ASCII), 32-byte SHA-256(salt || data) }   fields in ascending byte order
 *   vec16 details              canonical JSON object of non-personal facts, or empty
 *
 * Personal data (usernames, addresses) never appears in clear: only salted commitments, with salt and
 * data in a deletable side table (salted-commitment.ts), so an erasure leaves the log verifiable. The
 * actor is a pseudonym so that events of one account can be linked by the operator (who holds the key)
 * without the log itself naming anyone. Details are canonical JSON (keys sorted, no whitespace, values
 * strings, integers or booleans) so that one event has exactly one encoding.
 */
import { asciiField, LeafReader, LeafWriter, leafMalformed, readAscii } from "./_leaf-codec.ts";

export const AUDIT_EVENT_VERSION = 1;

export const AUDIT_EVENT_TYPES = Object.freeze([
  "account_claimed",
  "identity_updated",
  "login",
  "auth_failed",
  "prekeys_uploaded",
  "rate_limited",
  "config_loaded",
  "admin_action",
  "migration",
  "relay_started",
  "relay_stopped",
  "account_deleted",
] as const);
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export const AUDIT_OUTCOMES = Object.freeze(["success", "failure", "blocked"] as const);
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const PSEUDONYM_BYTES = 16;
const COMMITMENT_BYTES = 32;
const MAX_COMMITMENTS = 8;
const MAX_CORRELATION = 64;

export type DetailValue = string | number | boolean;

export interface AuditEventLeaf {
  readonly time: number;
  readonly type: AuditEventType;
  readonly outcome: AuditOutcome;
  readonly correlationId: string;
  /** 16-byte pseudonym, or undefined for events without an account (start, stop, config). */
  readonly actor: Uint8Array | undefined;
  /** Field name -> SHA-256(salt || data). */
  readonly commitments: Readonly<Record<string, Uint8Array>>;
  readonly details: Readonly<Record<string, DetailValue>>;
}

/** Canonical JSON of a flat object: sorted keys, no whitespace, strings / safe integers / booleans. */
export function canonicalDetails(details: Readonly<Record<string, DetailValue>>): string {
  const keys = Object.keys(details).sort();
  if (keys.length === 0) return "";
  const parts = keys.map((key) => {
    const value = details[key]!;
    if (typeof value === "number" && !Number.isSafeInteger(value))
      throw new RangeError(`detail ${key} must be an integer`);
    return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  });
  return `{${parts.join(",")}}`;
}

function sortedFields(commitments: Readonly<Record<string, Uint8Array>>): string[] {
  // Byte order of ASCII names equals UTF-16 code unit order, which is what sort() compares.
  return Object.keys(commitments).sort();
}

export function encodeAuditEvent(event: AuditEventLeaf): Uint8Array {
  if (!AUDIT_EVENT_TYPES.includes(event.type)) throw new RangeError(`unknown audit event type ${event.type}`);
  if (!AUDIT_OUTCOMES.includes(event.outcome)) throw new RangeError(`unknown outcome ${event.outcome}`);
  if (event.actor !== undefined && event.actor.length !== PSEUDONYM_BYTES)
    throw new RangeError(`the actor pseudonym must be ${PSEUDONYM_BYTES} bytes`);
  const fields = sortedFields(event.commitments);
  if (fields.length > MAX_COMMITMENTS) throw new RangeError("too many personal-data commitments");
  const writer = new LeafWriter()
    .u8(AUDIT_EVENT_VERSION)
    .u64(event.time)
    .vec8(asciiField(event.type, "type", 64))
    .vec8(asciiField(event.outcome, "outcome", 16))
    .vec8(asciiField(event.correlationId, "correlation id", MAX_CORRELATION))
    .vec8(event.actor ?? new Uint8Array(0))
    .u8(fields.length);
  for (const field of fields) {
    const commitment = event.commitments[field]!;
    if (commitment.length !== COMMITMENT_BYTES) throw new RangeError("a commitment must be 32 bytes");
    writer.vec8(asciiField(field, "field name", 32)).fixed(commitment);
  }
  return writer.vec16(new TextEncoder().encode(canonicalDetails(event.details))).finish();
}

export function decodeAuditEvent(bytes: Uint8Array): AuditEventLeaf {
  const reader = new LeafReader(bytes);
  const version = reader.u8("version");
  if (version !== AUDIT_EVENT_VERSION) throw leafMalformed(`unknown audit event version ${version}`);
  const time = reader.u64("time");
  const type = readAscii(reader.vec8("type"), "type");
  if (!(AUDIT_EVENT_TYPES as readonly string[]).includes(type))
    throw leafMalformed(`unknown audit event type ${JSON.stringify(type)}`);
  const outcome = readAscii(reader.vec8("outcome"), "outcome");
  if (!(AUDIT_OUTCOMES as readonly string[]).includes(outcome))
    throw leafMalformed(`unknown outcome ${JSON.stringify(outcome)}`);
  const correlationId = readAscii(reader.vec8("correlation id"), "correlation id");
  if (correlationId.length > MAX_CORRELATION) throw leafMalformed("correlation id too long");
  const actorBytes = reader.vec8("actor");
  if (actorBytes.length !== 0 && actorBytes.length !== PSEUDONYM_BYTES)
    throw leafMalformed("actor pseudonym has the wrong length");
  const count = reader.u8("commitment count");
  if (count > MAX_COMMITMENTS) throw leafMalformed("too many commitments");
  const commitments: Record<string, Uint8Array> = {};
  let previous = "";
  for (let i = 0; i < count; i++) {
    const field = readAscii(reader.vec8("field name"), "field name");
    if (field.length === 0 || (i > 0 && field <= previous))
      throw leafMalformed("commitment fields must be non-empty and strictly ascending");
    previous = field;
    commitments[field] = reader.fixed(COMMITMENT_BYTES, "commitment");
  }
  const detailBytes = reader.vec16("details");
  let detailText: string;
  try {
    detailText = new TextDecoder("utf-8", { fatal: true }).decode(detailBytes);
  } catch {
    throw leafMalformed("details are not UTF-8");
  }
  reader.end();
  let details: Record<string, DetailValue> = {};
  if (detailText.length > 0) {
    try {
      details = JSON.parse(detailText) as Record<string, DetailValue>;
    } catch {
      throw leafMalformed("details are not JSON");
    }
    if (typeof details !== "object" || details === null || Array.isArray(details))
      throw leafMalformed("details are not a JSON object");
    for (const value of Object.values(details))
      if (!["string", "number", "boolean"].includes(typeof value))
        throw leafMalformed("details hold a value that is not a string, integer or boolean");
    let canonical: string;
    try {
      canonical = canonicalDetails(details);
    } catch {
      throw leafMalformed("details hold a non-integer number");
    }
    if (canonical !== detailText) throw leafMalformed("details are not canonical JSON");
  }
  return {
    time,
    type: type as AuditEventType,
    outcome: outcome as AuditOutcome,
    correlationId,
    actor: actorBytes.length === 0 ? undefined : actorBytes,
    commitments,
    details,
  };
}

/**
 * The time of an encoded audit event (bytes 1..8, big-endian) without decoding the rest: retention
 * searches the log by time. undefined for bytes too short or of another version.
 */
export function auditLeafTime(leaf: Uint8Array): number | undefined {
  if (leaf.length < 9 || leaf[0] !== AUDIT_EVENT_VERSION) return undefined;
  return Number(new DataView(leaf.buffer, leaf.byteOffset + 1, 8).getBigUint64(0));
}
