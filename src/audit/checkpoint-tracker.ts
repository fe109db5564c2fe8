/**
 * Client-side memory of a log: the newest checkpoint this client has verified. Every newer checkpoint
 * must be signed by the pinned log key and proven (RFC 9162 consistency proof) to extend the one held,
 * so the log can only ever grow in this client's view. That is what makes key transparency work: a
 * relay that shows one user a different username→key binding than everyone else must fork its log,
 * and the fork is caught the moment the client meets a checkpoint from the other branch.
 *
 * Rules (the newer checkpoint N against the held checkpoint H):
 * - N.size < H.size: log_rollback_detected — the log signed a bigger tree before (advanceFetching first
 *   asks for PROOF(N, H): a proven prefix is a stale answer, not a rollback).
 * - N.size = H.size, different root: log_fork_detected — two signed roots for one size.
 * - N.size > H.size and the consistency proof fails: log_fork_detected — N does not extend H.
 * - H.size = 0: any N extends the empty tree; no proof needed.
 * - Nothing held yet: the first verified checkpoint is trusted on first use.
 * Both conflict errors name both checkpoints (origin, size, root) so the user or a monitor can publish
 * the pair as evidence; callers should persist `note` of both.
 *
 * Runtime-free: signatures and hashes come from the CryptoProvider it is opened with, so opening and
 * advancing are asynchronous (WebCrypto verifies asynchronously).
 */
import type { CryptoProvider } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { constantTimeEqual } from "../protocol/_constant-time.ts";
import {
  type Checkpoint,
  describeCheckpoint,
  type OpenCheckpointOptions,
  openCheckpoint,
} from "./checkpoint.ts";
import type { LogVerifierKey } from "./log-key.ts";
import { verifyConsistency, verifyInclusion } from "./merkle-verify.ts";

export interface TrackedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The signed note exactly as received: evidence a third party can verify. */
  readonly note: string;
}

export class CheckpointTracker {
  readonly #provider: CryptoProvider;
  readonly #key: LogVerifierKey;
  readonly #options: OpenCheckpointOptions;
  #current: TrackedCheckpoint | undefined;

  private constructor(
    provider: CryptoProvider,
    key: LogVerifierKey,
    options: OpenCheckpointOptions,
    current: TrackedCheckpoint | undefined,
  ) {
    this.#provider = provider;
    this.#key = key;
    this.#options = options;
    this.#current = current;
  }

  /** `trusted`: a signed note persisted from an earlier session (verified again here). */
  static async open(
    provider: CryptoProvider,
    key: LogVerifierKey,
    options: OpenCheckpointOptions & { readonly trusted?: string } = {},
  ): Promise<CheckpointTracker> {
    const open: OpenCheckpointOptions = { origin: options.origin, allowExtensions: options.allowExtensions };
    const current =
      options.trusted === undefined
        ? undefined
        : { checkpoint: await openCheckpoint(provider, options.trusted, key, open), note: options.trusted };
    return new CheckpointTracker(provider, key, open, current);
  }

  /** The newest verified checkpoint, or undefined before the first one. */
  get current(): TrackedCheckpoint | undefined {
    return this.#current;
  }

  /**
   * Verifies `note` and, if it extends the held checkpoint by `consistencyProof`
   * (PROOF(held.size, note.size)), makes it the held checkpoint. Returns the held checkpoint after the
   * call. Signature and format errors leave the tracker unchanged. The held checkpoint is read after
   * the signatures are verified, and decided on without a further await; a caller running several
   * advances at once must serialize them (KeyTransparencyVerifier does), since each proof is for the
   * size held when it was fetched.
   */
  async advance(note: string, consistencyProof: readonly Uint8Array[]): Promise<TrackedCheckpoint> {
    const next = await openCheckpoint(this.#provider, note, this.#key, this.#options);
    return this.#decide(next, note, consistencyProof);
  }

  /**
   * As `advance`, but the proof is fetched only after the note's signatures verified, only when one is
   * needed, and between the sizes the signed notes carry: never for a size the relay states beside it,
   * which would turn a lie about the size into a false fork. `check` sees the opened checkpoint before
   * anything is fetched or changed (a caller's own consistency checks).
   *
   * A smaller tree is settled by a proof here too: PROOF(next.size, held.size) showing it is a prefix
   * of the held tree makes it a stale view, not a rollback (an honest relay's answers to concurrent
   * requests arrive in any order). It is returned, and entries are checked against it
   * (`verifyInclusion`'s `at`): an entry of a prefix is an entry of the held tree. The tracker keeps the
   * held checkpoint. A smaller tree without such a proof (the proof fails, or the relay cannot give
   * one) is `log_rollback_detected`.
   */
  async advanceFetching(
    note: string,
    fetchProof: (from: number, to: number) => Promise<readonly Uint8Array[]>,
    check: (checkpoint: Checkpoint) => void = () => undefined,
  ): Promise<TrackedCheckpoint> {
    const next = await openCheckpoint(this.#provider, note, this.#key, this.#options);
    check(next);
    const held = this.#current;
    const heldSize = held?.checkpoint.size ?? 0;
    if (held !== undefined && next.size < heldSize) {
      await this.#checkPrefix(next, held.checkpoint, fetchProof);
      this.#checkSerialized(held);
      return { checkpoint: next, note };
    }
    const proof = heldSize > 0 && next.size > heldSize ? await fetchProof(heldSize, next.size) : [];
    this.#checkSerialized(held);
    return this.#decide(next, note, proof);
  }

  async #checkPrefix(
    next: Checkpoint,
    held: Checkpoint,
    fetchProof: (from: number, to: number) => Promise<readonly Uint8Array[]>,
  ): Promise<void> {
    const rolledBack = (cause: unknown) =>
      new NanoError(
        "log_rollback_detected",
        `log rolled back, the smaller tree is not shown to be a prefix of the held one: held ${describeCheckpoint(held)} and received ${describeCheckpoint(next)}`,
        { cause },
      );
    // The empty tree is a prefix of every tree (and PROOF(0, n) is not defined).
    if (next.size === 0) return;
    let proof: readonly Uint8Array[];
    try {
      proof = await fetchProof(next.size, held.size);
    } catch (error) {
      throw rolledBack(error);
    }
    try {
      verifyConsistency(this.#provider.primitives.sha256, {
        size1: next.size,
        size2: held.size,
        root1: next.rootHash,
        root2: held.rootHash,
        proof,
      });
    } catch (error) {
      throw rolledBack(error);
    }
  }

  /** The proof was fetched for the size held then; a concurrent advance would make it a false fork. */
  #checkSerialized(held: TrackedCheckpoint | undefined): void {
    if (this.#current !== held) throw new TypeError("checkpoint tracker: advances must be serialized");
  }

  #decide(next: Checkpoint, note: string, consistencyProof: readonly Uint8Array[]): TrackedCheckpoint {
    const held = this.#current;
    const accepted: TrackedCheckpoint = { checkpoint: next, note };
    if (held === undefined || held.checkpoint.size === 0) {
      this.#current = accepted;
      return accepted;
    }
    const old = held.checkpoint;
    const both = `held ${describeCheckpoint(old)} and received ${describeCheckpoint(next)}`;
    if (next.size < old.size) throw new NanoError("log_rollback_detected", `log rolled back: ${both}`);
    if (next.size === old.size) {
      if (!constantTimeEqual(next.rootHash, old.rootHash))
        throw new NanoError("log_fork_detected", `log forked, two roots for one size: ${both}`);
      return held;
    }
    try {
      verifyConsistency(this.#provider.primitives.sha256, {
        size1: old.size,
        size2: next.size,
        root1: old.rootHash,
        root2: next.rootHash,
        proof: consistencyProof,
      });
    } catch (error) {
      throw new NanoError(
        "log_fork_detected",
        `log forked, the newer checkpoint does not extend the held one: ${both}`,
        {
          cause: error,
        },
      );
    }
    this.#current = accepted;
    return accepted;
  }

  /**
   * Checks that `leafHash` is entry `index` of the held checkpoint's tree, or of `at`: a checkpoint
   * `advanceFetching` returned (the held one, or one proven to be a prefix of it).
   */
  verifyInclusion(
    leafHash: Uint8Array,
    index: number,
    proof: readonly Uint8Array[],
    at: Checkpoint | undefined = this.#current?.checkpoint,
  ): void {
    if (at === undefined)
      throw new NanoError("log_index_out_of_range", "no checkpoint is held yet; advance to one first");
    verifyInclusion(this.#provider.primitives.sha256, {
      leafHash,
      index,
      treeSize: at.size,
      proof,
      rootHash: at.rootHash,
    });
  }
}
