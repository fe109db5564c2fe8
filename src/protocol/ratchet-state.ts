import { wipe } from "../crypto/bytes.ts";
import type { SuiteId } from "../crypto/suite-ids.ts";

/**
 * The ratchet's state as plain data (docs/protocol.md §8.1): Uint8Arrays, numbers, booleans and null
 * only, so it can be deep-copied with structuredClone and serialized byte-exactly
 * (session-record.ts). Every operation works on a copy and returns the new state; a message that fails
 * leaves the caller's state untouched.
 */
export const ROLES = Object.freeze({ initiator: 1, responder: 2 } as const);
export type Role = (typeof ROLES)[keyof typeof ROLES];

export interface KemKeyPair {
  readonly ek: Uint8Array;
  readonly seed: Uint8Array;
}

export interface DhKeyPair {
  readonly publicKey: Uint8Array;
  readonly seed: Uint8Array;
}

export interface SkippedKey {
  readonly headerKey: Uint8Array;
  readonly n: number;
  readonly messageKey: Uint8Array;
}

/** The step fields repeated in every header of the current sending chain. */
export interface StepFields {
  readonly dh: Uint8Array | null;
  readonly ct: Uint8Array | null;
  readonly ek: Uint8Array | null;
}

/** Initiator only, until the first reply: what each first-contact message repeats. */
export interface PendingPrekey {
  /** The first-contact plaintext before the inner ratchet message (docs/protocol.md §7.6). */
  readonly handshake: Uint8Array;
  readonly transcriptHash: Uint8Array;
  /** The responder's identity sealing key (suite.kem). */
  readonly sealKey: Uint8Array;
}

export interface RatchetState {
  readonly suiteId: SuiteId;
  readonly role: Role;
  readonly sessionId: Uint8Array;
  readonly localIdentityHash: Uint8Array;
  readonly remoteIdentityHash: Uint8Array;
  /** H(TH): names the handshake (replay cache, routing of repeated first-contact messages). */
  readonly handshakeHash: Uint8Array;
  rootKey: Uint8Array;
  /** Root steps so far (the handshake is step 0). */
  step: number;
  /** KEM secrets absorbed so far (the handshake's count as one in hybrid and quantum). */
  epoch: number;

  sendChainKey: Uint8Array | null;
  sendHeaderKey: Uint8Array | null;
  nextSendHeaderKey: Uint8Array;
  sendN: number;
  previousSendN: number;
  /** Our current ratchet DH key (classical, hybrid). */
  sendDh: DhKeyPair | null;
  sendStep: StepFields;

  recvChainKey: Uint8Array | null;
  recvHeaderKey: Uint8Array | null;
  nextRecvHeaderKey: Uint8Array;
  recvN: number;
  remoteDh: Uint8Array | null;
  /** A new chain arrived since our last step: the next send opens a new sending chain. */
  mustStep: boolean;

  /** Our open KEM offer: the one decapsulation key a session holds. */
  ourOffer: KemKeyPair | null;
  /**
   * H(ek) of our last answered offer. Its decapsulation key is wiped the moment its secret is absorbed
   * (docs/protocol.md §8.3): only the public part was ever used again, to refuse a reflected offer.
   */
  previousOfferHash: Uint8Array | null;
  /** The peer's newest offer, answered at our next step. */
  peerOffer: Uint8Array | null;
  /** H of the peer's last offer: an offer is never accepted twice. */
  lastPeerOfferHash: Uint8Array | null;
  /** Messages sent or received, and the time, since the last absorbed KEM secret (hybrid cadence). */
  kemMessages: number;
  kemTime: number;

  skipped: SkippedKey[];
  /** Header keys of our past receiving chains, oldest first (at most maxReceiverChains). */
  previousRecvHeaderKeys: Uint8Array[];
  pending: PendingPrekey | null;
  /**
   * Responder only: the header key of the initiator's chain 0 while that chain can still deliver (as
   * the receiving chain or one of the past ones). Chain 0 carries only signed type-1 envelopes
   * (docs/protocol.md §7.5): anything else that opens under this key is `first_chain_unsigned`, so
   * someone holding the responder's secrets cannot bypass the initiator signature (KCI, §15.1).
   */
  firstChainHeaderKey: Uint8Array | null;
  created: number;
  /** When this session last decrypted a message (lifecycle: send on the most recently received). */
  lastReceived: number;
}

const copy = (bytes: Uint8Array): Uint8Array => bytes.slice();
const copyOrNull = (bytes: Uint8Array | null): Uint8Array | null => (bytes ? bytes.slice() : null);

/**
 * A copy that the ratchet may change freely: every secret byte array is copied, because the ratchet
 * wipes superseded keys in place and the caller's state must stay byte-identical if the operation
 * fails. Public values (identity and handshake hashes, DH public keys, KEM offers and ciphertexts)
 * are never written in place by anything, only replaced, so the copy shares them: in hybrid and
 * quantum they are several KiB per state, copied on every message for nothing. (Hand-written:
 * structuredClone was the single largest cost per message.)
 */
export function cloneState(state: RatchetState): RatchetState {
  return {
    ...state,
    sessionId: copy(state.sessionId),
    rootKey: copy(state.rootKey),
    sendChainKey: copyOrNull(state.sendChainKey),
    sendHeaderKey: copyOrNull(state.sendHeaderKey),
    nextSendHeaderKey: copy(state.nextSendHeaderKey),
    sendDh: state.sendDh ? { publicKey: state.sendDh.publicKey, seed: copy(state.sendDh.seed) } : null,
    sendStep: { ...state.sendStep },
    recvChainKey: copyOrNull(state.recvChainKey),
    recvHeaderKey: copyOrNull(state.recvHeaderKey),
    nextRecvHeaderKey: copy(state.nextRecvHeaderKey),
    ourOffer: state.ourOffer ? { ek: state.ourOffer.ek, seed: copy(state.ourOffer.seed) } : null,
    skipped: state.skipped.map((entry) => ({
      headerKey: copy(entry.headerKey),
      n: entry.n,
      messageKey: copy(entry.messageKey),
    })),
    previousRecvHeaderKeys: state.previousRecvHeaderKeys.map(copy),
    firstChainHeaderKey: copyOrNull(state.firstChainHeaderKey),
    pending: state.pending
      ? {
          handshake: copy(state.pending.handshake),
          transcriptHash: state.pending.transcriptHash,
          sealKey: state.pending.sealKey,
        }
      : null,
  };
}

/** Every secret byte array of a state: what is wiped when the state is deleted or superseded. */
export function ratchetSecrets(state: RatchetState): Uint8Array[] {
  const secrets: (Uint8Array | null | undefined)[] = [
    state.rootKey,
    state.sendChainKey,
    state.sendHeaderKey,
    state.nextSendHeaderKey,
    state.sendDh?.seed,
    state.recvChainKey,
    state.recvHeaderKey,
    state.nextRecvHeaderKey,
    state.ourOffer?.seed,
    state.firstChainHeaderKey,
    ...state.previousRecvHeaderKeys,
    ...state.skipped.flatMap((entry) => [entry.headerKey, entry.messageKey]),
  ];
  return secrets.filter((secret): secret is Uint8Array => secret != null);
}

/** Overwrites every secret of a state that is being deleted (a session dropped or superseded). */
export function wipeRatchetState(state: RatchetState): void {
  for (const secret of ratchetSecrets(state)) wipe(secret);
}
