import { concatBytes, wipe } from "../crypto/bytes.ts";
import { KDF_LABELS, label, SIGNATURE_CONTEXTS } from "../crypto/labels.ts";
import type { CryptoProvider, ProviderSuite } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { Writer } from "./_codec.ts";
import { constantTimeEqual } from "./_constant-time.ts";
import { type Bundle, bundleHash, encodeBundle } from "./bundle.ts";
import { encodeHandshakeFields, type FirstContact, type HandshakeFields } from "./first-contact.ts";
import { type IdentityKeys, type IdentityRecord, identityKeysFor, recordKeysFor } from "./identity-record.ts";
import { PREKEY_ROLES, type PrekeyRole, type SignedPrekey } from "./prekey.ts";
import { type RatchetState, ROLES } from "./ratchet-state.ts";
import { checkResponderSelection, type Selection } from "./selection.ts";
import { transcriptHash } from "./transcript.ts";
import { checkValidityPeriod } from "./validity.ts";

/**
 * The handshake (docs/protocol.md §7): X3DH-style in classical, X3DH plus ML-KEM-768 to a signed PQ
 * prekey in hybrid, ML-KEM-768 to the identity KEM key and a PQ prekey in quantum. The transcript hash
 * is the HKDF salt; every DH output and KEM secret is IKM.
 */
interface HandshakeKeys {
  readonly rootKey: Uint8Array;
  readonly chainKey: Uint8Array;
  readonly headerKey: Uint8Array;
  readonly initiatorNextHeaderKey: Uint8Array;
  readonly responderNextHeaderKey: Uint8Array;
  readonly sessionId: Uint8Array;
}

/** RK0 || CK0 || HK0 || NHK_I || NHK_R || SID = HKDF(ikm = secrets, salt = TH, info = hs || suite, 192). */
function keySchedule(
  provider: CryptoProvider,
  suite: ProviderSuite,
  secrets: readonly Uint8Array[],
  transcript: Uint8Array,
): HandshakeKeys {
  const ikm = concatBytes(...secrets);
  const info = new Writer().bytes(label(KDF_LABELS.handshake)).u16(suite.id).finish();
  const okm = provider.primitives.hkdf(ikm, transcript, info, 192);
  const part = (i: number) => okm.slice(i * 32, (i + 1) * 32);
  const keys = {
    rootKey: part(0),
    chainKey: part(1),
    headerKey: part(2),
    initiatorNextHeaderKey: part(3),
    responderNextHeaderKey: part(4),
    sessionId: part(5),
  };
  wipe(okm, ikm, ...secrets);
  return keys;
}

/** What the initiator signs (hybrid, quantum): TH || BLAKE2b(payload). */
export function initiatorSignedMessage(
  provider: CryptoProvider,
  transcript: Uint8Array,
  payload: Uint8Array,
): Uint8Array {
  return concatBytes(transcript, provider.primitives.blake2b(payload));
}

export interface InitiateOptions {
  readonly selection: Selection;
  readonly now: number;
}

/**
 * Initiator: computes the shared keys from a verified bundle and returns the session state with the
 * first-contact material pending; ratchetEncrypt then produces first-contact messages until a reply.
 */
export async function initiate(
  provider: CryptoProvider,
  identity: IdentityKeys,
  record: IdentityRecord,
  bundle: Bundle,
  options: InitiateOptions,
): Promise<RatchetState> {
  const suite = bundle.suite;
  const own = identityKeysFor(identity, suite);
  recordKeysFor(record, suite);
  const peer = recordKeysFor(bundle.record, suite);
  checkResponderSelection(record, bundle.record, suite, options.selection);
  const secrets: Uint8Array[] = [];
  let ephemeral: Uint8Array | null = null;
  let identityCt: Uint8Array | null = null;
  let pqCt: Uint8Array | null = null;
  if (suite.agreement) {
    const dh = suite.agreement;
    const eph = await dh.keygen();
    ephemeral = eph.publicKey;
    secrets.push(await dh.agree(own.agreement!.seed, bundle.signedDh!.publicKey));
    secrets.push(await dh.agree(eph.seed, peer.agreement!));
    secrets.push(await dh.agree(eph.seed, bundle.signedDh!.publicKey));
    if (bundle.oneTimeDh) secrets.push(await dh.agree(eph.seed, bundle.oneTimeDh.publicKey));
    wipe(eph.seed);
  } else {
    const result = await suite.kem.encapsulate(peer.kem);
    identityCt = result.ciphertext;
    secrets.push(result.sharedSecret);
  }
  if (suite.ratchetKem) {
    const result = await suite.ratchetKem.encapsulate(bundle.pq!.publicKey);
    pqCt = result.ciphertext;
    secrets.push(result.sharedSecret);
  }
  const ratchet = suite.agreement ? await suite.agreement.keygen() : null;
  const offer = suite.ratchetKem ? await suite.ratchetKem.keygen() : null;
  const fields: HandshakeFields = {
    selection: options.selection,
    initiator: record,
    responderHash: bundle.record.hash,
    signedDhId: bundle.signedDh?.id ?? null,
    pqId: bundle.pq?.id ?? null,
    oneTimeId: bundle.oneTimeDh?.id ?? null,
    ephemeral,
    identityCt,
    pqCt,
    ratchetKey: ratchet?.publicKey ?? null,
    initialOffer: offer?.publicKey ?? null,
  };
  const transcript = transcriptFor(
    provider,
    suite,
    fields,
    bundle.record,
    bundle.encoded,
    usedPrekeys(bundle),
  );
  const keys = keySchedule(provider, suite, secrets, transcript);
  return {
    suiteId: suite.id,
    role: ROLES.initiator,
    sessionId: keys.sessionId,
    localIdentityHash: record.hash,
    remoteIdentityHash: bundle.record.hash,
    handshakeHash: provider.primitives.blake2b(transcript),
    rootKey: keys.rootKey,
    step: 0,
    epoch: suite.ratchetKem ? 1 : 0,
    sendChainKey: keys.chainKey,
    sendHeaderKey: keys.headerKey,
    nextSendHeaderKey: keys.initiatorNextHeaderKey,
    sendN: 0,
    previousSendN: 0,
    sendDh: ratchet ? { publicKey: ratchet.publicKey, seed: ratchet.seed } : null,
    sendStep: { dh: ratchet?.publicKey ?? null, ct: null, ek: null },
    recvChainKey: null,
    recvHeaderKey: null,
    nextRecvHeaderKey: keys.responderNextHeaderKey,
    recvN: 0,
    remoteDh: null,
    mustStep: false,
    ourOffer: offer ? { ek: offer.publicKey, seed: offer.seed } : null,
    previousOfferHash: null,
    peerOffer: null,
    lastPeerOfferHash: null,
    kemMessages: 0,
    kemTime: options.now,
    skipped: [],
    previousRecvHeaderKeys: [],
    pending: {
      handshake: encodeHandshakeFields(suite, fields),
      transcriptHash: transcript,
      sealKey: peer.kem,
    },
    firstChainHeaderKey: null,
    created: options.now,
    lastReceived: 0,
  };
}

function usedPrekeys(bundle: Bundle): SignedPrekey[] {
  return [bundle.signedDh, bundle.pq, bundle.oneTimeDh].filter((p): p is SignedPrekey => p !== null);
}

function transcriptFor(
  provider: CryptoProvider,
  suite: ProviderSuite,
  fields: HandshakeFields,
  responder: IdentityRecord,
  bundleBytes: Uint8Array,
  prekeys: readonly SignedPrekey[],
): Uint8Array {
  return transcriptHash(provider, {
    suite,
    selection: fields.selection,
    initiator: fields.initiator,
    responder,
    bundleHash: bundleHash(provider, bundleBytes),
    prekeys,
    ephemeral: fields.ephemeral,
    kemCiphertexts: [fields.identityCt, fields.pqCt].filter((c): c is Uint8Array => c !== null),
    ratchetKey: fields.ratchetKey,
    initialOffer: fields.initialOffer,
  });
}

/** The responder's view of one of its prekeys; `seed` is null once a one-time key was consumed. */
export interface HeldPrekey {
  readonly prekey: SignedPrekey;
  readonly seed: Uint8Array | null;
}

export type PrekeyLookup = (suite: ProviderSuite, id: number) => HeldPrekey | undefined;

function lookup(
  find: PrekeyLookup,
  suite: ProviderSuite,
  id: number | null,
  roles: readonly PrekeyRole[],
  now: number,
): HeldPrekey | null {
  if (id === null) return null;
  const held = find(suite, id);
  if (held === undefined) throw new NanoError("prekey_not_found", `no prekey with id ${id}`);
  if (held.prekey.suite.id !== suite.id || !roles.includes(held.prekey.role)) {
    throw new NanoError("prekey_mismatch", `prekey ${id} has another suite or role`);
  }
  checkValidityPeriod(
    held.prekey,
    now,
    { early: "prekey_not_yet_valid", late: "prekey_expired" },
    `prekey ${id}`,
  );
  return held;
}

/** The responder's analysis of a first-contact message, before any secret is used. */
export interface ResponderContext {
  readonly suite: ProviderSuite;
  readonly transcript: Uint8Array;
  readonly handshakeHash: Uint8Array;
  readonly held: HeldPrekeys;
}

export interface HeldPrekeys {
  readonly signedDh: HeldPrekey | null;
  readonly pq: HeldPrekey | null;
  readonly oneTime: HeldPrekey | null;
}

/**
 * The cheap checks of a parsed first contact (docs/protocol.md §7.7 steps 4-5): it names our current
 * record, and every prekey it names is ours, of the right suite and role, and valid now. Nothing in
 * it has to be trusted yet and no secret is used.
 */
export function checkFirstContactPrekeys(
  suite: ProviderSuite,
  record: IdentityRecord,
  contact: Pick<HandshakeFields, "responderHash" | "signedDhId" | "pqId" | "oneTimeId">,
  find: PrekeyLookup,
  now: number,
): HeldPrekeys {
  if (!constantTimeEqual(contact.responderHash, record.hash)) {
    throw new NanoError("stale_identity_record", "the sender used another version of our identity record");
  }
  return {
    signedDh: lookup(find, suite, contact.signedDhId, [PREKEY_ROLES.signedDh], now),
    pq: lookup(find, suite, contact.pqId, [PREKEY_ROLES.pqOneTime, PREKEY_ROLES.pqLastResort], now),
    oneTime: lookup(find, suite, contact.oneTimeId, [PREKEY_ROLES.oneTimeDh], now),
  };
}

/**
 * With the initiator's record trusted: the selection check (§5) and the transcript hash (§7.3),
 * computed over the bundle rebuilt from our own record and prekeys. Still no secret is used, so the
 * caller can consult the replay and refusal caches first.
 */
export function transcriptOf(
  provider: CryptoProvider,
  suite: ProviderSuite,
  record: IdentityRecord,
  contact: FirstContact,
  held: HeldPrekeys,
): ResponderContext {
  checkResponderSelection(contact.initiator, record, suite, contact.selection);
  const bundleBytes = encodeBundle(
    suite.id,
    record,
    held.signedDh?.prekey ?? null,
    held.pq?.prekey ?? null,
    held.oneTime?.prekey ?? null,
  );
  const prekeys = [held.signedDh, held.pq, held.oneTime]
    .filter((h): h is HeldPrekey => h !== null)
    .map((h) => h.prekey);
  const transcript = transcriptFor(provider, suite, contact, record, bundleBytes, prekeys);
  return { suite, transcript, handshakeHash: provider.primitives.blake2b(transcript), held };
}

/** Both steps at once, for a first contact whose record is already trusted. */
export function analyzeFirstContact(
  provider: CryptoProvider,
  suite: ProviderSuite,
  record: IdentityRecord,
  contact: FirstContact,
  find: PrekeyLookup,
  now: number,
): ResponderContext {
  const held = checkFirstContactPrekeys(suite, record, contact, find, now);
  return transcriptOf(provider, suite, record, contact, held);
}

/** Responder: derives the session state from an analysed first contact (not yet decrypted). */
export async function respond(
  provider: CryptoProvider,
  identity: IdentityKeys,
  record: IdentityRecord,
  contact: FirstContact,
  context: ResponderContext,
  now: number,
): Promise<RatchetState> {
  const { suite, held } = context;
  for (const entry of [held.signedDh, held.pq, held.oneTime]) {
    if (entry && entry.seed === null)
      throw new NanoError("prekey_not_found", `prekey ${entry.prekey.id} was consumed`);
  }
  const own = identityKeysFor(identity, suite);
  const initiator = recordKeysFor(contact.initiator, suite);
  const secrets: Uint8Array[] = [];
  if (suite.agreement) {
    const dh = suite.agreement;
    const spk = held.signedDh!.seed!;
    secrets.push(await dh.agree(spk, initiator.agreement!));
    secrets.push(await dh.agree(own.agreement!.seed, contact.ephemeral!));
    secrets.push(await dh.agree(spk, contact.ephemeral!));
    if (held.oneTime) secrets.push(await dh.agree(held.oneTime.seed!, contact.ephemeral!));
  } else {
    secrets.push(await suite.kem.decapsulate(own.kem.seed, contact.identityCt!));
  }
  if (suite.ratchetKem) secrets.push(await suite.ratchetKem.decapsulate(held.pq!.seed!, contact.pqCt!));
  // The initiator's first ratchet key and KEM offer are used at our first send: check them now, so a
  // bad key fails this message instead of wedging the session later.
  if (suite.agreement) wipe(await suite.agreement.agree(own.agreement!.seed, contact.ratchetKey!));
  if (suite.ratchetKem) wipe((await suite.ratchetKem.encapsulate(contact.initialOffer!)).sharedSecret);
  const keys = keySchedule(provider, suite, secrets, context.transcript);
  return {
    suiteId: suite.id,
    role: ROLES.responder,
    sessionId: keys.sessionId,
    localIdentityHash: record.hash,
    remoteIdentityHash: contact.initiator.hash,
    handshakeHash: context.handshakeHash,
    rootKey: keys.rootKey,
    step: 0,
    epoch: suite.ratchetKem ? 1 : 0,
    sendChainKey: null,
    sendHeaderKey: null,
    nextSendHeaderKey: keys.responderNextHeaderKey,
    sendN: 0,
    previousSendN: 0,
    sendDh: null,
    sendStep: { dh: null, ct: null, ek: null },
    recvChainKey: keys.chainKey,
    recvHeaderKey: keys.headerKey,
    nextRecvHeaderKey: keys.initiatorNextHeaderKey,
    recvN: 0,
    remoteDh: contact.ratchetKey,
    mustStep: true,
    ourOffer: null,
    previousOfferHash: null,
    peerOffer: contact.initialOffer,
    lastPeerOfferHash: contact.initialOffer ? provider.primitives.blake2b(contact.initialOffer) : null,
    kemMessages: 0,
    kemTime: now,
    skipped: [],
    previousRecvHeaderKeys: [],
    pending: null,
    firstChainHeaderKey: keys.headerKey.slice(),
    created: now,
    lastReceived: now,
  };
}

/** Verifies and strips the initiator signature of a first-contact body (hybrid, quantum). */
export async function checkInitiatorSignature(
  provider: CryptoProvider,
  suite: ProviderSuite,
  initiator: IdentityRecord,
  transcript: Uint8Array,
  body: Uint8Array,
): Promise<Uint8Array> {
  if (!suite.postQuantum) return body;
  const length = suite.signature.lengths.signature;
  const signature = body.subarray(0, length);
  const payload = body.slice(length);
  const ok = await suite.signature.verify(
    recordKeysFor(initiator, suite).signature,
    initiatorSignedMessage(provider, transcript, payload),
    signature,
    label(SIGNATURE_CONTEXTS.handshakeInit),
  );
  if (!ok) throw new NanoError("invalid_signature", "initiator handshake signature");
  return payload;
}
