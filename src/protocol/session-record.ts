import type { CryptoProvider } from "../crypto/provider/index.ts";
import type { SuiteId } from "../crypto/suite-ids.ts";
import { NanoError } from "../errors/index.ts";
import { decodeExact, Reader, Writer } from "./_codec.ts";
import { KEM_CT_BYTES, KEM_EK_BYTES } from "./header.ts";
import type { ProtocolLimits } from "./limits.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import type {
  DhKeyPair,
  KemKeyPair,
  PendingPrekey,
  RatchetState,
  Role,
  SkippedKey,
} from "./ratchet-state.ts";

/**
 * Session records (docs/protocol.md §11): the byte-exact serialization of a ratchet state and of a
 * contact's sessions, with a record version. decode(encode(s)) == s and encode(decode(b)) == b, so
 * sessions survive a restart exactly; stores hold these bytes.
 */
export const SESSION_RECORD_VERSION = 2;
const MAX_SKIPPED_IN_RECORD = DEFAULT_LIMITS.maxSkippedTotal;
const MAX_HANDSHAKE_BYTES = 32768;

function optional<T>(writer: Writer, value: T | null, write: (value: T) => void): void {
  writer.bool(value !== null);
  if (value !== null) write(value);
}

function readOptional<T>(reader: Reader, what: string, read: () => T): T | null {
  return reader.bool(what) ? read() : null;
}

/**
 * An upper bound of the encoded size, so a record is written into one buffer of about the right size
 * (growing a buffer several times was most of the cost of writing a record on every message).
 */
function sizeHint(state: RatchetState): number {
  const kem = (bytes: Uint8Array | null | undefined) => bytes?.length ?? 0;
  return (
    1024 +
    kem(state.sendStep.ct) +
    kem(state.sendStep.ek) +
    kem(state.ourOffer?.ek) +
    kem(state.peerOffer) +
    state.skipped.length * 68 +
    state.previousRecvHeaderKeys.length * 32 +
    (state.pending ? state.pending.handshake.length + state.pending.sealKey.length + 72 : 0) +
    33
  );
}

export function encodeRatchetState(state: RatchetState): Uint8Array {
  return writeRatchetState(new Writer(sizeHint(state)), state).finish();
}

function writeRatchetState(w: Writer, state: RatchetState): Writer {
  w.u16(SESSION_RECORD_VERSION)
    .u16(state.suiteId)
    .u8(state.role)
    .bytes(state.sessionId)
    .bytes(state.localIdentityHash)
    .bytes(state.remoteIdentityHash)
    .bytes(state.handshakeHash)
    .bytes(state.rootKey)
    .u32(state.step)
    .u32(state.epoch);
  optional(w, state.sendChainKey, (v) => w.bytes(v));
  optional(w, state.sendHeaderKey, (v) => w.bytes(v));
  w.bytes(state.nextSendHeaderKey).u32(state.sendN).u32(state.previousSendN);
  optional(w, state.sendDh, (v) => w.bytes(v.publicKey).bytes(v.seed));
  optional(w, state.sendStep.dh, (v) => w.bytes(v));
  optional(w, state.sendStep.ct, (v) => w.bytes(v));
  optional(w, state.sendStep.ek, (v) => w.bytes(v));
  optional(w, state.recvChainKey, (v) => w.bytes(v));
  optional(w, state.recvHeaderKey, (v) => w.bytes(v));
  w.bytes(state.nextRecvHeaderKey).u32(state.recvN);
  optional(w, state.remoteDh, (v) => w.bytes(v));
  w.bool(state.mustStep);
  optional(w, state.ourOffer, (v) => w.bytes(v.ek).bytes(v.seed));
  optional(w, state.previousOfferHash, (v) => w.bytes(v));
  optional(w, state.peerOffer, (v) => w.bytes(v));
  optional(w, state.lastPeerOfferHash, (v) => w.bytes(v));
  w.u32(state.kemMessages).u64(state.kemTime).u16(state.skipped.length);
  for (const entry of state.skipped) w.bytes(entry.headerKey).u32(entry.n).bytes(entry.messageKey);
  w.u8(state.previousRecvHeaderKeys.length);
  for (const headerKey of state.previousRecvHeaderKeys) w.bytes(headerKey);
  optional(w, state.firstChainHeaderKey, (v) => w.bytes(v));
  optional(w, state.pending, (v) => w.vec32(v.handshake).bytes(v.transcriptHash).vec16(v.sealKey));
  w.u64(state.created).u64(state.lastReceived);
  return w;
}

export function decodeRatchetState(
  provider: CryptoProvider,
  bytes: Uint8Array,
  offset: number,
): [RatchetState, number] {
  const r = new Reader(bytes, offset);
  const version = r.u16("session record version");
  if (version !== SESSION_RECORD_VERSION)
    throw new NanoError("unsupported_version", `session record version ${version}`);
  const suite = provider.suite(r.u16("suite"));
  const role = r.u8("role");
  if (role !== 1 && role !== 2) throw new NanoError("malformed", "unknown role");
  const dhLength = suite.agreement ? 32 : 0;
  const key = (what: string) => r.fixed(32, what);
  const hash = (what: string) => r.fixed(64, what);
  const needs = (value: unknown, allowed: boolean, what: string) => {
    if (value !== null && !allowed) throw new NanoError("malformed", `${what} not used in this suite`);
  };
  const sessionId = key("session id");
  const localIdentityHash = hash("local identity hash");
  const remoteIdentityHash = hash("remote identity hash");
  const handshakeHash = hash("handshake hash");
  const rootKey = key("root key");
  const step = r.u32("step");
  const epoch = r.u32("epoch");
  const sendChainKey = readOptional(r, "send chain", () => key("send chain key"));
  const sendHeaderKey = readOptional(r, "send header", () => key("send header key"));
  const nextSendHeaderKey = key("next send header key");
  const sendN = r.u32("send n");
  const previousSendN = r.u32("previous send n");
  const sendDh = readOptional<DhKeyPair>(r, "send DH", () => ({
    publicKey: key("DH public"),
    seed: key("DH seed"),
  }));
  const stepDh = readOptional(r, "step DH", () => r.fixed(32, "step DH"));
  const stepCt = readOptional(r, "step ct", () => r.fixed(KEM_CT_BYTES, "step ct"));
  const stepEk = readOptional(r, "step ek", () => r.fixed(KEM_EK_BYTES, "step ek"));
  const recvChainKey = readOptional(r, "receive chain", () => key("receive chain key"));
  const recvHeaderKey = readOptional(r, "receive header", () => key("receive header key"));
  const nextRecvHeaderKey = key("next receive header key");
  const recvN = r.u32("receive n");
  const remoteDh = readOptional(r, "remote DH", () => r.fixed(32, "remote DH"));
  const mustStep = r.bool("must step");
  const kemPair = (): KemKeyPair => ({
    ek: r.fixed(KEM_EK_BYTES, "offer ek"),
    seed: r.fixed(64, "offer seed"),
  });
  const ourOffer = readOptional(r, "our offer", kemPair);
  const previousOfferHash = readOptional(r, "previous offer hash", () => hash("previous offer hash"));
  const peerOffer = readOptional(r, "peer offer", () => r.fixed(KEM_EK_BYTES, "peer offer"));
  const lastPeerOfferHash = readOptional(r, "peer offer hash", () => hash("peer offer hash"));
  const kemMessages = r.u32("KEM messages");
  const kemTime = r.u64n("KEM time");
  const skippedCount = r.u16("skipped count");
  if (skippedCount > MAX_SKIPPED_IN_RECORD)
    throw new NanoError("malformed", "too many skipped keys in record");
  const skipped: SkippedKey[] = [];
  for (let i = 0; i < skippedCount; i++) {
    skipped.push({
      headerKey: key("skipped header key"),
      n: r.u32("skipped n"),
      messageKey: key("skipped key"),
    });
  }
  const previousCount = r.u8("previous chains");
  if (previousCount > DEFAULT_LIMITS.maxReceiverChains)
    throw new NanoError("malformed", "too many previous chains");
  const previousRecvHeaderKeys: Uint8Array[] = [];
  for (let i = 0; i < previousCount; i++) previousRecvHeaderKeys.push(key("previous header key"));
  const firstChainHeaderKey = readOptional(r, "first chain", () => key("first chain header key"));
  if (firstChainHeaderKey !== null && role !== 2)
    throw new NanoError("malformed", "only a responder guards the initiator's first chain");
  const pending = readOptional<PendingPrekey>(r, "pending", () => ({
    handshake: r.vec32("pending handshake", MAX_HANDSHAKE_BYTES),
    transcriptHash: hash("transcript hash"),
    sealKey: r.vec16("seal key", 2048, 1),
  }));
  const created = r.u64n("created");
  const lastReceived = r.u64n("last received");
  needs(sendDh, dhLength > 0, "DH key");
  needs(stepDh, dhLength > 0, "step DH key");
  needs(remoteDh, dhLength > 0, "remote DH key");
  for (const [value, what] of [
    [stepCt, "step ct"],
    [stepEk, "step ek"],
    [ourOffer, "offer"],
    [previousOfferHash, "previous offer hash"],
    [peerOffer, "peer offer"],
  ] as const) {
    needs(value, suite.ratchetKem !== null, what);
  }
  const state: RatchetState = {
    suiteId: suite.id as SuiteId,
    role: role as Role,
    sessionId,
    localIdentityHash,
    remoteIdentityHash,
    handshakeHash,
    rootKey,
    step,
    epoch,
    sendChainKey,
    sendHeaderKey,
    nextSendHeaderKey,
    sendN,
    previousSendN,
    sendDh,
    sendStep: { dh: stepDh, ct: stepCt, ek: stepEk },
    recvChainKey,
    recvHeaderKey,
    nextRecvHeaderKey,
    recvN,
    remoteDh,
    mustStep,
    ourOffer,
    previousOfferHash,
    peerOffer,
    lastPeerOfferHash,
    kemMessages,
    kemTime,
    skipped,
    previousRecvHeaderKeys,
    pending,
    firstChainHeaderKey,
    created,
    lastReceived,
  };
  return [state, r.offset - offset];
}

export function decodeRatchetStateExact(provider: CryptoProvider, bytes: Uint8Array): RatchetState {
  return decodeExact(bytes, (b, o) => decodeRatchetState(provider, b, o), "session record");
}

/** A contact's sessions: the active one and up to `maxArchivedSessions` archived, most recent first. */
export interface ContactSessions {
  readonly active: RatchetState | null;
  readonly archived: readonly RatchetState[];
}

export const EMPTY_SESSIONS: ContactSessions = Object.freeze({ active: null, archived: Object.freeze([]) });

export function encodeContactSessions(sessions: ContactSessions): Uint8Array {
  let hint = 8;
  for (const state of [sessions.active, ...sessions.archived]) if (state) hint += sizeHint(state) + 4;
  const w = new Writer(hint).u16(SESSION_RECORD_VERSION);
  optional(w, sessions.active, (state) => w.vec32With(() => writeRatchetState(w, state)));
  w.u8(sessions.archived.length);
  for (const state of sessions.archived) w.vec32With(() => writeRatchetState(w, state));
  return w.finish();
}

const MAX_STATE_BYTES = 256 * 1024;

/**
 * The suite of the active session in an encoded contact-sessions record, reading only the prefix:
 * u16 record version || bool active || u32 length || (u16 state version || u16 suite || ...). For
 * callers that only choose what to do next (send: open a session or use this one); anything that uses
 * the session decodes it whole, which checks everything this skips.
 */
export function activeSessionSuite(bytes: Uint8Array): number | null {
  const r = new Reader(bytes);
  const version = r.u16("sessions record version");
  if (version !== SESSION_RECORD_VERSION)
    throw new NanoError("unsupported_version", `sessions record version ${version}`);
  if (!r.bool("active session")) return null;
  r.u32("session length");
  const stateVersion = r.u16("session version");
  if (stateVersion !== SESSION_RECORD_VERSION)
    throw new NanoError("unsupported_version", `session version ${stateVersion}`);
  return r.u16("suite");
}

export function decodeContactSessions(
  provider: CryptoProvider,
  bytes: Uint8Array,
  limits: ProtocolLimits = DEFAULT_LIMITS,
): ContactSessions {
  const r = new Reader(bytes);
  const version = r.u16("sessions record version");
  if (version !== SESSION_RECORD_VERSION)
    throw new NanoError("unsupported_version", `sessions record version ${version}`);
  const state = () => decodeRatchetStateExact(provider, r.vec32("session", MAX_STATE_BYTES));
  const active = readOptional(r, "active session", state);
  const count = r.u8("archived count");
  if (count > limits.maxArchivedSessions) throw new NanoError("malformed", "too many archived sessions");
  const archived: RatchetState[] = [];
  for (let i = 0; i < count; i++) archived.push(state());
  r.end("sessions record");
  return { active, archived };
}

/**
 * A contact's record with only the active session decoded: what sending needs. Archived sessions stay
 * the exact bytes they were stored as (framing and count checked), so a send neither parses nor
 * re-encodes them; since encode(decode(b)) == b, writing them back unchanged is byte-identical to
 * the full round trip. A damaged archived session is therefore found when a message needs it (every
 * receive decodes the whole record), not at send time.
 */
export interface ActiveSessionRecord {
  readonly active: RatchetState | null;
  readonly archived: readonly Uint8Array[];
}

export function decodeActiveSession(
  provider: CryptoProvider,
  bytes: Uint8Array,
  limits: ProtocolLimits = DEFAULT_LIMITS,
): ActiveSessionRecord {
  const r = new Reader(bytes);
  const version = r.u16("sessions record version");
  if (version !== SESSION_RECORD_VERSION)
    throw new NanoError("unsupported_version", `sessions record version ${version}`);
  const active = readOptional(r, "active session", () =>
    decodeRatchetStateExact(provider, r.vec32("session", MAX_STATE_BYTES)),
  );
  const count = r.u8("archived count");
  if (count > limits.maxArchivedSessions) throw new NanoError("malformed", "too many archived sessions");
  const archived: Uint8Array[] = [];
  for (let i = 0; i < count; i++) archived.push(r.vec32("session", MAX_STATE_BYTES));
  r.end("sessions record");
  return { active, archived };
}

/** The record of `decodeActiveSession` with a new active session; archived bytes are copied as they are. */
export function encodeActiveSession(
  active: RatchetState | null,
  archived: readonly Uint8Array[],
): Uint8Array {
  let hint = 8 + (active ? sizeHint(active) + 4 : 0);
  for (const raw of archived) hint += raw.length + 4;
  const w = new Writer(hint).u16(SESSION_RECORD_VERSION);
  optional(w, active, (state) => w.vec32With(() => writeRatchetState(w, state)));
  w.u8(archived.length);
  for (const raw of archived) w.vec32(raw);
  return w.finish();
}
