/**
 * The audit layer: an RFC 9162 Merkle log with C2SP signed checkpoints, used by relay and client.
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
  signCheckpoint,
  type TreeHead,
} from "./checkpoint.ts";
export { CheckpointTracker, type TrackedCheckpoint } from "./checkpoint-tracker.ts";
export {
  CHECKPOINT_ML_DSA_CONTEXT,
  checkKeyName,
  ED25519_NOTE_SIGNATURE_TYPE,
  ed25519KeyId,
  formatVerifierKeys,
  generateLogKey,
  type LogSigningKey,
  type LogVerifierKey,
  logVerifierKey,
  ML_DSA_65_NOTE_SIGNATURE_TYPE,
  makeVerifierKey,
  mlDsa65KeyId,
  noteKeyId,
  parseVerifierKeys,
} from "./log-key.ts";
export type { LogAppendBatch, MerkleLogStore, StoredEntry, SubtreeNode } from "./log-store.ts";
export { MemoryLogStore } from "./memory-log-store.ts";
export { EMPTY_ROOT, HASH_SIZE, hashChildren, hashLeaf, rootFromLeafHashes } from "./merkle-hash.ts";
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
