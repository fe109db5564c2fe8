/**
 * Client-side key transparency (docs/audit.md, "Key transparency"): the relay proves, with every bundle,
 * that the identity record it serves for a username is the one it logged in its append-only
 * key-transparency log, at a checkpoint signed by its pinned log key. The client:
 *   1. verifies the checkpoint's Ed25519 AND ML-DSA-65 signatures against the pinned verifier key;
 *   2. moves its CheckpointTracker forward to it, fetching PROOF(held, new) from the relay — a newer
 *      checkpoint that does not extend the one held is a fork, a smaller one a rollback: both are hard
 *      errors that name the two checkpoints (the pair is evidence against the relay);
 *   3. verifies the inclusion proof of the leaf at the tracker's checkpoint;
 *   4. checks that the leaf binds exactly this username (salted commitment) to exactly H(IR) and the
 *      record's version.
 * Pure apart from the consistency-proof callback: no storage, no clock. The tracker's state is one
 * signed note (`state()`), which the caller persists and passes back on the next start. Every
 * primitive comes from the client's CryptoProvider, so the verifier runs in Node and in the page alike.
 */

import type { CryptoProvider } from "../crypto/provider/index.ts";
import { NanoError } from "../errors/index.ts";
import { constantTimeEqual } from "../protocol/_constant-time.ts";
import { decodeIdentityRecordExact } from "../protocol/identity-record.ts";
import { describeIssue, TransparencyProof } from "../wire/index.ts";
import { type Checkpoint, describeCheckpoint } from "./checkpoint.ts";
import { CheckpointTracker } from "./checkpoint-tracker.ts";
import { checkKtUsername, decodeKtLeaf } from "./kt-leaf.ts";
import type { LogVerifierKey } from "./log-key.ts";
import { hashLeaf } from "./merkle-hash.ts";
import { decodeBase64Strict } from "./signed-note.ts";

/** The `transparency` object of a bundle or account response (src/wire/answers.ts TransparencyProof). */
export type TransparencyResponse = TransparencyProof;

/** Fetches PROOF(from, to) of the key-transparency log (GET /v1/transparency/kt/consistency). */
export type ConsistencyFetcher = (from: number, to: number) => Promise<readonly Uint8Array[]>;

/** Stores the tracker's state (`state()`) durably; the next session passes it to `open`. */
export type PersistState = (state: string) => Promise<void>;

export interface KtVerification {
  /** The username is bound to this record in the log at `checkpoint`. */
  readonly proven: true;
  readonly logIndex: number;
  readonly checkpoint: Checkpoint;
  readonly recordVersion: number;
}

function missing(message: string): NanoError {
  return new NanoError("kt_proof_missing", message);
}

function bytesField(value: unknown, what: string): Uint8Array {
  if (typeof value !== "string" || value.length > 200_000) throw missing(`${what} is missing or too long`);
  const bytes = decodeBase64Strict(value);
  if (bytes === undefined) throw missing(`${what} is not canonical base64`);
  return bytes;
}

/** Shape checks of untrusted JSON (the wire contract's TransparencyProof) before any cryptography runs. */
export function parseTransparencyResponse(value: unknown): TransparencyResponse {
  if (typeof value !== "object" || value === null)
    throw missing("the response carries no transparency proof");
  const parsed = TransparencyProof.safeParse(value);
  if (!parsed.success) throw missing(`the transparency proof is malformed (${describeIssue(parsed.error)})`);
  return parsed.data;
}

export class KeyTransparencyVerifier {
  readonly #tracker: CheckpointTracker;
  readonly #provider: CryptoProvider;
  readonly #persist: PersistState;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(provider: CryptoProvider, tracker: CheckpointTracker, persist: PersistState) {
    this.#provider = provider;
    this.#tracker = tracker;
    this.#persist = persist;
  }

  /**
   * `provider`: the client's (ClientContext.provider): it verifies the checkpoints' signatures, hashes
   * the Merkle proofs and decodes the identity records. `state`: the note returned by `state()` in an
   * earlier session (verified again here). `persist`: called with the new state each time the tracker
   * moves, before the verification that moved it goes on (so also when it then fails), and awaited.
   */
  static async open(
    provider: CryptoProvider,
    pinned: LogVerifierKey,
    state?: string,
    persist: PersistState = async () => undefined,
  ): Promise<KeyTransparencyVerifier> {
    const tracker = await CheckpointTracker.open(
      provider,
      pinned,
      state === undefined ? {} : { trusted: state },
    );
    return new KeyTransparencyVerifier(provider, tracker, persist);
  }

  /** The newest checkpoint this client has verified, as a signed note to persist; undefined before any. */
  state(): string | undefined {
    return this.#tracker.current?.note;
  }

  get checkpoint(): Checkpoint | undefined {
    return this.#tracker.current?.checkpoint;
  }

  /**
   * Verifies that `identityRecord` (the bytes received for `username`, normalized) is `username`'s
   * binding in the log. Throws log_fork_detected / log_rollback_detected (hard: stop trusting the
   * relay), checkpoint_* (bad signature or format), inclusion_proof_invalid, kt_binding_mismatch,
   * salted_commitment_mismatch or kt_proof_missing. The tracker only ever moves forward.
   */
  verify(
    username: string,
    identityRecord: Uint8Array,
    response: unknown,
    fetchConsistency: ConsistencyFetcher,
  ): Promise<KtVerification> {
    // One at a time: a proof fetched from the held size must meet that same held checkpoint, or two
    // concurrent verifications would make each other's honest proofs look like a fork.
    const run = this.#tail.then(() => this.#verify(username, identityRecord, response, fetchConsistency));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #verify(
    username: string,
    identityRecord: Uint8Array,
    response: unknown,
    fetchConsistency: ConsistencyFetcher,
  ): Promise<KtVerification> {
    const fields = parseTransparencyResponse(response);
    const before = this.#tracker.current;
    // The size beside the checkpoint is the relay's word; it must be the signed one before any proof is
    // fetched, or a wrong tree_size would fetch PROOF(held, wrong size) and report a fork that is not.
    const shown = await this.#tracker.advanceFetching(fields.checkpoint, fetchConsistency, (signed) => {
      if (signed.size !== fields.tree_size)
        throw missing(`tree_size ${fields.tree_size} is not the checkpoint's size ${signed.size}`);
    });
    const current = this.#tracker.current!;
    // Kept before anything else is checked: a signed, consistent checkpoint is part of this client's
    // view even when the binding shown with it then fails, and a restart must not forget it (else the
    // relay could roll back to a smaller tree once the client restarted).
    if (current !== before) await this.#persist(current.note);
    // The checkpoint shown: the held one, or an older one proven to be a prefix of it (a stale answer).
    const checkpoint = shown.checkpoint;
    const leaf = bytesField(fields.leaf, "leaf");
    const proof = fields.inclusion_proof.map((hash, i) => bytesField(hash, `inclusion_proof[${i}]`));
    const { sha256 } = this.#provider.primitives;
    this.#tracker.verifyInclusion(hashLeaf(sha256, leaf), fields.log_index, proof, checkpoint);
    const binding = decodeKtLeaf(leaf);
    checkKtUsername(sha256, binding, username, bytesField(fields.username_salt, "username_salt"));
    const record = await decodeIdentityRecordExact(this.#provider, identityRecord);
    if (record.username !== username)
      throw new NanoError("kt_binding_mismatch", "the identity record names a different user");
    if (!constantTimeEqual(binding.identityHash, record.hash))
      throw new NanoError(
        "kt_binding_mismatch",
        `the logged identity for ${username} is not the record received (log index ${fields.log_index})`,
      );
    if (binding.recordVersion !== record.recordVersion)
      throw new NanoError(
        "kt_binding_mismatch",
        `the logged record version ${binding.recordVersion} is not the received ${record.recordVersion}`,
      );
    return { proven: true, logIndex: fields.log_index, checkpoint, recordVersion: binding.recordVersion };
  }
}

/**
 * One line for `nano-client verify NAME`: whether NAME's key is proven in the log, at which checkpoint,
 * or why not. Hard errors (fork, rollback) are reported as such, never softened into "unproven".
 */
export function describeKtOutcome(username: string, outcome: KtVerification | unknown): string {
  if (typeof outcome === "object" && outcome !== null && (outcome as KtVerification).proven === true) {
    const { checkpoint, logIndex } = outcome as KtVerification;
    return `${username}'s identity is proven in the key-transparency log (entry ${logIndex}) at ${describeCheckpoint(checkpoint)}`;
  }
  if (NanoError.is(outcome, "log_fork_detected") || NanoError.is(outcome, "log_rollback_detected"))
    return `SECURITY ERROR: the relay's key-transparency log is inconsistent: ${outcome.message}`;
  if (NanoError.is(outcome))
    return `${username}'s identity is NOT proven in the key-transparency log: ${outcome.message}`;
  return `${username}'s identity is NOT proven in the key-transparency log`;
}
