// Part of `npm run bench -- protocol`: what a first contact costs its recipient, honest and forged
// (audit finding 5, docs/protocol.md §7.7), next to what the forgery costs its maker; and what each
// fix of the protocol audit costs per message or per first contact. Everything is process CPU time
// measured in this run (the minimum over samples, as in _protocol-breakdown.ts), so the ratios hold
// on a machine shared with other processes.
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { blake2b, constantTimeEqual, hkdf, type SuiteId, utf8 } from "../src/crypto/index.ts";
import { KDF_LABELS, label, SIGNATURE_CONTEXTS } from "../src/crypto/labels.ts";
import { nodeProvider as provider } from "../src/crypto/node-provider.ts";
import type { ProviderSuite as Suite } from "../src/crypto/provider/index.ts";
import { Writer } from "../src/protocol/_codec.ts";
import type { Bundle } from "../src/protocol/bundle.ts";
import { decodeBundleExact, encodeBundle } from "../src/protocol/bundle.ts";
import { decodeEnvelope, encodeEnvelope, envelopePrefix } from "../src/protocol/envelope.ts";
import { encodeFirstContact } from "../src/protocol/first-contact.ts";
import { initiate, initiatorSignedMessage } from "../src/protocol/handshake.ts";
import {
  createIdentityRecord,
  decodeIdentityRecordExact,
  generateIdentityKeys,
  type IdentityKeys,
  type IdentityRecord,
  identityKeysFor,
} from "../src/protocol/identity-record.ts";
import { DEFAULT_LIMITS } from "../src/protocol/limits.ts";
import { pad } from "../src/protocol/padding.ts";
import { generatePrekey, PREKEY_ROLES, type PrekeySecret } from "../src/protocol/prekey.ts";
import { ratchetEncrypt } from "../src/protocol/ratchet.ts";
import { seal } from "../src/protocol/seal.ts";
import { checkPin, SELECTION } from "../src/protocol/selection.ts";
import { openFirstContact, sealContext } from "../src/protocol/session-cipher.ts";
import { MemoryStores } from "../src/protocol/stores.ts";
import { DIRECTORY, decideWithDirectory } from "../test/protocol/_driver.ts";

export interface CostOptions {
  readonly samples: number;
  readonly operations: number;
}

/** Keeps results observable so no engine can discard the work. */
export let costSink: unknown;

/** CPU µs per call of an async operation, the minimum over samples; `prepare` runs untimed. */
async function cpuMicros<T>(
  options: CostOptions,
  prepare: (i: number) => T | Promise<T>,
  operation: (input: T) => Promise<unknown> | unknown,
): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  let counter = 0;
  for (let sample = 0; sample < options.samples; sample++) {
    const inputs: T[] = [];
    for (let i = 0; i < options.operations; i++) inputs.push(await prepare(counter++));
    const start = process.cpuUsage();
    for (const input of inputs) costSink = await operation(input);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / options.operations);
  }
  return best;
}

interface Identity {
  readonly keys: IdentityKeys;
  readonly record: IdentityRecord;
}

async function identity(name: string, suite: Suite, now: number): Promise<Identity> {
  const keys = await generateIdentityKeys(provider, name, [suite.id]);
  return { keys, record: await createIdentityRecord(provider, keys, suite.id, { created: now - 1000 }) };
}

/** Bob's fresh bundle (its secrets in his store): every honest first contact uses its own. */
async function bundleFor(bob: Identity, stores: MemoryStores, suite: Suite, now: number) {
  const make = (role: (typeof PREKEY_ROLES)[keyof typeof PREKEY_ROLES]) =>
    generatePrekey(provider, bob.keys, bob.record, suite.id, role, { created: now - 1000 });
  const dh = suite.agreement ? await make(PREKEY_ROLES.signedDh) : null;
  const pq = suite.ratchetKem ? await make(PREKEY_ROLES.pqOneTime) : null;
  const otk = suite.agreement ? await make(PREKEY_ROLES.oneTimeDh) : null;
  for (const s of [dh, pq, otk].filter((x): x is PrekeySecret => x !== null)) await stores.putPrekey(s);
  return await decodeBundleExact(
    provider,
    encodeBundle(suite.id, bob.record, dh?.prekey ?? null, pq?.prekey ?? null, otk?.prekey ?? null),
    now,
  );
}

/**
 * A first contact as the initiator builds it: handshake (initiate), the chain-0 message with the
 * initiator signature, and a seal. `reseal()` seals the same plaintext again (a new envelope, one
 * KEM encapsulation: the cheapest "fresh" forgery).
 */
async function firstContact(signer: IdentityKeys, record: IdentityRecord, bundle: Bundle, now: number) {
  const suite = bundle.suite;
  const state = await initiate(provider, signer, record, bundle, { selection: SELECTION.default, now });
  const padded = pad(utf8("hello bob"));
  let body = padded;
  if (suite.postQuantum) {
    const signature = await suite.signature.sign(
      identityKeysFor(signer, suite).signature.seed,
      initiatorSignedMessage(provider, state.pending!.transcriptHash, padded),
      label(SIGNATURE_CONTEXTS.handshakeInit),
    );
    body = new Writer().bytes(signature).bytes(padded).finish();
  }
  const { message } = await ratchetEncrypt(state, body, true, { provider, now, limits: DEFAULT_LIMITS });
  const plaintext = encodeFirstContact(state.pending!.handshake, message);
  const reseal = async () => {
    const sealed = await seal(
      provider,
      suite,
      state.pending!.sealKey,
      sealContext(suite, state.remoteIdentityHash),
      plaintext,
      envelopePrefix(suite, 1),
    );
    return encodeEnvelope({ type: 1, suite, enc: sealed.enc, sealed: sealed.ciphertext });
  };
  return { envelope: await reseal(), reseal, plaintextBytes: plaintext.length };
}

export interface FirstContactCosts {
  readonly suite: string;
  /** Recipient, honest first contact from a new contact: both passes of the decision, committed. */
  readonly honest: number;
  /** Recipient, the same refused forgery resent: one refusal-cache lookup. */
  readonly resent: number;
  /** Recipient, a fresh forgery (new seal) whose record names another user than the relay sender. */
  readonly freshWrongName: number;
  /** Recipient, a fresh forgery naming the relay sender with a record key transparency does not prove. */
  readonly freshUnproven: number;
  /** Recipient, a fresh forged handshake under the sender's real record: everything up to the crypto. */
  readonly freshFullHandshake: number;
  /** Recipient, a re-sealed copy of that refused handshake: stops at the transcript. */
  readonly resealedHandshake: number;
  /** Recipient, before the fix (same run): opening the seal and verifying the forged record, at least. */
  readonly beforeFix: number;
  /** Attacker: re-sealing one forged plaintext; building a whole forged first contact. */
  readonly buildReseal: number;
  readonly buildFresh: number;
  readonly firstContactBytes: number;
}

export async function firstContactCosts(suite: Suite, options: CostOptions): Promise<FirstContactCosts> {
  const now = Date.now();
  const limits = { now };
  const bob = await identity("bob", suite, now);
  const stores = new MemoryStores(bob.keys, bob.record);
  // Honest: a new sender each time (a new contact), each with its own bundle and proven record.
  const honest = await cpuMicros(
    options,
    async (i) => {
      const alice = await identity(`alice${i}`, suite, now);
      DIRECTORY.publish(alice.record);
      const bundle = await bundleFor(bob, stores, suite, now);
      return {
        name: alice.record.username,
        envelope: (await firstContact(alice.keys, alice.record, bundle, now)).envelope,
      };
    },
    async ({ name, envelope }) => {
      const outcome = await decideWithDirectory(stores, name, envelope, limits);
      if (outcome.kind !== "delivered") throw new Error(`honest first contact ${outcome.kind}`);
      await stores.apply(outcome.writes);
    },
  );
  // Mallory (registered as herself) with a self-signed record for "alice"; alice's real one is proven.
  const alice = await identity("alice", suite, now);
  DIRECTORY.publish(alice.record);
  const forgedAlice = await identity("alice", suite, now);
  const bundle = await bundleFor(bob, stores, suite, now);
  const forgery = await firstContact(forgedAlice.keys, forgedAlice.record, bundle, now);
  const refuse = async (sender: string, envelope: Uint8Array) => {
    const outcome = await decideWithDirectory(stores, sender, envelope, limits);
    if (outcome.kind !== "refused") throw new Error(`forgery ${outcome.kind}`);
    await stores.apply(outcome.writes);
    return outcome.error.code;
  };
  await refuse("mallory", forgery.envelope);
  const resent = await cpuMicros(
    options,
    () => forgery.envelope,
    (envelope) => refuse("mallory", envelope),
  );
  const freshWrongName = await cpuMicros(
    options,
    () => forgery.reseal(),
    (envelope) => refuse("mallory", envelope),
  );
  const freshUnproven = await cpuMicros(
    options,
    () => forgery.reseal(),
    (envelope) => refuse("alice", envelope),
  );
  // Alice's real (proven) record with Mallory's keys: passes every cheap check, fails at the crypto.
  const fullForgeries: (() => Promise<Uint8Array>)[] = [];
  const freshFullHandshake = await cpuMicros(
    options,
    async () => {
      const forged = await firstContact(
        forgedAlice.keys,
        alice.record,
        await bundleFor(bob, stores, suite, now),
        now,
      );
      fullForgeries.push(forged.reseal);
      return forged.envelope;
    },
    (envelope) => refuse("alice", envelope),
  );
  const resealedHandshake = await cpuMicros(
    options,
    (i) => fullForgeries[i % fullForgeries.length]!(),
    (envelope) => refuse("alice", envelope),
  );
  // Before the fix the first step after the seal was decoding the record, which verified it.
  const beforeFix = await cpuMicros(
    options,
    async () => decodeEnvelope(provider, await forgery.reseal()),
    async (envelope) => {
      const parsed = await openFirstContact(provider, bob.keys, bob.record, envelope);
      return await decodeIdentityRecordExact(provider, parsed.initiatorRecord);
    },
  );
  const buildReseal = await cpuMicros(
    options,
    () => null,
    () => forgery.reseal(),
  );
  const buildFresh = await cpuMicros(
    options,
    () => bundle,
    (b) => firstContact(forgedAlice.keys, forgedAlice.record, b, now),
  );
  return {
    suite: suite.name,
    honest,
    resent,
    freshWrongName,
    freshUnproven,
    freshFullHandshake,
    resealedHandshake,
    beforeFix,
    buildReseal,
    buildFresh,
    firstContactBytes: forgery.envelope.length,
  };
}

export interface FixCosts {
  readonly suite: string;
  /** Finding 6: the body key and nonce HKDF with the 12-byte header nonce as salt, and without. */
  readonly bodyKeysSalted: number;
  readonly bodyKeysUnsalted: number;
  /** Finding 3: the chain-0 type check (one 32-byte constant-time compare per message). */
  readonly chainZeroCheck: number;
  /** Finding 4: the pin check per message. */
  readonly pinCheck: number;
  /** Finding 7: H(ek) kept instead of the answered offer (once per absorbed KEM secret). */
  readonly offerHash: number;
}

export async function fixCosts(suite: Suite, options: CostOptions): Promise<FixCosts> {
  const mk = nodeRandomBytes(32);
  const nonce = nodeRandomBytes(12);
  const info = new Writer().bytes(label(KDF_LABELS.message)).u16(suite.id).u8(2).finish();
  const empty = new Uint8Array(0);
  const hk = nodeRandomBytes(32);
  const other = nodeRandomBytes(32);
  const ek = nodeRandomBytes(1184);
  const pin = suite.id as SuiteId;
  const time = (operation: () => unknown) => cpuMicros(options, () => null, operation);
  return {
    suite: suite.name,
    bodyKeysSalted: await time(() => hkdf(mk, nonce, info, 44)),
    bodyKeysUnsalted: await time(() => hkdf(mk, empty, info, 44)),
    chainZeroCheck: await time(() => constantTimeEqual(hk, other)),
    pinCheck: await time(() => checkPin(provider.suite(suite.id), pin)),
    offerHash: await time(() => blake2b(ek)),
  };
}
