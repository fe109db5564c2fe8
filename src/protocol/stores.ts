import { toHex } from "../crypto/bytes.ts";
import type { SuiteId } from "../crypto/suite-ids.ts";
import type { IdentityKeys, IdentityRecord } from "./identity-record.ts";
import type { PrekeySecret, SignedPrekey } from "./prekey.ts";

/**
 * What the protocol's decisions read and what they ask to have written (docs/protocol.md §11.3).
 * Decisions (`startSession`, `sendMessage`, `receiveMessage`, ...) only READ, through a
 * `ProtocolView`, and return a `ProtocolWrites` for the caller to commit in ONE transaction together
 * with whatever it adds (the plaintext, an outbox entry). Nothing is written and then undone, and an
 * expected outcome is a value, not an exception. Stores hold serialized records; `MemoryStores` is the
 * in-memory reference the tests use and what real adapters must match.
 */
export interface Contact {
  readonly record: IdentityRecord;
  /** Lowest suite a new session with this contact may use. */
  readonly pin: SuiteId;
  /**
   * A verified record that differs from `record` (docs/protocol.md §11.2): while set, sending to and
   * receiving from this contact are blocked until `acceptIdentity`. Adapters must persist it with the
   * contact, or the block is lost on restart.
   */
  readonly changed?: IdentityRecord;
}

export interface OwnIdentity {
  readonly keys: IdentityKeys;
  readonly record: IdentityRecord;
}

export interface HeldPrekeyRecord {
  readonly prekey: SignedPrekey;
  /** null once consumed: the public part stays so repeated first contacts can be recognised. */
  readonly seed: Uint8Array | null;
}

export interface PrekeyRef {
  readonly suite: SuiteId;
  readonly id: number;
}

/** Read-only access to the records a decision needs. Values are copies the decision may keep. */
export interface ProtocolView {
  ownIdentity(): Promise<OwnIdentity>;
  /** Stored contacts were verified when stored: their records are trusted without another check. */
  getContact(username: string): Promise<Contact | undefined>;
  getPrekey(suite: SuiteId, id: number): Promise<HeldPrekeyRecord | undefined>;
  listPrekeys(): Promise<readonly SignedPrekey[]>;
  /** The contact's ContactSessions record (session-record.ts). */
  loadSessions(username: string): Promise<Uint8Array | undefined>;
  /** H(TH) of a first contact that started a session (entries live until their anchor prekey goes). */
  hasReplay(handshakeHash: Uint8Array): Promise<boolean>;
  /** A first contact (or its transcript) refused before: refused again for one lookup (§7.7). */
  wasRefused(key: Uint8Array): Promise<boolean>;
}

export interface ProtocolWrites {
  readonly contacts: readonly { readonly username: string; readonly contact: Contact }[];
  readonly sessions: readonly { readonly username: string; readonly record: Uint8Array }[];
  /** Replay-cache entries, each kept until its anchor prekey is removed. */
  readonly replay: readonly { readonly handshakeHash: Uint8Array; readonly anchor: PrekeyRef }[];
  /** One-time prekeys used up: the secret is deleted, the public prekey stays (it names replays). */
  readonly consumedPrekeys: readonly PrekeyRef[];
  /** Expired prekeys: deleted entirely, with the replay entries anchored to them. */
  readonly removedPrekeys: readonly PrekeyRef[];
  /** Keys of refused first contacts: a copy is refused for one lookup instead of a handshake. */
  readonly refused: readonly Uint8Array[];
}

export const NO_WRITES: ProtocolWrites = Object.freeze({
  contacts: Object.freeze([]),
  sessions: Object.freeze([]),
  replay: Object.freeze([]),
  consumedPrekeys: Object.freeze([]),
  removedPrekeys: Object.freeze([]),
  refused: Object.freeze([]),
});

export function writes(parts: Partial<ProtocolWrites>): ProtocolWrites {
  return { ...NO_WRITES, ...parts };
}

export function isEmpty(w: ProtocolWrites): boolean {
  return Object.values(w).every((list: readonly unknown[]) => list.length === 0);
}

/**
 * A store a client commits decisions to. `apply` runs inside the caller's transaction: every write of
 * one decision (and what the caller adds) commits together or not at all (§7.7 step 7).
 */
export interface ProtocolStore extends ProtocolView {
  apply(writes: ProtocolWrites): Promise<void>;
  /** The owner's new prekey secrets (prekey upkeep, not a decision about a message). */
  putPrekey(secret: PrekeySecret): Promise<void>;
}

/** Refused first-contact keys kept by the reference store; the oldest go first. */
export const MAX_REFUSED_KEYS = 4096;

const prekeyKey = (suite: SuiteId, id: number) => `${suite}:${id}`;

/** The in-memory reference store. Values are copied in and out, as a real store would. */
export class MemoryStores implements ProtocolStore {
  readonly contacts = new Map<string, Contact>();
  readonly prekeyMap = new Map<string, HeldPrekeyRecord>();
  readonly sessionMap = new Map<string, Uint8Array>();
  readonly replayMap = new Map<string, string>();
  readonly refusedSet = new Set<string>();
  private readonly own: OwnIdentity;

  constructor(keys: IdentityKeys, record: IdentityRecord) {
    this.own = { keys, record };
  }

  async ownIdentity(): Promise<OwnIdentity> {
    return this.own;
  }

  async getContact(username: string): Promise<Contact | undefined> {
    return this.contacts.get(username);
  }

  async getPrekey(suite: SuiteId, id: number): Promise<HeldPrekeyRecord | undefined> {
    const held = this.prekeyMap.get(prekeyKey(suite, id));
    return held && { prekey: held.prekey, seed: held.seed?.slice() ?? null };
  }

  async listPrekeys(): Promise<readonly SignedPrekey[]> {
    return [...this.prekeyMap.values()].map((held) => held.prekey);
  }

  async loadSessions(username: string): Promise<Uint8Array | undefined> {
    return this.sessionMap.get(username)?.slice();
  }

  async hasReplay(handshakeHash: Uint8Array): Promise<boolean> {
    return this.replayMap.has(toHex(handshakeHash));
  }

  async wasRefused(key: Uint8Array): Promise<boolean> {
    return this.refusedSet.has(toHex(key));
  }

  async putPrekey(secret: PrekeySecret): Promise<void> {
    this.prekeyMap.set(prekeyKey(secret.prekey.suite.id, secret.prekey.id), {
      prekey: secret.prekey,
      seed: secret.seed.slice(),
    });
  }

  async apply(w: ProtocolWrites): Promise<void> {
    for (const { username, contact } of w.contacts) this.contacts.set(username, contact);
    for (const { username, record } of w.sessions) this.sessionMap.set(username, record.slice());
    for (const { handshakeHash, anchor } of w.replay) {
      this.replayMap.set(toHex(handshakeHash), prekeyKey(anchor.suite, anchor.id));
    }
    for (const { suite, id } of w.consumedPrekeys) {
      const held = this.prekeyMap.get(prekeyKey(suite, id));
      if (held) {
        held.seed?.fill(0);
        this.prekeyMap.set(prekeyKey(suite, id), { prekey: held.prekey, seed: null });
      }
    }
    for (const { suite, id } of w.removedPrekeys) {
      const key = prekeyKey(suite, id);
      this.prekeyMap.get(key)?.seed?.fill(0);
      this.prekeyMap.delete(key);
      for (const [hash, owner] of this.replayMap) if (owner === key) this.replayMap.delete(hash);
    }
    for (const key of w.refused) {
      this.refusedSet.add(toHex(key));
      if (this.refusedSet.size > MAX_REFUSED_KEYS) {
        this.refusedSet.delete(this.refusedSet.values().next().value!);
      }
    }
  }
}
