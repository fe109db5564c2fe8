import type { SuiteId } from "../crypto/index.ts";
import type { IdentityKeys, IdentityRecord } from "./identity-record.ts";
import type { PrekeySecret, SignedPrekey } from "./prekey.ts";

/**
 * Store interfaces (docs/protocol.md §11.3). Stores hold serialized records and are async; the
 * in-memory implementations below are the reference the tests use and what real adapters must match.
 * `commitFirstContact` is one durable transaction: replay-cache entry, session record and the deletion
 * of consumed one-time secrets succeed or fail together.
 */
export interface Contact {
  readonly record: IdentityRecord;
  /** Lowest suite a new session with this contact may use. */
  readonly pin: SuiteId;
  /**
   * A verified record that differs from `record` (docs/protocol.md §11.2): while set, sending to and
   * receiving from this contact fail with `identity_changed` until `acceptIdentity`. Adapters must
   * persist it with the contact, or the block is lost on restart.
   */
  readonly changed?: IdentityRecord;
}

export interface IdentityStore {
  ownIdentity(): Promise<{ keys: IdentityKeys; record: IdentityRecord }>;
  getContact(username: string): Promise<Contact | undefined>;
  putContact(username: string, contact: Contact): Promise<void>;
}

export interface HeldPrekeyRecord {
  readonly prekey: SignedPrekey;
  /** null once consumed: the public part stays so repeated first contacts can be recognised. */
  readonly seed: Uint8Array | null;
}

export interface PrekeyStore {
  get(suite: SuiteId, id: number): Promise<HeldPrekeyRecord | undefined>;
  put(secret: PrekeySecret): Promise<void>;
  list(): Promise<readonly SignedPrekey[]>;
  /** Deletes the secret and the record entirely (expiry). */
  remove(suite: SuiteId, id: number): Promise<void>;
}

export interface SessionStore {
  load(username: string): Promise<Uint8Array | undefined>;
  store(username: string, record: Uint8Array): Promise<void>;
}

export interface ReplayCache {
  has(handshakeHash: Uint8Array): Promise<boolean>;
  /** Entries live until the named (last-resort or signed) prekey is deleted. */
  add(handshakeHash: Uint8Array, prekey: { suite: SuiteId; id: number }): Promise<void>;
  removeFor(prekey: { suite: SuiteId; id: number }): Promise<void>;
}

export interface FirstContactCommit {
  readonly peer: string;
  readonly sessions: Uint8Array;
  readonly contact: Contact;
  readonly replay: { handshakeHash: Uint8Array; prekey: { suite: SuiteId; id: number } };
  readonly consumed: readonly { suite: SuiteId; id: number }[];
}

export interface ProtocolStores {
  readonly identity: IdentityStore;
  readonly prekeys: PrekeyStore;
  readonly sessions: SessionStore;
  readonly replay: ReplayCache;
  commitFirstContact(commit: FirstContactCommit): Promise<void>;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const prekeyKey = (suite: SuiteId, id: number) => `${suite}:${id}`;

/** The in-memory reference stores. Values are copied in and out, as a real store would. */
export class MemoryStores implements ProtocolStores {
  readonly contacts = new Map<string, Contact>();
  readonly prekeyMap = new Map<string, HeldPrekeyRecord>();
  readonly sessionMap = new Map<string, Uint8Array>();
  readonly replayMap = new Map<string, string>();
  private readonly own: { keys: IdentityKeys; record: IdentityRecord };

  constructor(keys: IdentityKeys, record: IdentityRecord) {
    this.own = { keys, record };
  }

  readonly identity: IdentityStore = {
    ownIdentity: async () => this.own,
    getContact: async (username) => this.contacts.get(username),
    putContact: async (username, contact) => {
      this.contacts.set(username, contact);
    },
  };

  readonly prekeys: PrekeyStore = {
    get: async (suite, id) => {
      const held = this.prekeyMap.get(prekeyKey(suite, id));
      return held && { prekey: held.prekey, seed: held.seed?.slice() ?? null };
    },
    put: async (secret) => {
      this.prekeyMap.set(prekeyKey(secret.prekey.suite.id, secret.prekey.id), {
        prekey: secret.prekey,
        seed: secret.seed.slice(),
      });
    },
    list: async () => [...this.prekeyMap.values()].map((held) => held.prekey),
    remove: async (suite, id) => {
      this.prekeyMap.get(prekeyKey(suite, id))?.seed?.fill(0);
      this.prekeyMap.delete(prekeyKey(suite, id));
    },
  };

  readonly sessions: SessionStore = {
    load: async (username) => this.sessionMap.get(username)?.slice(),
    store: async (username, record) => {
      this.sessionMap.set(username, record.slice());
    },
  };

  readonly replay: ReplayCache = {
    has: async (hash) => this.replayMap.has(hex(hash)),
    add: async (hash, prekey) => {
      this.replayMap.set(hex(hash), prekeyKey(prekey.suite, prekey.id));
    },
    removeFor: async (prekey) => {
      for (const [hash, owner] of this.replayMap)
        if (owner === prekeyKey(prekey.suite, prekey.id)) this.replayMap.delete(hash);
    },
  };

  async commitFirstContact(commit: FirstContactCommit): Promise<void> {
    this.replayMap.set(
      hex(commit.replay.handshakeHash),
      prekeyKey(commit.replay.prekey.suite, commit.replay.prekey.id),
    );
    this.sessionMap.set(commit.peer, commit.sessions.slice());
    this.contacts.set(commit.peer, commit.contact);
    for (const { suite, id } of commit.consumed) {
      const held = this.prekeyMap.get(prekeyKey(suite, id));
      if (held) {
        held.seed?.fill(0);
        this.prekeyMap.set(prekeyKey(suite, id), { prekey: held.prekey, seed: null });
      }
    }
  }
}
