import { equalBytes } from "../../crypto/bytes.ts";
import type { CryptoProvider } from "../../crypto/provider/index.ts";
import type { SuiteId } from "../../crypto/suite-ids.ts";
import {
  type Contact,
  decodeSignedPrekeyExact,
  type HeldPrekeyRecord,
  type IdentityRecord,
  type PrekeySecret,
  type ProtocolStore,
  type ProtocolWrites,
  type SignedPrekey,
} from "../../protocol/index.ts";
import type { OwnIdentity } from "../home/own-identity.ts";
import { VerifiedRecords } from "../trust/verified-records.ts";
import type { ContactRecord } from "./local-records.ts";
import type { LocalTables } from "./local-tables.ts";

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

export async function contactFromRecord(record: ContactRecord, records: VerifiedRecords): Promise<Contact> {
  const changed = record.changedIdentityRecord;
  return {
    record: await records.verified(record.identityRecord),
    pin: record.pinnedSuite,
    ...(changed === undefined ? {} : { changed: await records.verified(changed) }),
  };
}

export interface ProtocolStoresOptions {
  /** The open client's crypto (ClientContext.provider): no default, so the browser store can use this. */
  readonly provider: CryptoProvider;
  /** The open client's verified records (ClientContext.records); a fresh memory when absent. */
  readonly records?: VerifiedRecords;
}

/** How long a refused first contact's key stays in the refusal cache (docs/protocol.md §7.7). */
export const REFUSAL_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * The protocol's store (src/protocol/stores.ts) over the sealed local database: the reads a decision
 * makes and `apply`, which writes a decision's outcome. Every method works on the `LocalTables` of
 * the transaction the caller opened, so a decision's writes and what the caller adds (the plaintext,
 * an outbox entry) commit together or not at all (DESIGN.md "Commit state and plaintext before
 * acknowledging"). Never call these outside `LocalStore.transaction`.
 */
export class LocalProtocolStores implements ProtocolStore {
  readonly #tables: LocalTables;
  readonly #own: OwnIdentity;
  readonly #now: number;
  readonly #records: VerifiedRecords;
  readonly provider: CryptoProvider;

  constructor(tables: LocalTables, own: OwnIdentity, now: number, options: ProtocolStoresOptions) {
    this.#tables = tables;
    this.#own = own;
    this.#now = now;
    this.provider = options.provider;
    this.#records = options.records ?? new VerifiedRecords(this.provider);
  }

  async ownIdentity(): Promise<{ keys: OwnIdentity["keys"]; record: IdentityRecord }> {
    return { keys: this.#own.keys, record: this.#own.record };
  }

  async getContact(username: string): Promise<Contact | undefined> {
    const stored = this.#tables.getContact(username);
    return stored === null ? undefined : contactFromRecord(stored, this.#records);
  }

  async getPrekey(suite: SuiteId, id: number): Promise<HeldPrekeyRecord | undefined> {
    const row = this.#tables.getPrekeySecret(prekeyRowId(suite, id));
    if (row === null) return undefined;
    const { encoded, seed } = unpackPrekey(row.secret);
    return { prekey: decodeSignedPrekeyExact(this.provider, encoded), seed };
  }

  async listPrekeys(): Promise<readonly SignedPrekey[]> {
    return this.#tables
      .listPrekeySecrets()
      .map((row) => decodeSignedPrekeyExact(this.provider, unpackPrekey(row.secret).encoded));
  }

  async loadSessions(username: string): Promise<Uint8Array | undefined> {
    return this.#tables.getSessions(username)[0]?.state;
  }

  async hasReplay(handshakeHash: Uint8Array): Promise<boolean> {
    return this.#tables.hasReplay(handshakeHash);
  }

  /**
   * Refusal keys live in the replay table: both are hashes of first contacts kept with an expiry, and a
   * refusal key is a BLAKE2b under its own label (`nano/v1/refused`), so it never equals an H(TH).
   */
  async wasRefused(key: Uint8Array): Promise<boolean> {
    return this.#tables.hasReplay(key);
  }

  async putPrekey(secret: PrekeySecret): Promise<void> {
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
  }

  async apply(writes: ProtocolWrites): Promise<void> {
    for (const { username, contact } of writes.contacts) this.#putContact(username, contact);
    for (const { username, record } of writes.sessions) {
      this.#tables.putSession({
        sessionId: new TextEncoder().encode(SESSION_ROW_PREFIX + username),
        peer: username,
        state: record,
        updatedAt: this.#now,
        archived: false,
      });
    }
    // The local table keeps an expiry per entry rather than the anchoring prekey: an entry expires
    // with the prekey it is anchored to, which is what pruning at rotation time achieves.
    for (const { handshakeHash, anchor } of writes.replay) {
      this.#tables.rememberReplay(handshakeHash, this.#expiryOf(anchor.suite, anchor.id));
    }
    for (const { suite, id } of writes.consumedPrekeys) {
      // Used one-time private keys are deleted; the public part stays to recognise a replay.
      const row = this.#tables.getPrekeySecret(prekeyRowId(suite, id));
      if (row === null) continue;
      const { encoded, seed } = unpackPrekey(row.secret);
      seed?.fill(0);
      this.#tables.putPrekeySecret({ ...row, secret: packPrekey(encoded, null) });
    }
    for (const { suite, id } of writes.removedPrekeys)
      this.#tables.deletePrekeySecret(prekeyRowId(suite, id));
    if (writes.removedPrekeys.length > 0) this.#tables.pruneReplay(this.#now);
    for (const key of writes.refused) this.#tables.rememberReplay(key, this.#now + REFUSAL_TTL_MS);
    // Used or expired prekey secrets, and a contact write (a new session, a risen pin, an accepted
    // identity: the moments sessions are dropped): their old row bytes must leave the WAL too.
    if (writes.consumedPrekeys.length + writes.removedPrekeys.length + writes.contacts.length > 0) {
      this.#tables.secretsDeleted();
    }
  }

  #putContact(username: string, contact: Contact): void {
    const existing = this.#tables.getContact(username);
    // A pending change voids the verification too: it was of the identity now superseded.
    const sameIdentity =
      existing !== null &&
      contact.changed === undefined &&
      equalBytes(existing.identityRecord, contact.record.encoded);
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

  #expiryOf(suite: SuiteId, id: number): number {
    const row = this.#tables.getPrekeySecret(prekeyRowId(suite, id));
    // Unknown anchor: keep the entry for the longest a signed prekey may live.
    return row?.expiresAt ?? this.#now + 30 * 24 * 3600 * 1000;
  }
}
