import assert from "node:assert/strict";
import { test } from "node:test";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { ml_kem768_x25519 as xWing } from "@noble/post-quantum/hybrid.js";
import { ml_dsa65 } from "@noble/post-quantum/ml-dsa.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { PREKEY_ROLES, type PrekeySecret } from "../../src/protocol/prekey.ts";
import { receiveMessage, sendMessage } from "./_driver.ts";
import { NOW } from "./_fixtures.ts";
import { activeState, connect, makeParty } from "./_parties.ts";

/**
 * A second implementation of the classical responder, written from docs/protocol.md alone over the
 * independent @noble libraries: it opens a first-contact envelope made by src/protocol and must derive
 * the same session id and plaintext. It checks that the spec's byte layouts, labels and input orders
 * (§1, §6.3, §7.2-7.6, §8.2-8.5, §9.1) are the ones the code uses.
 */
const H = (...parts: Uint8Array[]) => blake2b(concat(...parts));
const HKDF = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) =>
  hkdf(blake2b, ikm, salt, info, length);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
const u8 = (v: number) => Uint8Array.of(v);
const u16 = (v: number) => Uint8Array.of(v >> 8, v & 0xff);
const u32 = (v: number) => Uint8Array.of(v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
const lp = (...parts: Uint8Array[]) => concat(...parts.flatMap((p) => [u32(p.length), p]));
const EMPTY = new Uint8Array(0);
/** §7.6: the initiator's record slot, the size of the largest possible record (§4.1). */
const IDENTITY_RECORD_SLOT_BYTES = 13_306;

class Cursor {
  offset = 0;
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  take(n: number): Uint8Array {
    const out = this.bytes.slice(this.offset, this.offset + n);
    assert.equal(out.length, n, "truncated");
    this.offset += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u32(): number {
    return new DataView(this.take(4).buffer).getUint32(0);
  }
}

test("a from-the-spec classical responder (over @noble) interoperates with src/protocol", async () => {
  const alice = await makeParty("alice", SUITE_IDS.classical, [SUITE_IDS.classical]);
  const bob = await makeParty("bob", SUITE_IDS.classical, [SUITE_IDS.classical]);
  const { first } = await connect(alice, bob);
  const suite = SUITE_IDS.classical;
  const bobKeys = bob.keys.suites[0]!;
  const held = [...bob.stores.prekeyMap.values()];
  const byRole = (role: number) => held.find((h) => h.prekey.role === role) as unknown as PrekeySecret;

  // §9.2 envelope, §7.2 seal (X25519-KEM per docs/crypto.md: HKDF(dh, "", "nano/v1/x25519-kem" || ct || pk, 32)).
  const env = new Cursor(first);
  assert.deepEqual([env.u8(), env.u8(), env.u8(), env.u8()], [1, 0, suite, 1]);
  const enc = env.take(32);
  const sealed = env.take(env.u32());
  assert.equal(env.offset, first.length);
  const kemSs = HKDF(
    x25519.getSharedSecret(bobKeys.kem.seed, enc),
    EMPTY,
    concat(utf8("nano/v1/x25519-kem"), enc, bobKeys.kem.publicKey),
    32,
  );
  const prefix = concat(u8(1), u16(suite), u8(1));
  const context = concat(prefix, bob.record.hash);
  const sealKeys = HKDF(
    kemSs,
    H(enc, bobKeys.kem.publicKey),
    concat(utf8("nano/v1/seal"), u16(suite), H(context)),
    44,
  );
  const sealAd = concat(prefix, enc);
  const plaintext = chacha20poly1305(sealKeys.slice(0, 32), sealKeys.slice(32), sealAd).decrypt(sealed);

  // §7.6 first-contact plaintext.
  const fc = new Cursor(plaintext);
  const selection = fc.u8();
  const irA = fc.take(fc.u32());
  // §7.6: the record sits in a slot of the largest possible record's size, zero-filled after it.
  assert.deepEqual(
    fc.take(IDENTITY_RECORD_SLOT_BYTES - irA.length),
    new Uint8Array(IDENTITY_RECORD_SLOT_BYTES - irA.length),
  );
  assert.deepEqual(fc.take(64), bob.record.hash);
  const spkId = fc.u32();
  assert.equal(fc.u8(), 1);
  const otkId = fc.u32();
  const ek = fc.take(32);
  const rat = fc.take(32);
  const hdrNonce = fc.take(12);
  const hdrCt = fc.take(41 + 16);
  const body = fc.take(fc.u32());
  assert.equal(fc.offset, plaintext.length);

  // §6.3 bundle rebuilt from the responder's own prekeys, §7.3 transcript.
  const spk = byRole(PREKEY_ROLES.signedDh);
  const otk = byRole(PREKEY_ROLES.oneTimeDh);
  assert.equal(spk.prekey.id, spkId);
  assert.equal(otk.prekey.id, otkId);
  const bundle = concat(
    u16(1),
    u16(suite),
    u32(bob.record.encoded.length),
    bob.record.encoded,
    spk.prekey.encoded,
    u8(1),
    otk.prekey.encoded,
  );
  const field = (p: PrekeySecret["prekey"]) => concat(u8(p.alg), u8(p.role), u32(p.id), p.publicKey);
  const th = H(
    lp(
      utf8("nano/v1/th"),
      u8(1),
      u16(suite),
      u8(selection),
      H(irA),
      bob.record.hash,
      utf8("alice"),
      utf8("bob"),
      H(utf8("nano/v1/bundle"), bundle),
      u8(2),
      field(spk.prekey),
      field(otk.prekey),
      ek,
      u8(0),
      u16(suite),
      u16(suite),
      rat,
      EMPTY,
    ),
  );
  // §7.1 secrets and §7.4 key schedule. IK_A.dh is read from IR_A: after u16 version, vec8 username,
  // u32 version, u64 created, u16 preferred, u8 n, u16 suite, tagged Ed25519 key (33).
  const ikAOffset = 2 + 1 + 5 + 4 + 8 + 2 + 1 + 2 + 33 + 1;
  const ikA = irA.slice(ikAOffset, ikAOffset + 32);
  const secrets = concat(
    x25519.getSharedSecret(spk.seed, ikA),
    x25519.getSharedSecret(bobKeys.agreement!.seed, ek),
    x25519.getSharedSecret(spk.seed, ek),
    x25519.getSharedSecret(otk.seed, ek),
  );
  const okm = HKDF(secrets, th, concat(utf8("nano/v1/hs"), u16(suite)), 192);
  const [ck0, hk0, sid] = [okm.slice(32, 64), okm.slice(64, 96), okm.slice(160, 192)];

  // §8.4 header, §8.2 chain, §8.5 body, §9.1 padding.
  const header = chacha20poly1305(hk0, hdrNonce, concat(utf8("nano/v1/hdr"), prefix)).decrypt(hdrCt);
  assert.deepEqual(header.slice(0, 8), new Uint8Array(8)); // n = 0, pn = 0
  assert.deepEqual(header.slice(8, 40), rat);
  const mk = HKDF(ck0, EMPTY, concat(utf8("nano/v1/ck"), u16(suite)), 64).slice(32, 64);
  const bodyKeys = HKDF(mk, hdrNonce, concat(utf8("nano/v1/msg"), u16(suite), u8(1)), 44);
  const ad = concat(prefix, sid, H(irA), bob.record.hash, hdrNonce, hdrCt);
  const padded = chacha20poly1305(bodyKeys.slice(0, 32), bodyKeys.slice(32), ad).decrypt(body);
  const length = new DataView(padded.buffer).getUint32(0);
  assert.equal(new TextDecoder().decode(padded.slice(4, 4 + length)), "hello");

  // The real responder derives the same session.
  await receiveMessage(bob.stores, "alice", first, { now: NOW });
  assert.deepEqual(activeState(bob, "alice").sessionId, sid);
  assert.deepEqual(activeState(bob, "alice").handshakeHash, H(th));

  // §8.3: Bob's reply opens his first chain with a root step; decrypt it as Alice, from the spec.
  const reply = await sendMessage(bob.stores, "alice", utf8("reply"), { now: NOW });
  const r = new Cursor(reply);
  const replyPrefix = concat(u8(1), u16(suite), u8(2));
  assert.deepEqual(r.take(4), replyPrefix);
  const rNonce = r.take(12);
  const rHdrCt = r.take(41 + 16);
  const rBody = r.take(r.u32());
  const nhkR = okm.slice(128, 160);
  const rHeader = chacha20poly1305(nhkR, rNonce, concat(utf8("nano/v1/hdr"), replyPrefix)).decrypt(rHdrCt);
  const dhB = rHeader.slice(8, 40);
  assert.equal(rHeader[40], 0);
  const ratSeed = activeState(alice, "bob").sendDh!.seed;
  const info = concat(
    utf8("nano/v1/root"),
    u16(suite),
    u8(2),
    u32(1),
    u32(0),
    u8(0),
    H(dhB),
    H(EMPTY),
    H(EMPTY),
    H(EMPTY),
  );
  const root = HKDF(x25519.getSharedSecret(ratSeed, dhB), okm.slice(0, 32), info, 96);
  const mkB = HKDF(root.slice(32, 64), EMPTY, concat(utf8("nano/v1/ck"), u16(suite)), 64).slice(32, 64);
  const keysB = HKDF(mkB, rNonce, concat(utf8("nano/v1/msg"), u16(suite), u8(2)), 44);
  const adB = concat(replyPrefix, sid, bob.record.hash, H(irA), rNonce, rHdrCt);
  const paddedB = chacha20poly1305(keysB.slice(0, 32), keysB.slice(32), adB).decrypt(rBody);
  assert.equal(
    new TextDecoder().decode(paddedB.slice(4, 4 + new DataView(paddedB.buffer).getUint32(0))),
    "reply",
  );
});

test("a from-the-spec quantum responder (over @noble/post-quantum) interoperates with src/protocol", async () => {
  const alice = await makeParty("alice", SUITE_IDS.quantum, [SUITE_IDS.quantum]);
  const bob = await makeParty("bob", SUITE_IDS.quantum, [SUITE_IDS.quantum]);
  const { first } = await connect(alice, bob);
  const suite = SUITE_IDS.quantum;
  const bobKeys = bob.keys.suites[0]!;
  const pq = [...bob.stores.prekeyMap.values()][0] as unknown as PrekeySecret;
  const decaps = (seed: Uint8Array, ct: Uint8Array) =>
    ml_kem768.decapsulate(ct, ml_kem768.keygen(seed).secretKey);

  const env = new Cursor(first);
  assert.deepEqual([env.u8(), env.u8(), env.u8(), env.u8()], [1, 0, suite, 1]);
  const enc = env.take(1088);
  const sealed = env.take(env.u32());
  const prefix = concat(u8(1), u16(suite), u8(1));
  const sealKeys = HKDF(
    decaps(bobKeys.kem.seed, enc),
    H(enc, bobKeys.kem.publicKey),
    concat(utf8("nano/v1/seal"), u16(suite), H(concat(prefix, bob.record.hash))),
    44,
  );
  const sealAd = concat(prefix, enc);
  const plaintext = chacha20poly1305(sealKeys.slice(0, 32), sealKeys.slice(32), sealAd).decrypt(sealed);

  const fc = new Cursor(plaintext);
  const selection = fc.u8();
  const irA = fc.take(fc.u32());
  // §7.6: the record sits in a slot of the largest possible record's size, zero-filled after it.
  assert.deepEqual(
    fc.take(IDENTITY_RECORD_SLOT_BYTES - irA.length),
    new Uint8Array(IDENTITY_RECORD_SLOT_BYTES - irA.length),
  );
  assert.deepEqual(fc.take(64), bob.record.hash);
  assert.equal(fc.u32(), pq.prekey.id);
  assert.equal(fc.u8(), 0);
  const ctIk = fc.take(1088);
  const ctPq = fc.take(1088);
  const ek0 = fc.take(1184);
  const hdrNonce = fc.take(12);
  const hdrCt = fc.take(9 + 16);
  const body = fc.take(fc.u32());
  assert.equal(fc.offset, plaintext.length);

  const bundle = concat(
    u16(1),
    u16(suite),
    u32(bob.record.encoded.length),
    bob.record.encoded,
    pq.prekey.encoded,
    u8(0),
  );
  const p = pq.prekey;
  const th = H(
    lp(
      utf8("nano/v1/th"),
      u8(1),
      u16(suite),
      u8(selection),
      H(irA),
      bob.record.hash,
      utf8("alice"),
      utf8("bob"),
      H(utf8("nano/v1/bundle"), bundle),
      u8(1),
      concat(u8(p.alg), u8(p.role), u32(p.id), p.publicKey),
      EMPTY,
      u8(2),
      ctIk,
      ctPq,
      u16(suite),
      u16(suite),
      EMPTY,
      ek0,
    ),
  );
  const okm = HKDF(
    concat(decaps(bobKeys.kem.seed, ctIk), decaps(pq.seed, ctPq)),
    th,
    concat(utf8("nano/v1/hs"), u16(suite)),
    192,
  );
  const [ck0, hk0, sid] = [okm.slice(32, 64), okm.slice(64, 96), okm.slice(160, 192)];
  const header = chacha20poly1305(hk0, hdrNonce, concat(utf8("nano/v1/hdr"), prefix)).decrypt(hdrCt);
  assert.deepEqual(header, new Uint8Array(9));
  const mk = HKDF(ck0, EMPTY, concat(utf8("nano/v1/ck"), u16(suite)), 64).slice(32, 64);
  const bodyKeys = HKDF(mk, hdrNonce, concat(utf8("nano/v1/msg"), u16(suite), u8(1)), 44);
  const ad = concat(prefix, sid, H(irA), bob.record.hash, hdrNonce, hdrCt);
  const opened = chacha20poly1305(bodyKeys.slice(0, 32), bodyKeys.slice(32), ad).decrypt(body);
  // §7.5: ML-DSA-65 signature (FIPS 204 context = label) over TH || H(padded payload), key from IR_A
  // (after u16 version, vec8 "alice", u32, u64, u16, u8 n, u16 suite and the alg byte).
  const signature = opened.slice(0, 3309);
  const padded = opened.slice(3309);
  const keyOffset = 2 + 1 + 5 + 4 + 8 + 2 + 1 + 2 + 1;
  const pkA = irA.slice(keyOffset, keyOffset + 1952);
  assert.ok(ml_dsa65.verify(signature, concat(th, H(padded)), pkA, { context: utf8("nano/v1/sig/hs-init") }));
  const length = new DataView(padded.buffer, padded.byteOffset).getUint32(0);
  assert.equal(new TextDecoder().decode(padded.slice(4, 4 + length)), "hello");

  await receiveMessage(bob.stores, "alice", first, { now: NOW });
  assert.deepEqual(activeState(bob, "alice").sessionId, sid);
});

test("a from-the-spec hybrid responder (over @noble) interoperates with src/protocol", async () => {
  const alice = await makeParty("alice", SUITE_IDS.hybrid, [SUITE_IDS.hybrid]);
  const bob = await makeParty("bob", SUITE_IDS.hybrid, [SUITE_IDS.hybrid]);
  const { first } = await connect(alice, bob);
  const suite = SUITE_IDS.hybrid;
  const bobKeys = bob.keys.suites[0]!;
  const held = [...bob.stores.prekeyMap.values()];
  const byRole = (role: number) => held.find((h) => h.prekey.role === role) as unknown as PrekeySecret;
  const mlKemSecret = (seed: Uint8Array) => ml_kem768.keygen(seed).secretKey;

  // §9.2 envelope, §7.2 seal under X-Wing (draft-connolly-cfrg-xwing-kem; the 32-byte seed is the key).
  const env = new Cursor(first);
  assert.deepEqual([env.u8(), env.u8(), env.u8(), env.u8()], [1, 0, suite, 1]);
  const enc = env.take(1120);
  const sealed = env.take(env.u32());
  assert.equal(env.offset, first.length);
  const prefix = concat(u8(1), u16(suite), u8(1));
  const sealKeys = HKDF(
    xWing.decapsulate(enc, xWing.keygen(bobKeys.kem.seed).secretKey),
    H(enc, bobKeys.kem.publicKey),
    concat(utf8("nano/v1/seal"), u16(suite), H(concat(prefix, bob.record.hash))),
    44,
  );
  const plaintext = chacha20poly1305(sealKeys.slice(0, 32), sealKeys.slice(32), concat(prefix, enc)).decrypt(
    sealed,
  );

  // §7.6: both DH prekey ids, the PQ prekey id, EK, ct_pq, RAT and ek_0.
  const fc = new Cursor(plaintext);
  const selection = fc.u8();
  const irA = fc.take(fc.u32());
  // §7.6: the record sits in a slot of the largest possible record's size, zero-filled after it.
  assert.deepEqual(
    fc.take(IDENTITY_RECORD_SLOT_BYTES - irA.length),
    new Uint8Array(IDENTITY_RECORD_SLOT_BYTES - irA.length),
  );
  assert.deepEqual(fc.take(64), bob.record.hash);
  const spk = byRole(PREKEY_ROLES.signedDh);
  const pq = byRole(PREKEY_ROLES.pqOneTime);
  const otk = byRole(PREKEY_ROLES.oneTimeDh);
  assert.equal(fc.u32(), spk.prekey.id);
  assert.equal(fc.u32(), pq.prekey.id);
  assert.equal(fc.u8(), 1);
  assert.equal(fc.u32(), otk.prekey.id);
  const ek = fc.take(32);
  const ctPq = fc.take(1088);
  const rat = fc.take(32);
  const ek0 = fc.take(1184);
  const hdrNonce = fc.take(12);
  const hdrCt = fc.take(41 + 16);
  const body = fc.take(fc.u32());
  assert.equal(fc.offset, plaintext.length);

  // §6.3 bundle (signed DH, PQ, one-time DH), §7.3 transcript, §7.1 secrets (four DHs, then ss_pq).
  const bundle = concat(
    u16(1),
    u16(suite),
    u32(bob.record.encoded.length),
    bob.record.encoded,
    spk.prekey.encoded,
    pq.prekey.encoded,
    u8(1),
    otk.prekey.encoded,
  );
  const field = (p: PrekeySecret["prekey"]) => concat(u8(p.alg), u8(p.role), u32(p.id), p.publicKey);
  const th = H(
    lp(
      utf8("nano/v1/th"),
      u8(1),
      u16(suite),
      u8(selection),
      H(irA),
      bob.record.hash,
      utf8("alice"),
      utf8("bob"),
      H(utf8("nano/v1/bundle"), bundle),
      u8(3),
      field(spk.prekey),
      field(pq.prekey),
      field(otk.prekey),
      ek,
      u8(1),
      ctPq,
      u16(suite),
      u16(suite),
      rat,
      ek0,
    ),
  );
  // IR_A (§4.1): u16 version, vec8 "alice", u32, u64, u16, u8 n, then SuiteKeys(hybrid): u16 suite,
  // tagged composite key (ML-DSA-65 1,952 || Ed25519 32), tagged X25519 key, tagged X-Wing key.
  const sigKeyOffset = 2 + 1 + 5 + 4 + 8 + 2 + 1 + 2 + 1;
  const pkA = irA.slice(sigKeyOffset, sigKeyOffset + 1952 + 32);
  const ikAOffset = sigKeyOffset + 1952 + 32 + 1;
  const ikA = irA.slice(ikAOffset, ikAOffset + 32);
  const secrets = concat(
    x25519.getSharedSecret(spk.seed, ikA),
    x25519.getSharedSecret(bobKeys.agreement!.seed, ek),
    x25519.getSharedSecret(spk.seed, ek),
    x25519.getSharedSecret(otk.seed, ek),
    ml_kem768.decapsulate(ctPq, mlKemSecret(pq.seed)),
  );
  const okm = HKDF(secrets, th, concat(utf8("nano/v1/hs"), u16(suite)), 192);
  const [ck0, hk0, sid] = [okm.slice(32, 64), okm.slice(64, 96), okm.slice(160, 192)];

  // §8.4 header (no KEM slots on chain 0), §8.2 chain, §8.5 body keyed with the header nonce.
  const header = chacha20poly1305(hk0, hdrNonce, concat(utf8("nano/v1/hdr"), prefix)).decrypt(hdrCt);
  assert.deepEqual(header.slice(0, 8), new Uint8Array(8));
  assert.deepEqual(header.slice(8, 40), rat);
  assert.equal(header[40], 0);
  const mk = HKDF(ck0, EMPTY, concat(utf8("nano/v1/ck"), u16(suite)), 64).slice(32, 64);
  const bodyKeys = HKDF(mk, hdrNonce, concat(utf8("nano/v1/msg"), u16(suite), u8(1)), 44);
  const ad = concat(prefix, sid, H(irA), bob.record.hash, hdrNonce, hdrCt);
  const opened = chacha20poly1305(bodyKeys.slice(0, 32), bodyKeys.slice(32), ad).decrypt(body);

  // §7.5 with the composite of DESIGN.md: M' = Prefix || Label || len(ctx) || ctx || SHA-512(TH || H(payload)),
  // ML-DSA-65 over M' with context = Label, Ed25519 over M'; both must verify.
  const signature = opened.slice(0, 3309 + 64);
  const padded = opened.slice(3309 + 64);
  const ctx = utf8("nano/v1/sig/hs-init");
  const compositeLabel = utf8("COMPSIG-MLDSA65-Ed25519-SHA512");
  const mPrime = concat(
    utf8("CompositeAlgorithmSignatures2025"),
    compositeLabel,
    u8(ctx.length),
    ctx,
    sha512(concat(th, H(padded))),
  );
  assert.ok(
    ml_dsa65.verify(signature.slice(0, 3309), mPrime, pkA.slice(0, 1952), { context: compositeLabel }),
    "the ML-DSA-65 half",
  );
  assert.ok(ed25519.verify(signature.slice(3309), mPrime, pkA.slice(1952)), "the Ed25519 half");
  const length = new DataView(padded.buffer, padded.byteOffset).getUint32(0);
  assert.equal(new TextDecoder().decode(padded.slice(4, 4 + length)), "hello");

  await receiveMessage(bob.stores, "alice", first, { now: NOW });
  assert.deepEqual(activeState(bob, "alice").sessionId, sid);
  assert.deepEqual(activeState(bob, "alice").handshakeHash, H(th));

  // §8.3: Bob's reply opens his first chain with a root step that absorbs dh AND the answer to ek_0
  // (epoch 1 -> 2): a type-3 envelope whose header carries the KEM slots (ct filled, ek zero).
  const ek0Seed = activeState(alice, "bob").ourOffer!.seed;
  const reply = await sendMessage(bob.stores, "alice", utf8("reply"), { now: NOW });
  const r = new Cursor(reply);
  const replyPrefix = concat(u8(1), u16(suite), u8(3));
  assert.deepEqual(r.take(4), replyPrefix);
  const rNonce = r.take(12);
  const rHdrCt = r.take(41 + 1088 + 1184 + 16);
  const rBody = r.take(r.u32());
  assert.equal(r.offset, reply.length);
  const rHeader = chacha20poly1305(
    okm.slice(128, 160),
    rNonce,
    concat(utf8("nano/v1/hdr"), replyPrefix),
  ).decrypt(rHdrCt);
  const dhB = rHeader.slice(8, 40);
  assert.equal(rHeader[40], 1, "flags: ct only");
  const ct = rHeader.slice(41, 41 + 1088);
  assert.deepEqual(rHeader.slice(41 + 1088), new Uint8Array(1184), "no new offer: zero-filled");
  const ss = ml_kem768.decapsulate(ct, mlKemSecret(ek0Seed));
  const info = concat(
    utf8("nano/v1/root"),
    u16(suite),
    u8(2),
    u32(1),
    u32(2),
    u8(1),
    H(dhB),
    H(ek0),
    H(ct),
    H(EMPTY),
  );
  const ratSeed = activeState(alice, "bob").sendDh!.seed;
  const root = HKDF(concat(x25519.getSharedSecret(ratSeed, dhB), ss), okm.slice(0, 32), info, 96);
  const mkB = HKDF(root.slice(32, 64), EMPTY, concat(utf8("nano/v1/ck"), u16(suite)), 64).slice(32, 64);
  const keysB = HKDF(mkB, rNonce, concat(utf8("nano/v1/msg"), u16(suite), u8(3)), 44);
  const adB = concat(replyPrefix, sid, bob.record.hash, H(irA), rNonce, rHdrCt);
  const paddedB = chacha20poly1305(keysB.slice(0, 32), keysB.slice(32), adB).decrypt(rBody);
  assert.equal(
    new TextDecoder().decode(paddedB.slice(4, 4 + new DataView(paddedB.buffer).getUint32(0))),
    "reply",
  );
});
