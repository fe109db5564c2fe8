import { equalBytes, type SuiteId } from "../../crypto/index.ts";
import {
  type Contact,
  decodeSignedPrekeyExact,
  type FirstContactCommit,
  type IdentityRecord,
  type IdentityStore,
  type PrekeySecret,
  type PrekeyStore,
  type ProtocolStores,
  type ReplayCache,
  type SessionStore,
} from "../../protocol/index.ts";
import type { OwnIdentity } from "../home/local-identity.ts";
import { VerifiedRecords } from "../trust/verified-records.ts";
import type { ContactRecord, LocalTables } from "./local-store.ts";

/**
 * The protocol's store interfaces (src/protocol/stores.ts) over the sealed local database. Every
 * method works on the `LocalTables` of the transaction the caller opened, so a whole protocol call
 * (receive: session, contact, replay entry, consumed prekeys, and the plaintext the caller adds)
 * commits in ONE durable transaction or not at all (DESIGN.md "Commit state and plaintext before
 * acknowledging"). Never call these outside `LocalStore.transaction`.
 */

/** The prekey row key: u16 suite || u32 id. Ids are random per prekey, so the suite disambiguates. */
export function prekeyRowId(suite: SuiteId, id: number): Uint8Array {
  const out = new Uint8Array(6);
  const view = new DataView(out.buffer);
  view.setUint16(0, suite);
  view.setUint32(2, id);
  return out;
}

/** The sealed `secret` of a prekey row: u32 length || signed prekey || seed (empty once consumed). */
function packPrekey(encoded: Uint8Array, seed: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(4 + encoded.length + (seed?.length ?? 0));
  new DataView(out.buffer).setUint32(0, encoded.length);
  out.set(encoded, 4);
  if (seed) out.set(seed, 4 + encoded.length);
  return out;
}

function unpackPrekey(packed: Uint8Array): { encoded: Uint8Array; seed: Uint8Array | null } {
  const length = new DataView(packed.buffer, packed.byteOffset, packed.length).getUint32(0);
  const encoded = packed.slice(4, 4 + length);
  const rest = packed.slice(4 + length);
  return { encoded, seed: rest.length === 0 ? null : rest };
}

const SESSION_ROW_PREFIX = "contact-sessions:";

export function contactFromRecord(record: ContactRecord, records: VerifiedRecords): Contact {
  const changed = record.changedIdentityRecord;
  return {
    record: records.verified(record.identityRecord),
    pin: record.pinnedSuite,
    ...(changed === undefined ? {} : { changed: records.verified(changed) }),
  };
}

/** Told when the protocol blocks a contact (a changed identity), so it can outlive a rolled-back call. */
export type BlockListener = (username: string, changed: IdentityRecord) => void;

export interface ProtocolStoresOptions {
  /** The open client's verified records (ClientContext.records); a fresh memory when absent. */
  readonly records?: VerifiedRecords;
  /**
   * The protocol stores the block and then throws `identity_changed`, which rolls the caller's
   * transaction back; the caller persists the block again from this callback.
   */
  readonly onBlocked?: BlockListener;
}

export class LocalProtocolStores implements ProtocolStores {
  readonly #tables: LocalTables;
  readonly #own: OwnIdentity;
  readonly #now: number;
  readonly #records: VerifiedRecords;
  readonly #onBlocked: BlockListener | undefined;

  constructor(tables: LocalTables, own: OwnIdentity, now: number, options: ProtocolStoresOptions = {}) {
    this.#tables = tables;
    this.#own = own;
    this.#now = now;
    this.#records = options.records ?? new VerifiedRecords();
    this.#onBlocked = options.onBlocked;
  }

  readonly identity: IdentityStore = {
    ownIdentity: async () => ({ keys: this.#own.keys, record: this.#own.record }),
    getContact: async (username) => {
      const stored = this.#tables.getContact(username);
      return stored === null ? undefined : contactFromRecord(stored, this.#records);
    },
    putContact: async (username, contact) => this.#putContact(username, contact),
  };

  #putContact(username: string, contact: Contact): void {
    const existing = this.#tables.getContact(username);
    const sameIdentity = existing !== null && equalBytes(existing.identityRecord, contact.record.encoded);
    if (contact.changed !== undefined) this.#onBlocked?.(username, contact.changed);
    this.#tables.putContact({
      username,
      identityRecord: contact.record.encoded,
      pinnedSuite: contact.pin,
      // A new identity is never "verified" by inheritance: the safety number changed with it.
      verified: sameIdentity ? existing.verified : false,
      safetyNumberConfirmedAt: sameIdentity ? existing.safetyNumberConfirmedAt : null,
      // Sealed with the contact, so the block survives a restart until acceptIdentity clears it.
      identityChanged: contact.changed !== undefined,
      ...(contact.changed === undefined ? {} : { changedIdentityRecord: contact.changed.encoded }),
      addedAt: existing?.addedAt ?? this.#now,
      updatedAt: this.#now,
    });
  }

  readonly prekeys: PrekeyStore = {
    get: async (suite, id) => {
      const row = this.#tables.getPrekeySecret(prekeyRowId(suite, id));
      if (row === null) return undefined;
      const { encoded, seed } = unpackPrekey(row.secret);
      return { prekey: decodeSignedPrekeyExact(encoded), seed };
    },
    put: async (secret: PrekeySecret) => {
      const { prekey } = secret;
      this.#tables.putPrekeySecret({
        id: prekeyRowId(prekey.suite.id, prekey.id),
        suite: prekey.suite.id,
        role: String(prekey.role),
        secret: packPrekey(prekey.encoded, secret.seed),
        createdAt: prekey.created,
        expiresAt: prekey.expires,
        lastResort: prekey.lastResort,
      });
    },
    list: async () =>
      this.#tables
        .listPrekeySecrets()
        .map((row) => decodeSignedPrekeyExact(unpackPrekey(row.secret).encoded)),
    remove: async (suite, id) => {
      this.#tables.deletePrekeySecret(prekeyRowId(suite, id));
    },
  };

  readonly sessions: SessionStore = {
    load: async (username) => this.#tables.getSessions(username)[0]?.state,
    store: async (username, record) => {
      this.#tables.putSession({
        sessionId: new TextEncoder().encode(SESSION_ROW_PREFIX + username),
        peer: username,
        state: record,
        updatedAt: this.#now,
        archived: false,
      });
    },
  };

  /**
   * The local table keeps an expiry per entry rather than the anchoring prekey: an entry expires with
   * the prekey it is anchored to, which is what `removeFor` achieves at rotation time.
   */
  readonly replay: ReplayCache = {
    has: async (hash) => this.#tables.hasReplay(hash),
    add: async (hash, prekey) => {
      this.#tables.rememberReplay(hash, this.#expiryOf(prekey.suite, prekey.id));
    },
    removeFor: async () => {
      this.#tables.pruneReplay(this.#now);
    },
  };

  #expiryOf(suite: SuiteId, id: number): number {
    const row = this.#tables.getPrekeySecret(prekeyRowId(suite, id));
    // Unknown anchor: keep the entry for the longest a signed prekey may live.
    return row?.expiresAt ?? this.#now + 30 * 24 * 3600 * 1000;
  }

  async commitFirstContact(commit: FirstContactCommit): Promise<void> {
    // Already inside the caller's transaction: these writes commit together with the plaintext.
    await this.replay.add(commit.replay.handshakeHash, commit.replay.prekey);
    await this.sessions.store(commit.peer, commit.sessions);
    this.#putContact(commit.peer, commit.contact);
    for (const { suite, id } of commit.consumed) {
      // Used one-time private keys are deleted; the public part stays to recognise a replay.
      const held = await this.prekeys.get(suite, id);
      if (held === undefined) continue;
      held.seed?.fill(0);
      const row = this.#tables.getPrekeySecret(prekeyRowId(suite, id));
      if (row === null) continue;
      this.#tables.putPrekeySecret({ ...row, secret: packPrekey(held.prekey.encoded, null) });
    }
  }
}
