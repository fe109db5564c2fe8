/**
 * A two-party conversation over the protocol's decisions and the in-memory store, written once over a
 * CryptoProvider: the same code runs in Node (nodeProvider) and, bundled, in Chromium (both browser
 * providers) — test/browser/protocol-session.test.ts and the ratchet rate of `npm run bench -- browser`.
 * No `node:` import and no Buffer: this module is bundled into pages. Everything that crosses between
 * the runtimes is bytes (hex in transit): records, bundles, envelopes, session records, key seeds.
 */
import { fromHex, toHex } from "../../src/crypto/bytes.ts";
import type { CryptoProvider } from "../../src/crypto/provider/index.ts";
import type { SuiteId } from "../../src/crypto/suite-ids.ts";
import { decodeBundleExact, encodeBundle } from "../../src/protocol/bundle.ts";
import { decodeEnvelope } from "../../src/protocol/envelope.ts";
import {
  createIdentityRecord,
  decodeIdentityRecordExact,
  generateIdentityKeys,
  type IdentityKeys,
  type IdentityRecord,
} from "../../src/protocol/identity-record.ts";
import { wipeConsumed } from "../../src/protocol/outcomes.ts";
import { generatePrekey, PREKEY_ROLES, type PrekeySecret } from "../../src/protocol/prekey.ts";
import { receiveMessage } from "../../src/protocol/receive-message.ts";
import { SELECTION } from "../../src/protocol/selection.ts";
import { sendMessage } from "../../src/protocol/send-message.ts";
import { startSession } from "../../src/protocol/session-start.ts";
import { MemoryStores } from "../../src/protocol/stores.ts";

export interface Party {
  readonly name: string;
  readonly provider: CryptoProvider;
  readonly keys: IdentityKeys;
  readonly record: IdentityRecord;
  readonly stores: MemoryStores;
}

/** A new identity accepting only `suiteId`, its record signed at `now - 1000`. */
export async function makeParty(
  provider: CryptoProvider,
  name: string,
  suiteId: SuiteId,
  now: number,
): Promise<Party> {
  const keys = await generateIdentityKeys(provider, name, [suiteId]);
  const record = await createIdentityRecord(provider, keys, suiteId, { created: now - 1000 });
  return { name, provider, keys, record, stores: new MemoryStores(keys, record) };
}

/** The owner's bundle for its suite (every prekey slot filled), the secrets kept in its store. */
export async function publishBundle(owner: Party, now: number): Promise<Uint8Array> {
  const suite = owner.provider.suite(owner.record.preferred);
  const make = (role: (typeof PREKEY_ROLES)[keyof typeof PREKEY_ROLES]) =>
    generatePrekey(owner.provider, owner.keys, owner.record, suite.id, role, { created: now - 1000 });
  const signedDh = suite.agreement ? await make(PREKEY_ROLES.signedDh) : null;
  const pq = suite.ratchetKem ? await make(PREKEY_ROLES.pqOneTime) : null;
  const oneTime = suite.agreement ? await make(PREKEY_ROLES.oneTimeDh) : null;
  for (const secret of [signedDh, pq, oneTime].filter((s): s is PrekeySecret => s !== null)) {
    await owner.stores.putPrekey(secret);
  }
  return encodeBundle(
    suite.id,
    owner.record,
    signedDh?.prekey ?? null,
    pq?.prekey ?? null,
    oneTime?.prekey ?? null,
  );
}

function fail(what: string, outcome: { kind: string; error?: { code: string } }): never {
  throw new Error(`${what}: ${outcome.kind}${outcome.error ? ` (${outcome.error.code})` : ""}`);
}

/** `from` verifies the bundle (its record and every prekey signature) and starts a session. */
export async function startWith(from: Party, bundleBytes: Uint8Array, now: number): Promise<void> {
  const bundle = await decodeBundleExact(from.provider, bundleBytes, now);
  const outcome = await startSession(
    from.provider,
    from.stores,
    { bundle, selection: SELECTION.default },
    { now },
  );
  if (outcome.kind !== "started") fail("start", outcome);
  await from.stores.apply(outcome.writes);
  wipeConsumed(outcome);
}

export async function send(from: Party, peer: string, content: Uint8Array, now: number): Promise<Uint8Array> {
  const outcome = await sendMessage(from.provider, from.stores, { peer, content }, { now });
  if (outcome.kind !== "sent") fail("send", outcome);
  await from.stores.apply(outcome.writes);
  wipeConsumed(outcome);
  return outcome.envelope;
}

/**
 * `at` receives from `sender`; `proven` is the sender's record as key transparency would prove it (the
 * decision asks for it at a first contact only).
 */
export async function receive(
  at: Party,
  sender: string,
  envelopeBytes: Uint8Array,
  proven: IdentityRecord,
  now: number,
): Promise<Uint8Array> {
  const envelope = decodeEnvelope(at.provider, envelopeBytes);
  let outcome = await receiveMessage(at.provider, at.stores, { relaySender: sender, envelope }, { now });
  if (outcome.kind === "needs_record") {
    outcome = await receiveMessage(
      at.provider,
      at.stores,
      { relaySender: sender, envelope, provenRecord: proven },
      { now },
    );
  }
  if (outcome.kind !== "delivered") fail("receive", outcome);
  await at.stores.apply(outcome.writes);
  wipeConsumed(outcome);
  return outcome.content;
}

/** A record made in the other runtime, decoded (so every signature verified) with this one's provider. */
export function importRecord(provider: CryptoProvider, hex: string): Promise<IdentityRecord> {
  return decodeIdentityRecordExact(provider, fromHex(hex));
}

/** What a party needs to continue in another runtime: its key seeds, record and session records. */
export interface ExportedParty {
  readonly name: string;
  readonly record: string;
  readonly seeds: readonly { suite: number; signature: string; agreement: string | null; kem: string }[];
  readonly sessions: readonly (readonly [string, string])[];
  readonly contacts: readonly { readonly username: string; readonly record: string; readonly pin: number }[];
}

export function exportParty(party: Party): ExportedParty {
  return {
    name: party.name,
    record: toHex(party.record.encoded),
    seeds: party.keys.suites.map((pairs) => ({
      suite: pairs.suite.id,
      signature: toHex(pairs.signature.seed),
      agreement: pairs.agreement ? toHex(pairs.agreement.seed) : null,
      kem: toHex(pairs.kem.seed),
    })),
    sessions: [...party.stores.sessionMap].map(([peer, bytes]) => [peer, toHex(bytes)] as const),
    contacts: [...party.stores.contacts].map(([username, contact]) => ({
      username,
      record: toHex(contact.record.encoded),
      pin: contact.pin,
    })),
  };
}

/** The party rebuilt over `provider`: keys re-expanded from the seeds, records verified again. */
export async function importParty(provider: CryptoProvider, exported: ExportedParty): Promise<Party> {
  const keys: IdentityKeys = {
    username: exported.name,
    suites: await Promise.all(
      exported.seeds.map(async (seed) => {
        const suite = provider.suite(seed.suite);
        return {
          suite,
          signature: await suite.signature.keygen(fromHex(seed.signature)),
          agreement:
            suite.agreement && seed.agreement ? await suite.agreement.keygen(fromHex(seed.agreement)) : null,
          kem: await suite.kem.keygen(fromHex(seed.kem)),
        };
      }),
    ),
  };
  const record = await importRecord(provider, exported.record);
  const stores = new MemoryStores(keys, record);
  for (const [peer, hex] of exported.sessions) stores.sessionMap.set(peer, fromHex(hex));
  for (const contact of exported.contacts) {
    stores.contacts.set(contact.username, {
      record: await importRecord(provider, contact.record),
      pin: contact.pin as SuiteId,
    });
  }
  return { name: exported.name, provider, keys, record, stores };
}
