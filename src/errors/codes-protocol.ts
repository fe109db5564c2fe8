import type { ErrorEntry } from "./catalogue.ts";

/** Codes raised by the session protocol (src/protocol). */
export const PROTOCOL_ERRORS = {
  // attachments and safety numbers
  attachment_version_unsupported: {
    kind: "codec",
    status: 400,
    meaning:
      "An attachment ciphertext or attachment reference starts with a magic or version this release does not know.",
    fix: "Upgrade the client; if it is current, the data is not a nano v1 attachment (see docs/attachments.md).",
  },
  attachment_reference_invalid: {
    kind: "codec",
    status: 400,
    meaning:
      "An attachment reference breaks its encoding rules: wrong key or hash length, size beyond 2^53-1, content type outside its grammar, or a filename that is empty, too long, not UTF-8 or contains a path separator or control character.",
    fix: "Encode references with encodeAttachmentReference; the exact grammar is in docs/attachments.md.",
  },
  attachment_too_large: {
    kind: "validation",
    status: 413,
    meaning:
      "An attachment's plaintext size is above the limit the caller set; nothing was allocated or decrypted.",
    fix: "Raise the caller's maxBytes if the size is expected, otherwise refuse the attachment.",
  },
  attachment_truncated: {
    kind: "crypto",
    status: 400,
    meaning:
      "The attachment ciphertext ended before its final chunk (the one sealed with the last-chunk flag); the plaintext released so far is incomplete.",
    fix: "Discard every byte released so far and download the blob again; a relay or network cut it short.",
  },
  attachment_trailing_data: {
    kind: "crypto",
    status: 400,
    meaning:
      "Bytes follow the final chunk of an attachment ciphertext (more than the reference's size allows).",
    fix: "Discard the download; the blob was extended or is not the one the reference names.",
  },
  attachment_chunk_invalid: {
    kind: "crypto",
    status: 400,
    meaning:
      "An attachment chunk failed authentication at its position: a changed byte, a reordered, swapped or duplicated chunk, a chunk spliced from another attachment, a wrong key, or a misplaced last-chunk flag.",
    fix: "Discard every byte released so far; the blob was tampered with or does not belong to this reference.",
  },
  attachment_hash_mismatch: {
    kind: "crypto",
    status: 400,
    meaning:
      "Every chunk authenticated but the BLAKE2b-512 hash of the whole ciphertext differs from the reference's: the holder of the key produced a different ciphertext than the one the message named.",
    fix: "Discard the download and treat the sender's attachment as forged; re-downloading will not help.",
  },
  safety_number_input_invalid: {
    kind: "usage",
    status: 400,
    meaning:
      "A safety number was requested for an empty or over-long username, a username that is not NFC-normalised, or an empty or over-long identity record.",
    fix: "Pass the verified username and the exact encoded identity record of both parties (see docs/safety-numbers.md).",
  },
  safety_number_malformed: {
    kind: "codec",
    status: 400,
    meaning:
      "A typed-in safety number is not 60 digits, or a scanned safety-number QR payload has the wrong length or magic.",
    fix: "Type all 60 digits (spaces and line breaks are ignored) or scan the code again.",
  },
  safety_number_version_unsupported: {
    kind: "codec",
    status: 400,
    meaning: "A scanned safety-number QR payload carries a version this release does not compute.",
    fix: "Both people should upgrade to the same release, then compare again.",
  },
} as const satisfies Record<string, ErrorEntry>;
