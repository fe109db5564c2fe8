// Writes the golden transcripts test/golden/<suite>.json (docs/protocol.md §13). Run after an
// intentional wire-format change: `npx node scripts/gen-golden.ts`; the diff shows what changed.
// Keys are random (node:crypto cannot derandomize ML-KEM/ML-DSA); the files fix them.
import { writeFileSync } from "node:fs";
import { toHex, utf8 } from "../src/crypto/index.ts";
import { nodeProvider as provider } from "../src/crypto/node-provider.ts";
import { encodeBundle } from "../src/protocol/bundle.ts";
import { createIdentityRecord, generateIdentityKeys } from "../src/protocol/identity-record.ts";
import { generatePrekey, PREKEY_ROLES, type PrekeySecret } from "../src/protocol/prekey.ts";
import { SELECTION } from "../src/protocol/selection.ts";
import { MemoryStores } from "../src/protocol/stores.ts";
import { DIRECTORY, receiveMessage, sendMessage, startSession } from "../test/protocol/_driver.ts";
import { exportParty, type GoldenTranscript } from "../test/protocol/_golden.ts";

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const CREATED = NOW - 60_000;

for (const suite of provider.suites) {
  const aliceKeys = await generateIdentityKeys(provider, "alice", [suite.id]);
  const bobKeys = await generateIdentityKeys(provider, "bob", [suite.id]);
  const aliceRecord = await createIdentityRecord(provider, aliceKeys, suite.id, { created: CREATED });
  const bobRecord = await createIdentityRecord(provider, bobKeys, suite.id, { created: CREATED });
  const alice = new MemoryStores(aliceKeys, aliceRecord);
  // Bob proves Alice's record at her first contact (docs/protocol.md §7.7): the directory holds it.
  DIRECTORY.publish(aliceRecord);
  const bob = new MemoryStores(bobKeys, bobRecord);
  const make = (role: (typeof PREKEY_ROLES)[keyof typeof PREKEY_ROLES]) =>
    generatePrekey(provider, bobKeys, bobRecord, suite.id, role, { created: CREATED });
  const signedDh = suite.agreement ? await make(PREKEY_ROLES.signedDh) : null;
  const pq = suite.ratchetKem ? await make(PREKEY_ROLES.pqOneTime) : null;
  const oneTime = suite.agreement ? await make(PREKEY_ROLES.oneTimeDh) : null;
  for (const s of [signedDh, pq, oneTime].filter((x): x is PrekeySecret => x !== null))
    await bob.putPrekey(s);
  const bundle = encodeBundle(
    suite.id,
    bobRecord,
    signedDh?.prekey ?? null,
    pq?.prekey ?? null,
    oneTime?.prekey ?? null,
  );
  const bobStart = exportParty(bobKeys, bob, toHex(bobRecord.encoded));
  await startSession(alice, bundle, SELECTION.default, { now: NOW });
  const aliceStart = exportParty(aliceKeys, alice, toHex(aliceRecord.encoded));
  const parties = { alice, bob };
  const script: ["alice" | "bob", string][] = [
    ["alice", "golden first contact 0"],
    ["alice", "golden first contact 1"],
    ["bob", "golden reply 0"],
    ["bob", "golden reply 1"],
    ["alice", "golden step 0"],
    ["alice", "golden step 1"],
    ["bob", "golden step 2"],
  ];
  const steps: GoldenTranscript["steps"] = [];
  for (const [from, text] of script) {
    const to = from === "alice" ? "bob" : "alice";
    const envelope = await sendMessage(parties[from], to, utf8(text), { now: NOW });
    const before = parties[to].sessionMap.get(from);
    await receiveMessage(parties[to], from, envelope, { now: NOW });
    steps.push({
      from,
      envelope: toHex(envelope),
      plaintext: text,
      receiverBefore: before ? toHex(before) : null,
      receiverSessions: toHex(parties[to].sessionMap.get(from)!),
    });
  }
  const transcript: GoldenTranscript = {
    description: `nano v1 golden transcript, ${suite.name} suite: first contact, replies, one ratchet step each way`,
    suite: suite.id,
    now: NOW,
    alice: aliceStart,
    bob: bobStart,
    bundle: toHex(bundle),
    steps,
  };
  const target = new URL(`../test/golden/${suite.name}.json`, import.meta.url);
  writeFileSync(target, `${JSON.stringify(transcript, null, 1)}\n`);
  process.stdout.write(`wrote ${target.pathname}\n`);
}
