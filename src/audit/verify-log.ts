/**
 * Full verification of a stored log (the future `nano-relay audit verify`): recompute every leaf hash
 * from the stored entries, every complete subtree hash from the leaves, and the root at every signed
 * checkpoint's size, in one streaming pass (O(n) hashing, O(log n) memory).
 *
 * The result names the first bad index. The store is the thing under suspicion, so only the entries
 * and the signed checkpoints are evidence; the stored hashes are cross-checked, never trusted:
 * - an entry missing, or not hashing to the stored leaf hash: that exact index is bad;
 * - a stored subtree hash that the (matching) leaves below it do not produce: the store was edited
 *   somewhere in that subtree; we report its first index, not exact;
 * - everything internally consistent but a checkpoint root differs (the store was rewritten wholesale,
 *   e.g. truncated and regrown): the first bad index is at or after the last checkpoint that matched;
 *   exact only when the failing checkpoint is one entry later.
 */

import { constantTimeEqual } from "../crypto/constant-time.ts";
import { sha256 } from "../crypto/hash.ts";
import { NanoError } from "../errors/index.ts";
import type { TreeHead } from "./checkpoint.ts";
import type { MerkleLogStore, SubtreeNode } from "./log-store.ts";
import { checkTreeSize, EMPTY_ROOT, hashChildren, hashLeaf } from "./merkle-hash.ts";
import { encodeBase64 } from "./signed-note.ts";

export type LogFaultKind =
  | "entry_missing"
  | "node_missing"
  | "leaf_hash_mismatch"
  | "subtree_hash_mismatch"
  | "checkpoint_root_mismatch"
  | "checkpoint_beyond_log";

export interface LogFault {
  readonly kind: LogFaultKind;
  /** The first index not proven good. */
  readonly firstBadIndex: number;
  /** True when firstBadIndex itself is proven bad; false when the fault lies at or after it. */
  readonly exact: boolean;
  readonly message: string;
}

export type LogVerification =
  | {
      readonly ok: true;
      readonly size: number;
      readonly rootHash: Uint8Array;
      readonly checkpointsChecked: number;
    }
  | { readonly ok: false; readonly size: number; readonly fault: LogFault };

export interface VerifyLogOptions {
  /** Entries read per store round trip. */
  readonly chunk?: number;
  /**
   * Start recomputing at this size instead of 0. The prefix [0, from) is taken from the stored subtree
   * hashes, so it is only as good as a signed checkpoint of exactly this size: pass one (it is checked
   * against the stored prefix first). Checkpoints below `from` are not compared.
   */
  readonly from?: number;
}

interface Peak {
  readonly level: number;
  readonly hash: Uint8Array;
}

/** The root of the leaves folded so far: RFC 9162's tree is the peaks hashed right to left. */
function rootOf(peaks: readonly Peak[]): Uint8Array {
  if (peaks.length === 0) return EMPTY_ROOT;
  let root = peaks[peaks.length - 1]!.hash;
  for (let i = peaks.length - 2; i >= 0; i--) root = hashChildren(sha256, peaks[i]!.hash, root);
  return root;
}

export async function verifyLog(
  store: MerkleLogStore,
  checkpoints: readonly TreeHead[],
  options: VerifyLogOptions = {},
): Promise<LogVerification> {
  const chunk = options.chunk ?? 4096;
  const size = await store.size();
  const fail = (fault: LogFault): LogVerification => ({ ok: false, size, fault });
  for (const head of checkpoints) checkTreeSize(head.size, "checkpoint tree size");
  const from = options.from ?? 0;
  checkTreeSize(from, "start size");
  if (from > size)
    throw new NanoError("log_index_out_of_range", `start size ${from} exceeds the log size ${size}`);
  const heads = [...checkpoints].filter((head) => head.size >= from).sort((a, b) => a.size - b.size);
  let next = 0; // heads[next] is the first checkpoint not yet compared
  let lastGood = 0; // the largest size whose checkpoint matched
  let goodBelow = 0; // the largest matched size below lastGood
  const checkHeads = (count: number, peaks: readonly Peak[]): LogFault | undefined => {
    while (next < heads.length && heads[next]!.size === count) {
      const head = heads[next++]!;
      if (!constantTimeEqual(rootOf(peaks), head.rootHash)) {
        // A second checkpoint for an already matched size is the log itself forking.
        const forked = head.size > 0 && head.size === lastGood;
        const from = forked ? goodBelow : lastGood;
        return {
          kind: "checkpoint_root_mismatch",
          firstBadIndex: from,
          exact: head.size - from === 1,
          message:
            `the stored log's root at size ${head.size} is not the signed ${encodeBase64(head.rootHash)}: ` +
            (head.size === 0
              ? "a checkpoint of size 0 must sign the empty root"
              : `an entry in [${from}, ${head.size}) differs from what was signed`) +
            (forked ? " (another checkpoint signs the stored root for this size: the log forked)" : ""),
        };
      }
      if (head.size > lastGood) {
        goodBelow = lastGood;
        lastGood = head.size;
      }
    }
    return undefined;
  };

  const peaks: Peak[] = [];
  // RFC 9162's tree over [0, from) is the complete aligned subtrees of from's binary digits, left first.
  let covered = 0;
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (from - covered < width) continue;
    const hash = await store.node(level, covered / width);
    if (hash === undefined)
      return fail({
        kind: "node_missing",
        firstBadIndex: 0,
        exact: false,
        message: `subtree hash (level ${level}, index ${covered / width}) of the trusted prefix is missing`,
      });
    peaks.push({ level, hash });
    covered += width;
  }
  const early = checkHeads(from, peaks);
  if (early !== undefined) return fail(early);
  let maxLevel = 0;
  while (2 ** maxLevel < size) maxLevel++;

  for (let start = from; start < size; start += chunk) {
    const end = Math.min(size, start + chunk);
    const stored = await store.entries(start, end);
    // Stored hashes of this chunk by level; level L nodes completed here have indices below ceil(end / 2^L).
    const levels: Map<number, Uint8Array>[] = [];
    for (let level = 0; level <= maxLevel; level++) {
      const width = 2 ** level;
      const found: SubtreeNode[] = await store.nodes(
        level,
        Math.floor(start / width),
        Math.ceil(end / width),
      );
      levels.push(new Map(found.map((node) => [node.index, node.hash])));
    }
    let cursor = 0;
    for (let index = start; index < end; index++) {
      const entry = stored[cursor];
      if (entry === undefined || entry.index !== index)
        return fail({
          kind: "entry_missing",
          firstBadIndex: index,
          exact: true,
          message: `entry ${index} is missing`,
        });
      cursor++;
      let hash = hashLeaf(sha256, entry.data);
      const storedLeaf = levels[0]!.get(index);
      if (storedLeaf === undefined)
        return fail({
          kind: "node_missing",
          firstBadIndex: index,
          exact: true,
          message: `leaf hash ${index} is missing`,
        });
      if (!constantTimeEqual(hash, storedLeaf))
        return fail({
          kind: "leaf_hash_mismatch",
          firstBadIndex: index,
          exact: true,
          message: `entry ${index} does not hash to its stored leaf hash`,
        });
      // Merge equal-level peaks: each merge completes the subtree (level, index >> level).
      let level = 0;
      while (peaks.length > 0 && peaks[peaks.length - 1]!.level === level) {
        hash = hashChildren(sha256, peaks.pop()!.hash, hash);
        level++;
        const nodeIndex = Math.floor(index / 2 ** level);
        const first = nodeIndex * 2 ** level;
        const storedNode = levels[level]?.get(nodeIndex);
        if (storedNode === undefined)
          return fail({
            kind: "node_missing",
            firstBadIndex: first,
            exact: false,
            message: `subtree hash (level ${level}, index ${nodeIndex}) is missing`,
          });
        if (!constantTimeEqual(hash, storedNode))
          return fail({
            kind: "subtree_hash_mismatch",
            firstBadIndex: first,
            exact: false,
            message: `entries [${first}, ${index + 1}) do not hash to their stored subtree hash`,
          });
      }
      peaks.push({ level, hash });
      const fault = checkHeads(index + 1, peaks);
      if (fault !== undefined) return fail(fault);
    }
    if (cursor !== stored.length)
      throw new NanoError("log_store_inconsistent", "the store returned entries outside the requested range");
  }
  if (next < heads.length) {
    const head = heads[heads.length - 1]!;
    return fail({
      kind: "checkpoint_beyond_log",
      firstBadIndex: size,
      exact: true,
      message: `a checkpoint signs ${head.size} entries but the store holds ${size}: entries from ${size} are gone`,
    });
  }
  return { ok: true, size, rootHash: rootOf(peaks), checkpointsChecked: heads.length };
}

/** verifyLog that throws `log_tampered` naming the first bad index. */
export async function assertLogIntact(
  store: MerkleLogStore,
  checkpoints: readonly TreeHead[],
): Promise<void> {
  const result = await verifyLog(store, checkpoints);
  if (!result.ok)
    throw new NanoError(
      "log_tampered",
      `log verification failed, first bad index ${result.fault.firstBadIndex}${result.fault.exact ? "" : " or later"}: ${result.fault.message}`,
    );
}
