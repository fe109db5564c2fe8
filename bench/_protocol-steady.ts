// Steady-state protocol messages between two parties over MemoryStores (the conversation API, session
// records serialized and parsed on every message): what `npm run bench -- protocol` reports, and the
// one-way cost of a message that `npm run bench -- e2e` holds the clients' CPU against (issue 17,
// goal 2), measured in the same run.
import { randomBytes } from "../src/crypto/index.ts";
import { nodeProvider as provider } from "../src/crypto/node-provider.ts";
import type { ProviderSuite } from "../src/crypto/provider/index.ts";
import { encodeBundle } from "../src/protocol/bundle.ts";
import { createIdentityRecord, generateIdentityKeys } from "../src/protocol/identity-record.ts";
import { generatePrekey, PREKEY_ROLES, type PrekeySecret } from "../src/protocol/prekey.ts";
import { SELECTION } from "../src/protocol/selection.ts";
import { decodeContactSessions } from "../src/protocol/session-record.ts";
import { MemoryStores } from "../src/protocol/stores.ts";
import { DIRECTORY, receiveMessage, sendMessage, startSession } from "../test/protocol/_driver.ts";
import { breakdown } from "./_protocol-breakdown.ts";

export interface Pair {
  readonly alice: MemoryStores;
  readonly bob: MemoryStores;
}

export async function parties(suite: ProviderSuite): Promise<Pair & { bundle: () => Promise<Uint8Array> }> {
  const aliceKeys = await generateIdentityKeys(provider, "alice", [suite.id]);
  const bobKeys = await generateIdentityKeys(provider, "bob", [suite.id]);
  const now = Date.now();
  const aliceRecord = await createIdentityRecord(provider, aliceKeys, suite.id, { created: now - 1000 });
  const bobRecord = await createIdentityRecord(provider, bobKeys, suite.id, { created: now - 1000 });
  const alice = new MemoryStores(aliceKeys, aliceRecord);
  const bob = new MemoryStores(bobKeys, bobRecord);
  // Bob proves alice's record at each first contact (docs/protocol.md §7.7): the directory holds it.
  DIRECTORY.publish(aliceRecord);
  const bundle = async () => {
    const make = async (role: (typeof PREKEY_ROLES)[keyof typeof PREKEY_ROLES]) =>
      await generatePrekey(provider, bobKeys, bobRecord, suite.id, role, { created: now - 1000 });
    const dh = suite.agreement ? await make(PREKEY_ROLES.signedDh) : null;
    const pq = suite.ratchetKem ? await make(PREKEY_ROLES.pqOneTime) : null;
    const otk = suite.agreement ? await make(PREKEY_ROLES.oneTimeDh) : null;
    for (const s of [dh, pq, otk].filter((x): x is PrekeySecret => x !== null)) await bob.putPrekey(s);
    return encodeBundle(suite.id, bobRecord, dh?.prekey ?? null, pq?.prekey ?? null, otk?.prekey ?? null);
  };
  return { alice, bob, bundle };
}

/** One full setup: bundle verify + initiate + first contact + responder + first reply + its receipt. */
export async function setup(pair: Pair, bundle: Uint8Array): Promise<void> {
  pair.alice.sessionMap.clear();
  pair.alice.contacts.clear();
  pair.bob.sessionMap.clear();
  pair.bob.contacts.clear();
  await startSession(pair.alice, bundle, SELECTION.default);
  const first = await sendMessage(pair.alice, "bob", new Uint8Array(16));
  await receiveMessage(pair.bob, "alice", first);
  const reply = await sendMessage(pair.bob, "alice", new Uint8Array(16));
  await receiveMessage(pair.alice, "bob", reply);
}

export interface SteadyResult {
  readonly messagesPerSecond: number;
  /** Process CPU time per message: the work, without the time spent waiting for a shared core. */
  readonly cpuMicrosPerMessage: number;
  readonly overheadPerMessage: number;
  readonly epochs: number;
  readonly kemBytesPerEpoch: number;
}

/**
 * Conversation in bursts of `burst` messages per direction, or alice to bob only when `burst` is null;
 * overhead = envelope bytes - content bytes.
 */
export async function steady(
  pair: Pair,
  size: number,
  count: number,
  burst: number | null = 10,
): Promise<SteadyResult> {
  const content = randomBytes(size);
  let overhead = 0;
  let kemBytes = 0;
  const startEpoch = decodeContactSessions(provider, pair.alice.sessionMap.get("bob")!).active!.epoch;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const forward = burst === null || Math.floor(i / burst) % 2 === 0;
    const [from, to, fromName, toName] = forward
      ? [pair.alice, pair.bob, "alice", "bob"]
      : [pair.bob, pair.alice, "bob", "alice"];
    const envelope = await sendMessage(from, toName, content);
    await receiveMessage(to, fromName, envelope);
    overhead += envelope.length - size;
    if (envelope[3] === 3) kemBytes += 1088 + 1184;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const epochs =
    decodeContactSessions(provider, pair.alice.sessionMap.get("bob")!).active!.epoch - startEpoch;
  return {
    messagesPerSecond: count / seconds,
    cpuMicrosPerMessage: (cpu.user + cpu.system) / count,
    overheadPerMessage: overhead / count,
    epochs,
    kemBytesPerEpoch: epochs > 0 ? kemBytes / epochs : 0,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface OneWayCost {
  readonly suite: string;
  /** Process CPU per message, send + receive, one direction only: the floor cost of a message. */
  readonly cpuMicrosPerMessage: number;
  /** The sum of the message's timed components (primitives and codecs, bench/_protocol-breakdown.ts). */
  readonly componentMicros: number;
  /** What is not crypto or codec (async stores, copies, GC), as a share of cpuMicrosPerMessage. */
  readonly otherShare: number;
}

/**
 * A fresh pair, one session, then `rounds` one-way runs of `messages` 1 KiB messages (median CPU) and the
 * breakdown of one message: bench/protocol.ts's "one-way CPU µs/msg" and its "other" row, in one call.
 */
export async function oneWayCost(
  suite: ProviderSuite,
  rounds: number,
  messages: number,
): Promise<OneWayCost> {
  const pair = await parties(suite);
  await setup(pair, await pair.bundle());
  await steady(pair, 1024, messages, null);
  const runs: number[] = [];
  for (let round = 0; round < rounds; round++)
    runs.push((await steady(pair, 1024, messages, null)).cpuMicrosPerMessage);
  const cpuMicrosPerMessage = median(runs);
  const parts = breakdown(suite.id, pair.alice.sessionMap.get("bob")!, pair.bob.sessionMap.get("alice")!, {
    samples: 5,
    operations: 100,
  });
  return {
    suite: suite.name,
    cpuMicrosPerMessage,
    componentMicros: parts.messageMicros,
    otherShare: (cpuMicrosPerMessage - parts.messageMicros) / cpuMicrosPerMessage,
  };
}
