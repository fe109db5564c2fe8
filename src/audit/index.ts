/**
 * The audit layer: an RFC 9162 Merkle log with C2SP signed checkpoints, used by relay and client.
 * The verifying half takes its primitives from a CryptoProvider and runs in any runtime; the log, its
 * stores and log-signer.ts are the relay's (node:crypto).
 * The SQLite store is imported from ./sqlite-log-store.ts directly, so that clients importing this
 * index never load node:sqlite.
 */
export {
  CHECKPOINT_LIMITS,
  type Checkpoint,
  describeCheckpoint,
  formatCheckpointBody,
  type OpenCheckpointOptions,
  openCheckpoint,
  parseCheckpointBody,
  type TreeHead,
} from "./checkpoint.ts";
export { CheckpointTracker, type TrackedCheckpoint } from "./checkpoint-tracker.ts";
export {
  CHECKPOINT_ML_DSA_CONTEXT,
  checkKeyName,
  ED25519_NOTE_SIGNATURE_TYPE,
  ed25519KeyId,
  formatVerifierKeys,
  type LogVerifierKey,
  ML_DSA_65_NOTE_SIGNATURE_TYPE,
  makeVerifierKey,
  mlDsa65KeyId,
  noteKeyId,
  parseVerifierKeys,
} from "./log-key.ts";
export { generateLogKey, type LogSigningKey, logVerifierKey, signCheckpoint } from "./log-signer.ts";
export type { LogAppendBatch, MerkleLogStore, StoredEntry, SubtreeNode } from "./log-store.ts";
export { MemoryLogStore } from "./memory-log-store.ts";
export {
  EMPTY_ROOT,
  HASH_SIZE,
  hashChildren,
  hashLeaf,
  rootFromLeafHashes,
  type Sha256,
} from "./merkle-hash.ts";
export { type AppendResult, MAX_ENTRY_BYTES, MerkleLog } from "./merkle-log.ts";
export {
  type ConsistencyClaim,
  type InclusionClaim,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from "./merkle-verify.ts";
export {
  COMMITMENT_SALT_LENGTH,
  type CommitmentPrimitives,
  commitPersonalData,
  type SaltedCommitment,
  verifyPersonalData,
} from "./salted-commitment.ts";
export {
  formatSignedNote,
  NOTE_LIMITS,
  type NoteSignature,
  parseSignedNote,
  type SignedNote,
} from "./signed-note.ts";
export {
  assertLogIntact,
  type LogFault,
  type LogFaultKind,
  type LogVerification,
  type VerifyLogOptions,
  verifyLog,
} from "./verify-log.ts";
