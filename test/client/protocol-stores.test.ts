import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { generateIdentitySeeds } from "../../src/client/home/identity-seeds.ts";
import {
  ensureOwnIdentity,
  loadOwnIdentity,
  type OwnIdentity,
} from "../../src/client/home/local-identity.ts";
import { LocalStore } from "../../src/client/local-store/local-store.ts";
import { LocalProtocolStores } from "../../src/client/local-store/protocol-stores.ts";
import { VerifiedRecords } from "../../src/client/trust/verified-records.ts";
import { SUITE_IDS, type SuiteId, type SuiteName } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";
import {
  acceptIdentity,
  CONTENT_TYPES,
  chooseSuite,
  decodeBundleExact,
  decodeContentExact,
  decodeEnvelope,
  encodeBundle,
  encodeContent,
  generatePrekey,
  type IdentityRecord,
  PREKEY_ROLES,
  receiveMessage,
  sendMessage,
  startSession,
} from "../../src/protocol/index.ts";
import { blockedError } from "../../src/protocol/outcomes.ts";
import { withTempDir } from "./_helpers.ts";

interface Party {
  store: LocalStore;
  own: OwnIdentity;
}

async function party(dir: string, name: string, mode: SuiteName, key = randomBytes(32)): Promise<Party> {
  const store = await LocalStore.open(join(dir, `${name}.db`), key);
  const seeds = await generateIdentitySeeds(provider, mode);
  const own = await ensureOwnIdentity(provider, store, seeds, name, Date.now());
  return { store, own };
}

/** A bundle with a one-time PQ prekey (hybrid), its secrets committed to the owner's store. */
async function bundleOf(owner: Party): Promise<Uint8Array> {
  return owner.store.transaction(async (tables) => {
    const stores = new LocalProtocolStores(tables, owner.own, Date.now(), { provider });
    const { keys, record } = owner.own;
    const signed = await generatePrekey(provider, keys, record, record.preferred, PREKEY_ROLES.signedDh);
    const oneTime = await generatePrekey(provider, keys, record, record.preferred, PREKEY_ROLES.pqOneTime);
    await stores.putPrekey(signed);
    await stores.putPrekey(oneTime);
    return encodeBundle(record.preferred, record, signed.prekey, oneTime.prekey, null);
  });
}

function text(value: string): Uint8Array {
  return encodeContent({ type: CONTENT_TYPES.text, text: value, messageId: randomBytes(16), sentAt: 1 });
}

/** Decides and commits in one transaction, as the client does; a non-success is its typed error. */
async function send(from: Party, to: string, value: string, bundle?: Uint8Array): Promise<Uint8Array> {
  return from.store.transaction(async (tables) => {
    const stores = new LocalProtocolStores(tables, from.own, Date.now(), { provider });
    if (bundle !== undefined) {
      const decoded = await decodeBundleExact(provider, bundle);
      const chosen = await chooseSuite(stores, decoded.record);
      if (chosen.kind !== "chosen") throw new Error(`unexpected ${chosen.kind}`);
      const started = await startSession(provider, stores, {
        bundle: decoded,
        selection: chosen.selection,
        peer: to,
      });
      if (started.kind !== "started") throw new Error(`unexpected ${started.kind}`);
      await stores.apply(started.writes);
    }
    const sent = await sendMessage(provider, stores, { peer: to, content: text(value) });
    if (sent.kind === "blocked") throw blockedError(to);
    if (sent.kind === "refused") throw sent.error;
    await stores.apply(sent.writes);
    return sent.envelope;
  });
}

/** `proven`: the record key transparency proves for the sender (here: the sender's own record). */
async function receive(at: Party, from: Party, envelope: Uint8Array): Promise<string> {
  const provenRecord: IdentityRecord = from.own.record;
  return at.store.transaction(async (tables) => {
    const stores = new LocalProtocolStores(tables, at.own, Date.now(), { provider });
    const relaySender = from.own.record.username;
    const received = await receiveMessage(provider, stores, {
      relaySender,
      envelope: decodeEnvelope(provider, envelope),
      provenRecord,
    });
    if (received.kind === "refused") {
      await stores.apply(received.writes);
      throw received.error;
    }
    if (received.kind !== "delivered") throw new Error(`unexpected ${received.kind}`);
    await stores.apply(received.writes);
    const content = decodeContentExact(received.content);
    assert.equal(content.type, CONTENT_TYPES.text);
    return content.type === CONTENT_TYPES.text ? content.text : "";
  });
}

test("the protocol over the sealed local store: first contact, replies, replay refused without a state change", () =>
  withTempDir(async (dir) => {
    const alice = await party(dir, "alice", "hybrid");
    const bob = await party(dir, "bob", "hybrid");
    try {
      const first = await send(alice, "bob", "hello bob", await bundleOf(bob));
      assert.equal(await receive(bob, alice, first), "hello bob");

      // The one-time private key is gone; its public part stays to recognise a replay.
      const prekeys = await bob.store.read((tables) => tables.listPrekeySecrets());
      const oneTime = prekeys.find((p) => p.role === String(PREKEY_ROLES.pqOneTime));
      assert.ok(oneTime !== undefined);
      const encodedLength = new DataView(oneTime.secret.buffer, oneTime.secret.byteOffset).getUint32(0);
      assert.equal(oneTime.secret.length, 4 + encodedLength, "no seed left after use");

      const before = await bob.store.read((tables) => tables.getSessions("alice")[0]?.state);
      await assert.rejects(receive(bob, alice, first), (e: unknown) => NanoError.is(e));
      const after = await bob.store.read((tables) => tables.getSessions("alice")[0]?.state);
      assert.deepEqual(after, before, "a refused message changes no stored byte");

      assert.equal(await receive(alice, bob, await send(bob, "alice", "hi alice")), "hi alice");
      assert.equal(await receive(bob, alice, await send(alice, "bob", "again")), "again");

      const contact = await alice.store.getContact("bob");
      assert.equal(contact?.verified, false);
      assert.deepEqual(contact?.identityRecord, bob.own.record.encoded);
    } finally {
      await alice.store.close();
      await bob.store.close();
    }
  }));

test("the own identity is sealed, reloads intact, and names one username", () =>
  withTempDir(async (dir) => {
    const key = randomBytes(32);
    const path = join(dir, "own.db");
    const seeds = await generateIdentitySeeds(provider, "quantum");
    let store = await LocalStore.open(path, key);
    const created = await ensureOwnIdentity(provider, store, seeds, "carol", 1_000);
    await assert.rejects(ensureOwnIdentity(provider, store, seeds, "dave", 1_000), (e: unknown) =>
      NanoError.is(e, "invalid_argument"),
    );
    await store.close();
    store = await LocalStore.open(path, key);
    try {
      const loaded = await loadOwnIdentity(provider, store, seeds);
      assert.deepEqual(loaded?.record.encoded, created.record.encoded);
      assert.deepEqual(loaded?.certificate.encoded, created.certificate.encoded);
      assert.deepEqual(loaded?.deviceSeed, created.deviceSeed);
      assert.equal(loaded?.record.username, "carol");
      assert.deepEqual(
        loaded?.keys.suites.map((s) => s.suite.name),
        ["quantum", "hybrid"],
      );
    } finally {
      await store.close();
    }
  }));

test("a changed identity is a blocked outcome whose write survives a reopen sealed; acceptIdentity lifts it", () =>
  withTempDir(async (dir) => {
    const key = randomBytes(32);
    const path = join(dir, "alice.db");
    const own = async (store: LocalStore, name: string) =>
      ensureOwnIdentity(provider, store, await generateIdentitySeeds(provider, "hybrid"), name, Date.now());
    let alice: Party = { store: await LocalStore.open(path, key), own: null as unknown as OwnIdentity };
    alice.own = await own(alice.store, "alice");
    const bob = await party(dir, "bob", "hybrid");
    // The same username with new keys (init --replace): a record that verifies but is not the pinned one.
    const elsewhere = await LocalStore.open(join(dir, "bob-new.db"), randomBytes(32));
    try {
      await send(alice, "bob", "hello bob", await bundleOf(bob));
      const replaced = (await own(elsewhere, "bob")).record;
      // The decision returns the block as a write; committed in the same transaction, nothing undone.
      const outcome = await alice.store.transaction(async (tables) => {
        const stores = new LocalProtocolStores(tables, alice.own, Date.now(), { provider });
        const chosen = await chooseSuite(stores, replaced);
        if (chosen.kind === "blocked") await stores.apply(chosen.writes);
        return chosen;
      });
      assert.equal(outcome.kind, "blocked");
      assert.equal(outcome.kind === "blocked" && outcome.peer, "bob");
      await alice.store.close();

      // Restart: the block comes back from the sealed row, and the PROTOCOL refuses to send.
      alice = { store: await LocalStore.open(path, key), own: alice.own };
      const row = await alice.store.getContact("bob");
      assert.equal(row?.identityChanged, true);
      assert.deepEqual(row?.changedIdentityRecord, replaced.encoded);
      await assert.rejects(send(alice, "bob", "blocked?"), (e: unknown) =>
        NanoError.is(e, "identity_changed"),
      );

      await alice.store.transaction(async (tables) => {
        const stores = new LocalProtocolStores(tables, alice.own, Date.now(), { provider });
        const accepted = await acceptIdentity(provider, stores, replaced);
        assert.equal(accepted.kind, "accepted");
        await stores.apply(accepted.writes);
      });
      const accepted = await alice.store.getContact("bob");
      assert.equal(accepted?.identityChanged, false);
      assert.equal(accepted?.changedIdentityRecord, undefined);
      assert.deepEqual(accepted?.identityRecord, replaced.encoded);
    } finally {
      await alice.store.close();
      await bob.store.close();
      await elsewhere.close();
    }
  }));

test("a stored contact's record is verified once per distinct bytes; altered bytes are verified afresh", () =>
  withTempDir(async (dir) => {
    const alice = await party(dir, "alice", "hybrid");
    const bob = await party(dir, "bob", "hybrid");
    try {
      const records = new VerifiedRecords(provider, 1);
      const encoded = Uint8Array.from(alice.own.record.encoded);
      const first = await records.verified(encoded);
      // Same bytes (another copy, as a new read from the store gives): the same verified object.
      assert.equal(await records.verified(Uint8Array.from(encoded)), first);
      assert.equal(first.username, "alice");
      // One flipped bit inside the signed body: not a cache hit, and the verification refuses it.
      const tampered = Uint8Array.from(encoded);
      tampered[tampered.length - 10]! ^= 1;
      await assert.rejects(records.verified(tampered), NanoError);
      await assert.rejects(records.verified(tampered), NanoError, "a failure is never cached");
      assert.equal(records.size, 1);
      // Bounded: a second record evicts the first (capacity 1), which is then verified afresh.
      await records.verified(bob.own.record.encoded);
      assert.equal(records.size, 1);
      assert.notEqual(await records.verified(encoded), first);
      // Another client's memory is its own.
      assert.notEqual(await new VerifiedRecords(provider).verified(encoded), first);
    } finally {
      await alice.store.close();
    }
  }));

test("a classical message the relay held back is refused after the pair upgraded to hybrid, across a reopen", () =>
  withTempDir(async (dir) => {
    // Audit finding 4 against the sealed SQLite store (the protocol test uses the in-memory one): the
    // pin and the deletion of the lower sessions must survive closing the client, or a held-back
    // classical message replayed after a restart would take the pair back to classical.
    const alicePath = join(dir, "alice.db");
    const aliceKey = randomBytes(32);
    let alice = await party(dir, "alice", "classical", aliceKey);
    const bob = await party(dir, "bob", "classical");
    const bundleFor = (owner: Party, suite: SuiteId) =>
      owner.store.transaction(async (tables) => {
        const stores = new LocalProtocolStores(tables, owner.own, Date.now(), { provider });
        const { keys, record } = owner.own;
        const signed = await generatePrekey(provider, keys, record, suite, PREKEY_ROLES.signedDh);
        const pq =
          suite === SUITE_IDS.classical
            ? null
            : await generatePrekey(provider, keys, record, suite, PREKEY_ROLES.pqOneTime);
        await stores.putPrekey(signed);
        if (pq !== null) await stores.putPrekey(pq);
        return encodeBundle(suite, record, signed.prekey, pq?.prekey ?? null, null);
      });
    const startWith = (from: Party, to: string, bundle: Uint8Array, suite: SuiteId) =>
      from.store.transaction(async (tables) => {
        const stores = new LocalProtocolStores(tables, from.own, Date.now(), { provider });
        const decoded = await decodeBundleExact(provider, bundle);
        const chosen = await chooseSuite(stores, decoded.record, suite);
        if (chosen.kind !== "chosen") throw new Error(`unexpected ${chosen.kind}`);
        const started = await startSession(provider, stores, {
          bundle: decoded,
          selection: chosen.selection,
          peer: to,
        });
        if (started.kind !== "started") throw new Error(`unexpected ${started.kind}`);
        await stores.apply(started.writes);
      });
    const suiteOf = (envelope: Uint8Array) => decodeEnvelope(provider, envelope).suite.id;
    try {
      await startWith(alice, "bob", await bundleFor(bob, SUITE_IDS.classical), SUITE_IDS.classical);
      const hello = await send(alice, "bob", "classical hello");
      assert.equal(suiteOf(hello), SUITE_IDS.classical);
      assert.equal(await receive(bob, alice, hello), "classical hello");
      assert.equal(await receive(alice, bob, await send(bob, "alice", "classical reply")), "classical reply");
      const heldBack = await send(bob, "alice", "held back by the relay");
      assert.equal(suiteOf(heldBack), SUITE_IDS.classical);
      // Alice upgrades the pair: a hybrid session, which bob accepts; both pins rise.
      await startWith(alice, "bob", await bundleFor(bob, SUITE_IDS.hybrid), SUITE_IDS.hybrid);
      const upgrade = await send(alice, "bob", "now hybrid");
      assert.equal(suiteOf(upgrade), SUITE_IDS.hybrid);
      assert.equal(await receive(bob, alice, upgrade), "now hybrid");
      assert.equal(await receive(alice, bob, await send(bob, "alice", "hybrid reply")), "hybrid reply");
      // Alice's client closes and opens again; then the relay replays the held classical message.
      await alice.store.close();
      alice = { store: await LocalStore.open(alicePath, aliceKey), own: alice.own };
      await assert.rejects(receive(alice, bob, heldBack), (error: unknown) =>
        NanoError.is(error, "suite_below_pin"),
      );
      assert.equal(suiteOf(await send(alice, "bob", "still hybrid")), SUITE_IDS.hybrid);
    } finally {
      await alice.store.close();
      await bob.store.close();
    }
  }));
