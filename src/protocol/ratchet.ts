import type { SeedKeyPair } from "../crypto/algorithms.ts";
import { wipe } from "../crypto/bytes.ts";
import { KDF_LABELS, label } from "../crypto/labels.ts";
import type { CryptoProvider, ProviderSuite } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { Writer } from "./_codec.ts";
import { constantTimeEqual } from "./_constant-time.ts";
import { ENVELOPE_TYPES, type EnvelopeType, envelopePrefix, type RatchetMessage } from "./envelope.ts";
import { decodeHeader, encodeHeader, type Header } from "./header.ts";
import type { ProtocolLimits } from "./limits.ts";
import { chainStep, messageKeys, rootStep } from "./ratchet-kdf.ts";
import { cloneState, type RatchetState, type Role, type SkippedKey } from "./ratchet-state.ts";

/**
 * The double ratchet with header encryption and a KEM step (docs/protocol.md §8). Pure: every function
 * copies the state, works on the copy and returns it; on any error the caller still holds its old
 * state unchanged, so a forged or corrupted message can never move a session. Asynchronous because
 * the AEAD and every asymmetric operation of the crypto provider are (docs/web.md "Sync or async").
 */
export interface RatchetOptions {
  readonly provider: CryptoProvider;
  readonly now: number;
  readonly limits: ProtocolLimits;
}

function otherRole(role: Role): Role {
  return role === 1 ? 2 : 1;
}

const headerAds = new Map<number, Uint8Array>();

/** `hdr label || version || suite || type`: a constant per (suite, type), built once (never mutated). */
function headerAd(suite: ProviderSuite, type: EnvelopeType): Uint8Array {
  const id = suite.id * 4 + type;
  let ad = headerAds.get(id);
  if (ad === undefined) {
    ad = new Writer().bytes(label(KDF_LABELS.header)).bytes(envelopePrefix(suite, type)).finish();
    headerAds.set(id, ad);
  }
  return ad;
}

/** AD = version || suite || type || SID || H(IR_sender) || H(IR_recipient) || header nonce || header ct. */
function bodyAd(
  suite: ProviderSuite,
  type: EnvelopeType,
  state: RatchetState,
  sending: boolean,
  message: Pick<RatchetMessage, "headerNonce" | "headerCiphertext">,
): Uint8Array {
  const sender = sending ? state.localIdentityHash : state.remoteIdentityHash;
  const recipient = sending ? state.remoteIdentityHash : state.localIdentityHash;
  const size = 4 + state.sessionId.length + sender.length + recipient.length;
  return new Writer(size + message.headerNonce.length + message.headerCiphertext.length)
    .bytes(envelopePrefix(suite, type))
    .bytes(state.sessionId)
    .bytes(sender)
    .bytes(recipient)
    .bytes(message.headerNonce)
    .bytes(message.headerCiphertext)
    .finish();
}

/** Hybrid cadence: an offer once N messages or T time passed since the last absorbed KEM secret. */
function offerDue(suite: ProviderSuite, state: RatchetState, options: RatchetOptions): boolean {
  if (!suite.ratchetKem || state.ourOffer !== null) return false;
  if (suite.agreement === null) return true;
  return (
    state.kemMessages >= options.limits.hybridKemMessages ||
    options.now - state.kemTime >= options.limits.hybridKemIntervalMs
  );
}

/** Opens our next sending chain: absorbs dh and, when an answer is due, the KEM secret. */
async function sendStep(state: RatchetState, suite: ProviderSuite, options: RatchetOptions): Promise<void> {
  let dh: Uint8Array | null = null;
  let dhPublic: Uint8Array | null = null;
  if (suite.agreement) {
    const agreement = suite.agreement;
    let pair: SeedKeyPair;
    if (agreement.generateAndAgree) {
      ({ pair, sharedSecret: dh } = await agreement.generateAndAgree(state.remoteDh!));
    } else {
      pair = await agreement.keygen();
      dh = await agreement.agree(pair.seed, state.remoteDh!);
    }
    dhPublic = pair.publicKey;
    if (state.sendDh) wipe(state.sendDh.seed);
    state.sendDh = { publicKey: pair.publicKey, seed: pair.seed };
  }
  let ss: Uint8Array | null = null;
  let ct: Uint8Array | null = null;
  const answered = state.peerOffer;
  if (answered) {
    const result = await suite.ratchetKem!.encapsulate(answered);
    ss = result.sharedSecret;
    ct = result.ciphertext;
  }
  let newOffer: Uint8Array | null = null;
  if (offerDue(suite, state, options)) {
    const pair = await suite.ratchetKem!.keygen();
    state.ourOffer = { ek: pair.publicKey, seed: pair.seed };
    newOffer = pair.publicKey;
  }
  const step = state.step + 1;
  const epoch = state.epoch + (ss ? 1 : 0);
  const out = rootStep(options.provider, state.rootKey, {
    suiteId: suite.id,
    senderRole: state.role,
    step,
    epoch,
    dh,
    ss,
    dhPublic,
    answeredOffer: answered,
    ct,
    newOffer,
  });
  wipe(state.rootKey);
  if (dh) wipe(dh);
  if (ss) wipe(ss);
  state.rootKey = out.rootKey;
  state.step = step;
  state.epoch = epoch;
  state.sendHeaderKey = state.nextSendHeaderKey;
  state.nextSendHeaderKey = out.nextHeaderKey;
  state.sendChainKey = out.chainKey;
  state.previousSendN = state.sendN;
  state.sendN = 0;
  state.sendStep = { dh: dhPublic, ct, ek: newOffer };
  state.peerOffer = null;
  state.mustStep = false;
  if (ss) {
    state.kemMessages = 0;
    state.kemTime = options.now;
  }
}

export interface EncryptResult {
  readonly state: RatchetState;
  readonly type: EnvelopeType;
  readonly message: RatchetMessage;
}

/**
 * Encrypts one body. `prekey` marks the initiator's first-contact messages (chain 0, before any
 * reply): no step is possible then and the header has no KEM slots.
 */
export async function ratchetEncrypt(
  input: RatchetState,
  body: Uint8Array,
  prekey: boolean,
  options: RatchetOptions,
): Promise<EncryptResult> {
  const { provider } = options;
  const state = cloneState(input);
  const suite = provider.suite(state.suiteId);
  if (prekey && (state.pending === null || state.mustStep))
    throw new TypeError("not in the first-contact phase");
  if (!prekey && state.mustStep) await sendStep(state, suite, options);
  if (state.sendChainKey === null || state.sendHeaderKey === null) {
    throw new NanoError("no_session", "this session cannot send before it has received");
  }
  if (state.sendN >= options.limits.maxChainLength) {
    throw new NanoError("chain_exhausted", "sending chain reached its message limit");
  }
  const kem = state.sendStep.ct !== null || state.sendStep.ek !== null;
  const type: EnvelopeType = prekey ? 1 : kem ? 3 : 2;
  const header: Header = {
    n: state.sendN,
    pn: state.previousSendN,
    dh: state.sendStep.dh,
    ct: prekey ? null : state.sendStep.ct,
    ek: prekey ? null : state.sendStep.ek,
  };
  const headerNonce = provider.primitives.randomBytes(12);
  const headerCiphertext = await provider.primitives.aead.seal(
    state.sendHeaderKey,
    headerNonce,
    encodeHeader(suite, header),
    headerAd(suite, type),
  );
  const { chainKey, messageKey } = chainStep(provider, state.sendChainKey, suite.id);
  wipe(state.sendChainKey);
  state.sendChainKey = chainKey;
  const { key, nonce } = messageKeys(provider, messageKey, suite.id, type, headerNonce);
  const ciphertext = await provider.primitives.aead.seal(
    key,
    nonce,
    body,
    bodyAd(suite, type, state, true, { headerNonce, headerCiphertext }),
  );
  wipe(messageKey, key);
  state.sendN += 1;
  state.kemMessages += 1;
  return { state, type, message: { headerNonce, headerCiphertext, body: ciphertext } };
}

async function tryHeader(
  provider: CryptoProvider,
  headerKey: Uint8Array | null,
  suite: ProviderSuite,
  type: EnvelopeType,
  message: RatchetMessage,
): Promise<Header | null> {
  if (headerKey === null) return null;
  const plain = await provider.primitives.aead.open(
    headerKey,
    message.headerNonce,
    message.headerCiphertext,
    headerAd(suite, type),
  );
  if (plain === null) return null;
  // An authenticated header that does not parse is corruption by the key holder: a typed codec error.
  return decodeHeader(suite, type === ENVELOPE_TYPES.messageKem, plain);
}

function checkSkip(from: number, to: number, limits: ProtocolLimits): void {
  if (to > from && to - from > limits.maxSkipPerChain) {
    throw new NanoError(
      "too_many_skipped",
      `message would skip ${to - from} keys (limit ${limits.maxSkipPerChain})`,
    );
  }
}

/** Stores keys from..to-1 of the receiving chain; enforces the chain and total limits by eviction. */
function skipKeys(provider: CryptoProvider, state: RatchetState, to: number, limits: ProtocolLimits): void {
  if (state.recvChainKey === null || state.recvHeaderKey === null) return;
  const headerKey = state.recvHeaderKey;
  while (state.recvN < to) {
    const { chainKey, messageKey } = chainStep(provider, state.recvChainKey, state.suiteId);
    wipe(state.recvChainKey);
    state.recvChainKey = chainKey;
    state.skipped.push({ headerKey, n: state.recvN, messageKey });
    state.recvN += 1;
  }
  while (state.skipped.length > limits.maxSkippedTotal) wipe(state.skipped.shift()!.messageKey);
}

function takeSkipped(state: RatchetState, headerKey: Uint8Array, n: number): Uint8Array | null {
  const index = state.skipped.findIndex(
    (entry) => entry.n === n && constantTimeEqual(entry.headerKey, headerKey),
  );
  if (index < 0) return null;
  const [entry] = state.skipped.splice(index, 1) as [SkippedKey];
  return entry.messageKey;
}

function equalOptional(a: Uint8Array | null | undefined, b: Uint8Array): boolean {
  return a != null && constantTimeEqual(a, b);
}

/** Validates a step header's KEM fields against our offers before any secret is computed. */
async function checkStepKem(
  provider: CryptoProvider,
  state: RatchetState,
  suite: ProviderSuite,
  header: Header,
): Promise<void> {
  if (suite.agreement && header.dh === null) throw new NanoError("malformed", "step header lacks its DH key");
  if (!suite.ratchetKem) return;
  if (state.ourOffer !== null && header.ct === null) {
    throw new NanoError("kem_answer_missing", "the step does not answer our open KEM offer");
  }
  if (state.ourOffer === null && header.ct !== null) {
    throw new NanoError("unexpected_kem_answer", "a KEM answer arrived but no offer of ours is open");
  }
  if (suite.agreement === null && header.ek === null) {
    throw new NanoError("kem_answer_missing", "a quantum step must carry a new KEM offer");
  }
  if (header.ek) {
    const offered = provider.primitives.blake2b(header.ek);
    if (equalOptional(state.ourOffer?.ek, header.ek) || equalOptional(state.previousOfferHash, offered)) {
      throw new NanoError("kem_offer_reflected", "the peer's offer is one of our own");
    }
    if (equalOptional(state.lastPeerOfferHash, offered)) {
      throw new NanoError("kem_offer_reflected", "the peer repeated an earlier offer");
    }
    // A trial encapsulation runs FIPS 203's modulus check now, so a bad key fails this message and
    // can never wedge our next step.
    wipe((await suite.ratchetKem.encapsulate(header.ek)).sharedSecret);
  }
}

/** Remembers the receiving chain being replaced; beyond the cap the oldest chain and its keys go. */
function retireReceivingChain(state: RatchetState, limits: ProtocolLimits): void {
  if (state.recvHeaderKey === null) return;
  state.previousRecvHeaderKeys.push(state.recvHeaderKey);
  while (state.previousRecvHeaderKeys.length > limits.maxReceiverChains) {
    const oldest = state.previousRecvHeaderKeys.shift()!;
    if (state.firstChainHeaderKey !== null && constantTimeEqual(state.firstChainHeaderKey, oldest)) {
      // Chain 0 is forgotten with its keys: nothing can open under it any more.
      wipe(state.firstChainHeaderKey);
      state.firstChainHeaderKey = null;
    }
    state.skipped = state.skipped.filter((entry) => {
      const evict = constantTimeEqual(entry.headerKey, oldest);
      if (evict) wipe(entry.messageKey);
      return !evict;
    });
  }
}

async function receiveStep(
  state: RatchetState,
  suite: ProviderSuite,
  header: Header,
  options: RatchetOptions,
): Promise<void> {
  const { provider } = options;
  await checkStepKem(provider, state, suite, header);
  let dh: Uint8Array | null = null;
  if (suite.agreement) dh = await suite.agreement.agree(state.sendDh!.seed, header.dh!);
  let ss: Uint8Array | null = null;
  const answered = state.ourOffer;
  if (answered && header.ct) ss = await suite.ratchetKem!.decapsulate(answered.seed, header.ct);
  const step = state.step + 1;
  const epoch = state.epoch + (ss ? 1 : 0);
  const out = rootStep(provider, state.rootKey, {
    suiteId: suite.id,
    senderRole: otherRole(state.role),
    step,
    epoch,
    dh,
    ss,
    dhPublic: header.dh,
    answeredOffer: answered?.ek ?? null,
    ct: header.ct,
    newOffer: header.ek,
  });
  wipe(state.rootKey);
  if (dh) wipe(dh);
  if (ss) wipe(ss);
  state.rootKey = out.rootKey;
  state.step = step;
  state.epoch = epoch;
  if (state.recvChainKey) wipe(state.recvChainKey);
  retireReceivingChain(state, options.limits);
  state.recvHeaderKey = state.nextRecvHeaderKey;
  state.nextRecvHeaderKey = out.nextHeaderKey;
  state.recvChainKey = out.chainKey;
  state.recvN = 0;
  state.remoteDh = header.dh;
  state.mustStep = true;
  if (ss) {
    // Absorbed: the decapsulation key has no use left and is wiped; only H(ek) stays (reflection).
    wipe(answered!.seed);
    state.previousOfferHash = provider.primitives.blake2b(answered!.ek);
    state.ourOffer = null;
    state.kemMessages = 0;
    state.kemTime = options.now;
  }
  if (header.ek) {
    state.peerOffer = header.ek;
    state.lastPeerOfferHash = provider.primitives.blake2b(header.ek);
  }
}

export interface DecryptResult {
  readonly state: RatchetState;
  readonly body: Uint8Array;
  readonly header: Header;
}

/**
 * The initiator's chain 0 carries only signed first-contact envelopes (type 1), and type 1 travels on
 * nothing else (docs/protocol.md §7.5, §8.6). Checked on the key that opened the header, before any
 * message key is used: a type 2/3 message there can only come from someone who derived chain 0 from
 * the responder's own secrets (key-compromise impersonation), never from the initiator.
 */
function checkChainType(state: RatchetState, type: EnvelopeType, opened: Uint8Array): void {
  const chainZero =
    state.firstChainHeaderKey !== null && constantTimeEqual(state.firstChainHeaderKey, opened);
  if (chainZero && type !== ENVELOPE_TYPES.prekey) {
    throw new NanoError(
      "first_chain_unsigned",
      "a message on the initiator's first chain must be a signed first-contact message",
    );
  }
  if (!chainZero && type === ENVELOPE_TYPES.prekey) {
    throw new NanoError("malformed", "a first-contact message travels only on the initiator's first chain");
  }
}

/**
 * Decrypts one message: skipped keys and the current chain first, then the next header key (a step).
 * Limits are checked before any key is derived; duplicates are `duplicate_message`.
 */
export async function ratchetDecrypt(
  input: RatchetState,
  type: EnvelopeType,
  message: RatchetMessage,
  options: RatchetOptions,
): Promise<DecryptResult> {
  const { provider } = options;
  const state = cloneState(input);
  const suite = provider.suite(state.suiteId);
  let messageKey: Uint8Array | null = null;
  let header = await tryHeader(provider, state.recvHeaderKey, suite, type, message);
  if (header) {
    checkChainType(state, type, state.recvHeaderKey!);
    if (header.n < state.recvN) {
      messageKey = takeSkipped(state, state.recvHeaderKey!, header.n);
      if (messageKey === null) throw new NanoError("duplicate_message", "message key already used");
    } else {
      checkSkip(state.recvN, header.n, options.limits);
    }
  } else {
    // NHKr before the past chains: exactly one key can authenticate a header, so the order changes
    // no outcome, only the cost; a new chain (every direction change) is far more common than a late
    // message of an old one, and each failed trial costs a full AEAD attempt (docs/protocol.md §8.6).
    header = await tryHeader(provider, state.nextRecvHeaderKey, suite, type, message);
    if (header) {
      if (type === ENVELOPE_TYPES.prekey)
        throw new NanoError("malformed", "a first-contact message cannot open a new chain");
      checkSkip(state.recvN, header.pn, options.limits);
      checkSkip(0, header.n, options.limits);
      skipKeys(provider, state, header.pn, options.limits);
      await receiveStep(state, suite, header, options);
    } else {
      for (let i = state.previousRecvHeaderKeys.length - 1; i >= 0 && !header; i--) {
        const headerKey = state.previousRecvHeaderKeys[i]!;
        header = await tryHeader(provider, headerKey, suite, type, message);
        if (header) {
          checkChainType(state, type, headerKey);
          messageKey = takeSkipped(state, headerKey, header.n);
          if (messageKey === null) throw new NanoError("duplicate_message", "message key already used");
        }
      }
      if (!header) throw new NanoError("decryption_failed", "no header key opens this message");
    }
  }
  if (messageKey === null) {
    skipKeys(provider, state, header.n, options.limits);
    const { chainKey, messageKey: derived } = chainStep(provider, state.recvChainKey!, suite.id);
    wipe(state.recvChainKey!);
    state.recvChainKey = chainKey;
    state.recvN = header.n + 1;
    messageKey = derived;
  }
  const { key, nonce } = messageKeys(provider, messageKey, suite.id, type, message.headerNonce);
  const body = await provider.primitives.aead.open(
    key,
    nonce,
    message.body,
    bodyAd(suite, type, state, false, message),
  );
  wipe(messageKey, key);
  if (body === null) throw new NanoError("decryption_failed", "authentication failed");
  state.kemMessages += 1;
  state.lastReceived = options.now;
  state.pending = null;
  return { state, body, header };
}
