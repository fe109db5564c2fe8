import type { ErrorEntry } from "./catalogue.ts";

/** Codes raised by the audit log and key transparency (src/audit). */
export const AUDIT_ERRORS = {
  // ---- Merkle proofs (RFC 9162 2.1.3, 2.1.4)
  inclusion_proof_invalid: {
    kind: "crypto",
    status: 422,
    meaning:
      "An inclusion proof does not lead from the leaf hash to the root hash at the claimed index and tree size.",
    fix: "The proof, leaf, root, index or size was altered, or the log served a view it never signed; do not trust the entry.",
  },
  consistency_proof_invalid: {
    kind: "crypto",
    status: 422,
    meaning: "A consistency proof does not show that the older tree is a prefix of the newer tree.",
    fix: "Either the proof was altered or the log rewrote its history; keep both checkpoints as evidence.",
  },
  log_index_out_of_range: {
    kind: "validation",
    status: 400,
    meaning: "A leaf index is not below the tree size, or a tree size is larger than the log.",
    fix: "Ask only for leaves and sizes the log's latest checkpoint covers.",
  },
  tree_size_invalid: {
    kind: "validation",
    status: 400,
    meaning:
      "A tree size or leaf index is not a non-negative integer below 2^53, or the first size of a consistency proof exceeds the second.",
    fix: "Pass sizes as whole numbers with the older tree first.",
  },
  // ---- the append-only log and its store
  log_entry_too_large: {
    kind: "validation",
    status: 413,
    meaning: "A log entry is larger than the log accepts (64 KiB).",
    fix: "Log a hash or a salted commitment of large data, not the data itself.",
  },
  log_append_conflict: {
    kind: "internal",
    status: 409,
    meaning:
      "An append expected the log to have one size but the store holds another: a second writer appended.",
    fix: "Run one writer per log, or retry after re-reading the size.",
  },
  log_store_inconsistent: {
    kind: "internal",
    status: 500,
    meaning: "The log store lacks an entry or subtree hash it must hold for its size.",
    fix: "The store is damaged or was edited; run `nano-relay audit verify` to find the first bad index.",
  },
  log_tampered: {
    kind: "crypto",
    status: 500,
    meaning:
      "A full check of the stored log found entries that do not hash to the stored tree or to a signed checkpoint.",
    fix: "Treat the store as compromised; the message names the first bad index. Restore from a backup and investigate.",
  },
  // ---- signed notes and checkpoints (C2SP signed-note, tlog-checkpoint)
  signed_note_malformed: {
    kind: "codec",
    status: 400,
    meaning:
      "A signed note is not valid UTF-8 text, has control characters, lacks the blank line before its signatures, or has a malformed or duplicate signature line.",
    fix: "Send the note exactly as the log produced it, byte for byte.",
  },
  signed_note_too_large: {
    kind: "codec",
    status: 413,
    meaning: "A signed note exceeds the size, line length, line count or signature count limits.",
    fix: "Checkpoints are a few kilobytes; a larger note is hostile or corrupt.",
  },
  note_key_name_invalid: {
    kind: "usage",
    status: 400,
    meaning:
      "A signed-note key name is empty, too long, or contains a space, a plus sign or a control character.",
    fix: "Use a schema-less URL such as `relay.example.com/audit` as the log's name.",
  },
  verifier_key_malformed: {
    kind: "codec",
    status: 400,
    meaning:
      "A log verifier key is not `<name>+<8 hex digit key ID>+<base64(type || public key)>` with a matching key ID, type and length.",
    fix: "Copy the log's verifier keys exactly as the relay publishes them.",
  },
  checkpoint_malformed: {
    kind: "codec",
    status: 400,
    meaning:
      "A checkpoint body is not origin, decimal tree size without leading zeros, base64 32-byte root hash and non-empty extension lines.",
    fix: "Send the checkpoint exactly as the log produced it.",
  },
  checkpoint_origin_mismatch: {
    kind: "validation",
    status: 400,
    meaning: "A checkpoint names a different log (origin line) than the one the verifier expects.",
    fix: "Check that the client is configured with this log's name and keys.",
  },
  checkpoint_signature_missing: {
    kind: "crypto",
    status: 422,
    meaning:
      "A checkpoint lacks the Ed25519 or the ML-DSA-65 signature of the expected log key; both are required.",
    fix: "Only notes signed by both halves of the pinned log key are accepted; fetch the checkpoint again.",
  },
  checkpoint_signature_invalid: {
    kind: "crypto",
    status: 422,
    meaning: "A signature line from the expected log key does not verify over the checkpoint text.",
    fix: "The checkpoint was altered or forged; do not trust it.",
  },
  // ---- key transparency (client-side checkpoint tracking)
  log_fork_detected: {
    kind: "crypto",
    status: 409,
    meaning:
      "The log signed two checkpoints that cannot both be true: same size with different roots, or a newer one that a consistency proof does not connect to the older.",
    fix: "Keep both checkpoints (the message names them) as proof of the log's misbehaviour and stop trusting the log.",
  },
  log_rollback_detected: {
    kind: "crypto",
    status: 409,
    meaning: "The log presented a checkpoint smaller than one it signed before.",
    fix: "Keep both checkpoints (the message names them); the log or someone in between is hiding entries.",
  },
  salted_commitment_mismatch: {
    kind: "crypto",
    status: 422,
    meaning:
      "Personal data and its salt from the side table do not hash to the commitment stored in the log.",
    fix: "The side table was altered; the logged commitment is authoritative.",
  },
  log_leaf_malformed: {
    kind: "validation",
    status: 422,
    meaning:
      "A log entry is not a valid audit-event or key-transparency leaf (wrong version, truncated, trailing bytes, bad field).",
    fix: "The entry was altered or written by an incompatible relay; run `nano-relay audit verify`.",
  },
  kt_binding_mismatch: {
    kind: "crypto",
    status: 422,
    meaning:
      "The key-transparency leaf the relay proved does not bind this username to this identity record (hash, version or username commitment differ).",
    fix: "Do not use the received keys: the relay served keys that are not the ones it logged. Keep the response as evidence.",
  },
  kt_proof_missing: {
    kind: "validation",
    status: 422,
    meaning:
      "A response that must carry key-transparency fields (checkpoint, leaf, inclusion proof) lacks them or they are malformed.",
    fix: "Use a relay with key transparency enabled; a relay that omits the proof cannot be held to the keys it serves.",
  },
  log_key_file_invalid: {
    kind: "validation",
    status: 500,
    meaning:
      "The relay's log key file cannot be read, is not a valid key file, or is readable by group or others.",
    fix: "Restore the key file from backup with mode 0600, or move it away to let the relay generate a new key (clients must re-pin).",
  },
} as const satisfies Record<string, ErrorEntry>;
