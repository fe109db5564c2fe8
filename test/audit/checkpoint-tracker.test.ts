// The client-side checkpoint tracker: only ever moves forward along a consistency-proven path, and
// turns any rollback or fork into a hard error naming both checkpoints.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Checkpoint } from "../../src/audit/checkpoint.ts";
import { CheckpointTracker } from "../../src/audit/checkpoint-tracker.ts";
import { generateLogKey, signCheckpoint } from "../../src/audit/log-signer.ts";
import { MemoryLogStore } from "../../src/audit/memory-log-store.ts";
import { EMPTY_ROOT } from "../../src/audit/merkle-hash.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import { utf8 } from "../../src/crypto/bytes.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";

const NAME = "relay.example.com/kt";
const key = generateLogKey(NAME);

async function logOf(count: number, tag = "binding"): Promise<MerkleLog> {
  const log = new MerkleLog(new MemoryLogStore());
  await log.append(Array.from({ length: count }, (_, i) => utf8(`${tag} ${i}`)));
  return log;
}

async function noteAt(log: MerkleLog, size: number): Promise<string> {
  const checkpoint: Checkpoint = { origin: NAME, size, rootHash: await log.rootHash(size), extensions: [] };
  return signCheckpoint(checkpoint, key.signing);
}

function rejectsWithBoth(code: "log_fork_detected" | "log_rollback_detected", sizes: [number, number]) {
  return (error: unknown): boolean => {
    assert.ok(NanoError.is(error, code), String(error));
    for (const size of sizes)
      assert.match(error.message, new RegExp(`origin ${NAME}, size ${size}, root [A-Za-z0-9+/]{43}=`));
    return true;
  };
}

test("trust on first use, then advance only along consistency proofs", async () => {
  const log = await logOf(50);
  const tracker = await CheckpointTracker.open(nodeProvider, key.verifier);
  const heldSize = (): number | undefined => tracker.current?.checkpoint.size;
  assert.equal(heldSize(), undefined);
  await tracker.advance(await noteAt(log, 7), []);
  assert.equal(heldSize(), 7);
  for (const [from, to] of [
    [7, 8],
    [8, 16],
    [16, 33],
    [33, 50],
  ] as const) {
    const held = await tracker.advance(await noteAt(log, to), await log.consistencyProof(from, to));
    assert.equal(held.checkpoint.size, to);
    assert.ok(held.note.startsWith(`${NAME}\n${to}\n`), "keeps the note as received");
  }
  // The same checkpoint again is a no-op.
  assert.equal((await tracker.advance(await noteAt(log, 50), [])).checkpoint.size, 50);
  for (const index of [0, 17, 49])
    tracker.verifyInclusion(await log.leafHash(index), index, await log.inclusionProof(index, 50));
  assert.throws(
    () => tracker.verifyInclusion(utf8("x".repeat(32)), 3, []),
    (e: unknown) => NanoError.is(e, "inclusion_proof_invalid"),
  );
});

test("from the empty tree any checkpoint extends, without a proof", async () => {
  const log = await logOf(5);
  const empty = signCheckpoint({ origin: NAME, size: 0, rootHash: EMPTY_ROOT, extensions: [] }, key.signing);
  const tracker = await CheckpointTracker.open(nodeProvider, key.verifier, { trusted: empty });
  assert.equal(tracker.current?.checkpoint.size, 0);
  assert.equal((await tracker.advance(await noteAt(log, 5), [])).checkpoint.size, 5);
});

test("a smaller checkpoint is a rollback naming both", async () => {
  const log = await logOf(30);
  const tracker = await CheckpointTracker.open(nodeProvider, key.verifier, {
    trusted: await noteAt(log, 30),
  });
  const older = await noteAt(log, 20);
  await assert.rejects(
    async () => await tracker.advance(older, []),
    rejectsWithBoth("log_rollback_detected", [30, 20]),
  );
  assert.equal(tracker.current?.checkpoint.size, 30);
});

test("a second root for the same size is a fork naming both", async () => {
  const honest = await logOf(30);
  const forked = await logOf(30, "forged");
  const tracker = await CheckpointTracker.open(nodeProvider, key.verifier, {
    trusted: await noteAt(honest, 30),
  });
  const other = await noteAt(forked, 30);
  await assert.rejects(
    async () => await tracker.advance(other, []),
    rejectsWithBoth("log_fork_detected", [30, 30]),
  );
});

test("a newer checkpoint that the proof does not connect is a fork", async () => {
  const honest = await logOf(40);
  const tracker = await CheckpointTracker.open(nodeProvider, key.verifier, {
    trusted: await noteAt(honest, 30),
  });
  const next = await noteAt(honest, 40);
  const proof = await honest.consistencyProof(30, 40);
  const fork = rejectsWithBoth("log_fork_detected", [30, 40]);
  await assert.rejects(async () => await tracker.advance(next, []), fork, "empty proof");
  await assert.rejects(async () => await tracker.advance(next, proof.slice(1)), fork, "truncated proof");
  await assert.rejects(async () => await tracker.advance(next, [...proof, proof[0]!]), fork, "padded proof");
  const flipped = proof.map((p) => p.slice());
  flipped[1]![5]! ^= 0x10;
  await assert.rejects(async () => await tracker.advance(next, flipped), fork, "flipped bit");
  // A history rewritten after entry 30: its own proof from 30 fails against the held root.
  const rewritten = await logOf(40, "rewritten");
  const rewrittenNote = await noteAt(rewritten, 40);
  const rewrittenProof = await rewritten.consistencyProof(30, 40);
  await assert.rejects(async () => await tracker.advance(rewrittenNote, rewrittenProof), fork);
  assert.equal(tracker.current?.checkpoint.size, 30);
  assert.equal((await tracker.advance(next, proof)).checkpoint.size, 40, "the honest proof still works");
});

test("bad notes leave the tracker unchanged; a bad trusted note is refused", async () => {
  const log = await logOf(10);
  const tracker = await CheckpointTracker.open(nodeProvider, key.verifier, { trusted: await noteAt(log, 5) });
  const good = await noteAt(log, 10);
  await assert.rejects(
    async () => await tracker.advance(good.replace("\n10\n", "\n11\n"), []),
    (e: unknown) => NanoError.is(e, "checkpoint_signature_invalid"),
  );
  const stranger = generateLogKey(NAME);
  const foreign = signCheckpoint(
    { origin: NAME, size: 10, rootHash: await log.rootHash(10), extensions: [] },
    stranger.signing,
  );
  await assert.rejects(
    async () => await tracker.advance(foreign, []),
    (e: unknown) => NanoError.is(e, "checkpoint_signature_missing"),
  );
  assert.equal(tracker.current?.checkpoint.size, 5);
  await assert.rejects(
    async () => await CheckpointTracker.open(nodeProvider, key.verifier, { trusted: foreign }),
    (e: unknown) => NanoError.is(e, "checkpoint_signature_missing"),
  );
});
