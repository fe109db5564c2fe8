// A malicious relay against the client's key-transparency verifier (KeyTransparencyVerifier over the
// async CryptoProvider): a tree_size that lies beside the signed checkpoint, a rollback across a restart
// after a verification that advanced the tracker and then failed, concurrent verifications, and
// oversized or non-integer claims. The log is an in-memory MerkleLog holding real binding leaves of
// real identity records, its checkpoints signed by a real log key.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Checkpoint } from "../../src/audit/checkpoint.ts";
import { CheckpointTracker } from "../../src/audit/checkpoint-tracker.ts";
import { ktBinding } from "../../src/audit/kt-leaf.ts";
import { KeyTransparencyVerifier } from "../../src/audit/kt-verifier.ts";
import { generateLogKey, signCheckpoint } from "../../src/audit/log-signer.ts";
import { MemoryLogStore } from "../../src/audit/memory-log-store.ts";
import { MerkleLog } from "../../src/audit/merkle-log.ts";
import { utf8 } from "../../src/crypto/bytes.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { NanoError } from "../../src/errors/index.ts";
import { b64, makeUser, type User } from "../relay/_kt-helpers.ts";

const NAME = "relay.test/kt";
const key = generateLogKey(NAME);

describe("a malicious relay against the key-transparency verifier", () => {
  let alice: User;
  let bob: User;
  let log: MerkleLog;
  /** The same first entry, then different ones: another history. */
  let forked: MerkleLog;
  let salt: Uint8Array;
  let leaf: Uint8Array;

  before(async () => {
    [alice, bob] = await Promise.all([makeUser("alice"), makeUser("bob")]);
    log = new MerkleLog(new MemoryLogStore());
    ({ leaf, salt } = ktBinding(nodeProvider.primitives, "alice", alice.record.hash, 1, 1_700_000_000));
    await log.append([leaf]);
    await log.append(Array.from({ length: 15 }, (_, i) => utf8(`filler ${i}`)));
    forked = new MerkleLog(new MemoryLogStore());
    await forked.append([leaf]);
    await forked.append(Array.from({ length: 15 }, (_, i) => utf8(`other ${i}`)));
  });

  const noteAt = async (size: number, of = log): Promise<string> => {
    const checkpoint: Checkpoint = { origin: NAME, size, rootHash: await of.rootHash(size), extensions: [] };
    return signCheckpoint(checkpoint, key.signing);
  };
  const responseAt = async (size: number, overrides: Record<string, unknown> = {}, of = log) => ({
    log_index: 0,
    leaf: b64(leaf),
    username_salt: b64(salt),
    inclusion_proof: (await of.inclusionProof(0, size)).map(b64),
    tree_size: size,
    checkpoint: await noteAt(size, of),
    ...overrides,
  });
  const asked: [number, number][] = [];
  const fetcher = async (from: number, to: number): Promise<Uint8Array[]> => {
    asked.push([from, to]);
    return log.consistencyProof(from, to);
  };
  const verifierAt = async (size: number, persist?: (state: string) => Promise<void>) => {
    const verifier = await KeyTransparencyVerifier.open(nodeProvider, key.verifier, undefined, persist);
    await verifier.verify("alice", alice.record.encoded, await responseAt(size), fetcher);
    return verifier;
  };
  const isCode = (code: Parameters<typeof NanoError.is>[1]) => (error: unknown) => {
    assert.ok(NanoError.is(error, code), `expected ${code}, got ${String(error)}`);
    return true;
  };

  test("a tree_size beside the signed checkpoint that lies is kt_proof_missing, never a false fork", async () => {
    for (const stated of [5, 3, 12]) {
      const verifier = await verifierAt(5);
      asked.length = 0;
      // The checkpoint and inclusion proof are honest for size 9; only the stated size lies.
      await assert.rejects(
        verifier.verify("alice", alice.record.encoded, await responseAt(9, { tree_size: stated }), fetcher),
        isCode("kt_proof_missing"),
      );
      assert.deepEqual(asked, [], "no proof is fetched for a size the relay merely states");
      assert.equal(verifier.checkpoint?.size, 5, "the tracker did not move");
      // The honest response at 9 still verifies: nothing was poisoned.
      await verifier.verify("alice", alice.record.encoded, await responseAt(9), fetcher);
      assert.deepEqual(asked, [[5, 9]]);
    }
  });

  test("a checkpoint that advanced the tracker is persisted even when its binding then fails: no rollback after a restart", async () => {
    const stored: string[] = [];
    const persist = async (state: string) => {
      stored.push(state);
    };
    const verifier = await verifierAt(5, persist);
    assert.equal(stored.length, 1);
    // A signed, consistent checkpoint at 12 shown with a binding that does not match bob's record.
    await assert.rejects(
      verifier.verify("bob", bob.record.encoded, await responseAt(12), fetcher),
      (error: unknown) => NanoError.is(error) && error.code !== "log_fork_detected",
    );
    assert.equal(stored.length, 2, "the checkpoint the relay signed and proved is kept");
    assert.ok(stored[1]!.startsWith(`${NAME}\n12\n`));
    // Restart from what was stored: the relay now shows a smaller tree of another history (which does
    // not extend the 5 either: without the 12 kept, the verdict would be a fork at best).
    const restarted = await KeyTransparencyVerifier.open(nodeProvider, key.verifier, stored.at(-1), persist);
    await assert.rejects(
      restarted.verify("alice", alice.record.encoded, await responseAt(9, {}, forked), fetcher),
      isCode("log_rollback_detected"),
    );
    assert.equal(stored.length, 2, "a refused checkpoint is not stored");
  });

  test("concurrent verifications in any order: an honest relay's stale answers are proven prefixes, not rollbacks", async () => {
    const verifier = await verifierAt(2);
    const sizes = [3, 4, 7, 8, 9, 11, 16];
    const responses = await Promise.all(sizes.map((size) => responseAt(size)));
    // Answers are verified in the order they arrive: here newest first, the proofs slow and unordered.
    const outcomes = await Promise.all(
      [...responses].reverse().map((response) =>
        verifier.verify("alice", alice.record.encoded, response, async (from, to) => {
          await new Promise((resolve) => setTimeout(resolve, (from * 7 + to) % 11));
          return fetcher(from, to);
        }),
      ),
    );
    assert.deepEqual(
      outcomes.map((outcome) => outcome.checkpoint.size),
      [...sizes].reverse(),
    );
    assert.equal(verifier.checkpoint?.size, 16, "the tracker holds the newest");
    // Not a prefix, or no proof that it is: a rollback, the held checkpoint kept.
    await assert.rejects(
      verifier.verify("alice", alice.record.encoded, await responseAt(9, {}, forked), fetcher),
      isCode("log_rollback_detected"),
    );
    await assert.rejects(
      verifier.verify("alice", alice.record.encoded, await responseAt(9), async () => {
        throw new NanoError("relay_unreachable", "the relay cannot show PROOF(9, 16)");
      }),
      isCode("log_rollback_detected"),
    );
    // A stale checkpoint's entries are checked against its own root, not the held one's.
    const heldPath = (await log.inclusionProof(0, 16)).map(b64);
    await assert.rejects(
      verifier.verify(
        "alice",
        alice.record.encoded,
        await responseAt(9, { inclusion_proof: heldPath }),
        fetcher,
      ),
      isCode("inclusion_proof_invalid"),
    );
    assert.equal(verifier.checkpoint?.size, 16);
    // Advancing the tracker underneath a fetch is refused, not decided against the wrong size.
    const tracker = await CheckpointTracker.open(nodeProvider, key.verifier, { trusted: await noteAt(3) });
    const slow = tracker.advanceFetching(await noteAt(9), async (from, to) => {
      await tracker.advance(await noteAt(5), await log.consistencyProof(3, 5));
      return log.consistencyProof(from, to);
    });
    await assert.rejects(slow, TypeError);
    assert.equal(tracker.current?.checkpoint.size, 5);
  });

  test("sizes and indices the relay cannot have: huge, negative, fractional, beyond the tree", async () => {
    const verifier = await verifierAt(9);
    for (const overrides of [
      { tree_size: 2 ** 63 },
      { tree_size: -1 },
      { tree_size: 9.5 },
      { log_index: 2 ** 53 },
      { log_index: -1 },
      { log_index: 0.5 },
      { log_index: 9 },
      { inclusion_proof: Array.from({ length: 65 }, () => b64(new Uint8Array(32))) },
    ]) {
      await assert.rejects(
        verifier.verify("alice", alice.record.encoded, await responseAt(9, overrides), fetcher),
        (error: unknown) =>
          NanoError.is(error, "kt_proof_missing") || NanoError.is(error, "inclusion_proof_invalid"),
        JSON.stringify(overrides).slice(0, 80),
      );
      assert.equal(verifier.checkpoint?.size, 9);
    }
    // Extra and missing hashes in the inclusion proof.
    const honest = (await log.inclusionProof(0, 9)).map(b64);
    for (const proof of [honest.slice(1), [...honest, honest[0]!], [honest[0]!, ...honest]]) {
      await assert.rejects(
        verifier.verify(
          "alice",
          alice.record.encoded,
          await responseAt(9, { inclusion_proof: proof }),
          fetcher,
        ),
        isCode("inclusion_proof_invalid"),
      );
    }
    // A consistency proof with an extra or a missing hash is a fork.
    const grown = await KeyTransparencyVerifier.open(nodeProvider, key.verifier, verifier.state());
    for (const tamper of [(p: Uint8Array[]) => p.slice(1), (p: Uint8Array[]) => [...p, p[0]!]]) {
      await assert.rejects(
        grown.verify("alice", alice.record.encoded, await responseAt(13), async (from, to) =>
          tamper(await log.consistencyProof(from, to)),
        ),
        isCode("log_fork_detected"),
      );
      assert.equal(grown.checkpoint?.size, 9);
    }
  });
});
