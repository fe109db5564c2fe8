import { type SuiteId, utf8 } from "../../src/crypto/index.ts";
import { encodeBundle } from "../../src/protocol/bundle.ts";
import { generatePrekey, PREKEY_ROLES, type PrekeySecret } from "../../src/protocol/prekey.ts";
import { selectSuite } from "../../src/protocol/selection.ts";
import { MemoryStores } from "../../src/protocol/stores.ts";
import { DIRECTORY, receiveMessage, sendMessage, startSession } from "./_driver.ts";
import { acceptedFor, makeIdentity, NOW, provider, type TestIdentity } from "./_fixtures.ts";

export interface Party extends TestIdentity {
  readonly name: string;
  readonly stores: MemoryStores;
}

/**
 * A party with its own stores. Its record is published to the test directory (what key transparency
 * would prove for its name) unless `publish` is false: an attacker's record under someone else's name.
 */
export async function makeParty(
  name: string,
  preferred: SuiteId,
  accepted = acceptedFor(preferred),
  options: { readonly publish?: boolean } = {},
): Promise<Party> {
  const identity = await makeIdentity(name, preferred, accepted);
  if (options.publish !== false) DIRECTORY.publish(identity.record);
  return { ...identity, name, stores: new MemoryStores(identity.keys, identity.record) };
}

export interface BundleOptions {
  readonly oneTimeDh?: boolean;
  readonly pqLastResort?: boolean;
  readonly now?: number;
}

/** The owner generates prekeys for `suite`, stores the secrets and returns what the relay would serve. */
export async function publishBundle(
  owner: Party,
  suiteId: SuiteId,
  options: BundleOptions = {},
): Promise<{ bundle: Uint8Array; secrets: PrekeySecret[] }> {
  const suite = provider.suite(suiteId);
  const created = (options.now ?? NOW) - 1000;
  const make = (role: (typeof PREKEY_ROLES)[keyof typeof PREKEY_ROLES]) =>
    generatePrekey(provider, owner.keys, owner.record, suiteId, role, { created });
  const signedDh = suite.agreement ? await make(PREKEY_ROLES.signedDh) : null;
  const pq = suite.ratchetKem
    ? await make(options.pqLastResort ? PREKEY_ROLES.pqLastResort : PREKEY_ROLES.pqOneTime)
    : null;
  const oneTime = suite.agreement && options.oneTimeDh !== false ? await make(PREKEY_ROLES.oneTimeDh) : null;
  const secrets = [signedDh, pq, oneTime].filter((s): s is PrekeySecret => s !== null);
  for (const secret of secrets) await owner.stores.putPrekey(secret);
  const bundle = encodeBundle(
    suiteId,
    owner.record,
    signedDh?.prekey ?? null,
    pq?.prekey ?? null,
    oneTime?.prekey ?? null,
  );
  return { bundle, secrets };
}

/** Alice starts a session with Bob using the default selection rule and sends `first`. */
export async function connect(
  alice: Party,
  bob: Party,
  options: BundleOptions & { explicit?: SuiteId } = {},
): Promise<{ suite: SuiteId; first: Uint8Array }> {
  const { suite, selection } = selectSuite(
    alice.record,
    bob.record,
    options.explicit === undefined ? {} : { explicit: options.explicit },
  );
  const { bundle } = await publishBundle(bob, suite.id, options);
  await startSession(alice.stores, bundle, selection, { now: options.now ?? NOW });
  const first = await sendMessage(alice.stores, bob.name, utf8("hello"), { now: options.now ?? NOW });
  return { suite: suite.id, first };
}

export async function roundTrip(from: Party, to: Party, text: string, now = NOW): Promise<string> {
  const envelope = await sendMessage(from.stores, to.name, utf8(text), { now });
  const received = await receiveMessage(to.stores, from.name, envelope, { now });
  return new TextDecoder().decode(received.content);
}

/** Every stored byte of a party: used to assert that a failure changed nothing. */
export function snapshot(party: Party): string {
  const s = party.stores;
  const hex = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString("hex") : "-");
  return JSON.stringify({
    sessions: [...s.sessionMap].map(([k, v]) => [k, hex(v)]),
    prekeys: [...s.prekeyMap].map(([k, v]) => [k, hex(v.prekey.encoded), hex(v.seed)]),
    replay: [...s.replayMap],
    contacts: [...s.contacts].map(([k, v]) => [k, hex(v.record.hash), v.pin, hex(v.changed?.hash)]),
  });
}

import { DEFAULT_LIMITS, type ProtocolLimits } from "../../src/protocol/limits.ts";
import type { RatchetState } from "../../src/protocol/ratchet-state.ts";
import { decodeEnvelope, decryptContent, encryptContent } from "../../src/protocol/session-cipher.ts";
import { decodeContactSessions, encodeRatchetState } from "../../src/protocol/session-record.ts";

export function activeState(party: Party, peer: string): RatchetState {
  const bytes = party.stores.sessionMap.get(peer);
  if (!bytes) throw new Error(`${party.name} has no sessions with ${peer}`);
  const state = decodeContactSessions(provider, bytes).active;
  if (!state) throw new Error("no active session");
  return state;
}

/** Alice and Bob with a session in `suiteId`, after Alice's first contact and Bob's first reply. */
export async function establishPair(
  suiteId: SuiteId,
): Promise<{ alice: Party; bob: Party; a: RatchetState; b: RatchetState }> {
  const alice = await makeParty("alice", suiteId, [suiteId]);
  const bob = await makeParty("bob", suiteId, [suiteId]);
  const { first } = await connect(alice, bob);
  await receiveMessage(bob.stores, "alice", first, { now: NOW });
  await roundTrip(bob, alice, "reply");
  return { alice, bob, a: activeState(alice, "bob"), b: activeState(bob, "alice") };
}

export interface Sent {
  readonly state: RatchetState;
  readonly envelope: Uint8Array;
}

export function send(
  state: RatchetState,
  from: Party,
  text: string | Uint8Array,
  limits: ProtocolLimits = DEFAULT_LIMITS,
  now = NOW,
): Promise<Sent> {
  const content = typeof text === "string" ? utf8(text) : text;
  return encryptContent(state, from.keys, content, { provider, now, limits });
}

export async function deliver(
  state: RatchetState,
  envelope: Uint8Array,
  limits: ProtocolLimits = DEFAULT_LIMITS,
  now = NOW,
): Promise<{ state: RatchetState; text: string; content: Uint8Array }> {
  const { state: next, content } = await decryptContent(state, decodeEnvelope(provider, envelope), {
    provider,
    now,
    limits,
  });
  return { state: next, content, text: new TextDecoder().decode(content) };
}

export function stateBytes(state: RatchetState): string {
  return Buffer.from(encodeRatchetState(state)).toString("hex");
}
