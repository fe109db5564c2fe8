import type { ErrorEntry } from "./catalogue.ts";

/** Codes raised by the session protocol (src/protocol). docs/protocol.md §12 says when each is raised. */
export const PROTOCOL_ERRORS = {
  // ---- encodings
  malformed: {
    kind: "codec",
    status: 400,
    meaning: "A protocol structure has a field outside its allowed values (a length, flag, count or order).",
    fix: "Encode exactly as docs/protocol.md specifies; the structure cannot be repaired.",
  },
  unsupported_version: {
    kind: "codec",
    status: 400,
    meaning: "A protocol structure or stored record carries a format version this build does not know.",
    fix: "Upgrade the older side; records are never silently reinterpreted.",
  },
  envelope_size_invalid: {
    kind: "codec",
    status: 413,
    meaning:
      "An envelope or its body has a size outside the fixed bounds of its suite and type (64 KiB at most).",
    fix: "Send content larger than the per-suite maximum as an attachment.",
  },
  content_too_large: {
    kind: "usage",
    status: 413,
    meaning: "The content to encrypt does not fit the largest padding bucket of one envelope.",
    fix: "Send it as an attachment (docs/protocol.md §9); messages carry at most the listed content size.",
  },
  expiry_out_of_range: {
    kind: "codec",
    status: 400,
    meaning:
      "A message's disappearing timer is outside 1 second .. 365 days, or is set on a delivery receipt (docs/protocol.md §9.4). The message is refused, not clamped.",
    fix: "Send timers of 1 s to 365 d on texts and attachments only; a peer that sends others is broken or hostile.",
  },
  invalid_username: {
    kind: "validation",
    status: 400,
    meaning:
      "A username is empty, longer than 64 bytes, or uses characters outside a-z, 0-9, '.', '_' and '-'.",
    fix: "Choose a lowercase username of 1 to 64 characters from a-z, 0-9, '.', '_' and '-'.",
  },
  // ---- signatures and identities
  invalid_signature: {
    kind: "crypto",
    status: 400,
    meaning:
      "A signature (identity record, prekey, certificate, username claim or handshake) did not verify.",
    fix: "The data was forged or corrupted; discard it and fetch it again from its owner.",
  },
  challenge_mismatch: {
    kind: "crypto",
    status: 401,
    meaning: "A signed claim or authentication answer is over a different challenge than the relay issued.",
    fix: "Request a fresh challenge and sign exactly it; challenges are single-use.",
  },
  certificate_expired: {
    kind: "validation",
    status: 401,
    meaning: "A device certificate is past the end of its validity period.",
    fix: "Issue a new device certificate with the identity key.",
  },
  certificate_not_yet_valid: {
    kind: "validation",
    status: 401,
    meaning:
      "A device certificate starts more than the clock-skew tolerance (15 min) after this machine's clock: one of the two clocks is wrong.",
    fix: "Check the clock of this machine (and of the one that issued the certificate); the client compares its clock with the relay's.",
  },
  certificate_mismatch: {
    kind: "crypto",
    status: 401,
    meaning:
      "A device certificate names another user or another identity key than the record it is checked against.",
    fix: "Certify the device with the identity key of the current identity record.",
  },
  identity_changed: {
    kind: "validation",
    status: 409,
    meaning:
      "A contact's identity record differs from the one stored for them; sending and receiving are blocked.",
    fix: "Compare safety numbers with the contact, then accept the new identity explicitly.",
  },
  first_contact_sender_mismatch: {
    kind: "crypto",
    status: 400,
    meaning:
      "A first contact's identity record names another user than the sender the relay authenticated (an impersonation attempt).",
    fix: "Nothing to do: the message is refused, acknowledged and reported as a refused first contact from the relay sender, never shown.",
  },
  identity_not_proven: {
    kind: "crypto",
    status: 400,
    meaning:
      "A first contact's identity record is neither the one pinned for its sender nor the one key transparency proves for that username.",
    fix: "The record was forged or superseded; the message is refused. If the sender really replaced their identity, their new record is in the relay's key-transparency log and their next first contact carries it.",
  },
  first_contact_refused: {
    kind: "validation",
    status: 409,
    meaning: "A copy of a first contact this device refused before (its hash is in the refusal cache).",
    fix: "Nothing to do: the copy is refused for one lookup, without another handshake; the first refusal said why.",
  },
  stale_identity_record: {
    kind: "validation",
    status: 409,
    meaning: "A handshake names a version of our own identity record that is not the current one.",
    fix: "The sender used an outdated bundle; they must fetch the current one and retry.",
  },
  // ---- prekeys
  prekey_expired: {
    kind: "validation",
    status: 400,
    meaning: "A prekey is past its expiry time.",
    fix: "Fetch a fresh bundle; owners rotate signed prekeys before they expire.",
  },
  prekey_not_yet_valid: {
    kind: "validation",
    status: 400,
    meaning:
      "A prekey starts more than the clock-skew tolerance (15 min) after this machine's clock: this clock is behind, or the owner's is ahead.",
    fix: "Check this machine's clock; a message that failed this way waits at the relay and is received once the clock is right.",
  },
  prekey_not_found: {
    kind: "validation",
    status: 404,
    meaning:
      "A handshake names a prekey id this device does not hold (consumed, rotated out or never issued).",
    fix: "The sender must fetch a fresh bundle and start again.",
  },
  prekey_mismatch: {
    kind: "validation",
    status: 400,
    meaning: "A prekey's suite, algorithm, role or last-resort flag is not what its position requires.",
    fix: "Each bundle slot takes one kind of prekey; see docs/protocol.md §6.",
  },
  // ---- suite selection
  suite_not_accepted: {
    kind: "validation",
    status: 400,
    meaning: "A suite is not in both parties' accepted suites, or is below the local floor.",
    fix: "Pick a mode both identities accept (see the contact's identity record) or change the floor explicitly.",
  },
  suite_mismatch: {
    kind: "crypto",
    status: 400,
    meaning:
      "The responder's recomputation of the suite choice from both identity records differs from the suite used.",
    fix: "Treat as a downgrade attempt; the sender's client must follow the selection rule of docs/protocol.md §5.",
  },
  suite_below_pin: {
    kind: "validation",
    status: 400,
    meaning: "A new session with a contact uses a suite ranked below the one pinned for that contact.",
    fix: "Lowering a pin needs an identity update signed by the pinned post-quantum key plus the user's consent.",
  },
  no_common_suite: {
    kind: "validation",
    status: 400,
    meaning: "No suite is accepted by both identities at or above the sender's floor.",
    fix: "One side must accept a higher mode (run init with another --crypto-mode) or the other must upgrade.",
  },
  // ---- handshake and ratchet
  replayed_prekey_message: {
    kind: "validation",
    status: 409,
    meaning: "A first-contact message was processed before (its transcript hash is in the replay cache).",
    fix: "Nothing to do: the copy is ignored with no state change and no reply.",
  },
  first_chain_unsigned: {
    kind: "crypto",
    status: 400,
    meaning:
      "A message opened on the initiator's first chain (chain 0) but is not a signed first-contact message; chain 0 carries nothing else.",
    fix: "Treat as key-compromise impersonation (someone holding this device's secrets forged it); the message is rejected.",
  },
  duplicate_message: {
    kind: "validation",
    status: 409,
    meaning: "A message whose key was already used was delivered again.",
    fix: "Nothing to do: message keys are single-use, so the copy is dropped.",
  },
  too_many_skipped: {
    kind: "validation",
    status: 400,
    meaning: "Accepting the message would skip more message keys than the per-chain or total limit allows.",
    fix: "The peer sent far ahead or the message is hostile; it cannot be decrypted. Ask the peer to resend.",
  },
  kem_answer_missing: {
    kind: "crypto",
    status: 400,
    meaning:
      "A ratchet step did not answer the open KEM offer, or a post-quantum step lacked its KEM fields.",
    fix: "Treat as an attack on post-compromise security; the message is rejected.",
  },
  unexpected_kem_answer: {
    kind: "crypto",
    status: 400,
    meaning: "A ratchet step carries a KEM answer although no offer of ours is open.",
    fix: "Treat as corruption or an attack; the message is rejected.",
  },
  kem_offer_reflected: {
    kind: "crypto",
    status: 400,
    meaning: "A peer's KEM offer repeats one of our own or one of theirs seen before.",
    fix: "Treat as a reflection attack; encapsulation keys are never reused.",
  },
  chain_exhausted: {
    kind: "usage",
    status: 400,
    meaning: "A sending chain reached 2^20 messages, the limit of one header key.",
    fix: "Wait for a reply from the peer (any receipt) so the ratchet can step.",
  },
  no_session: {
    kind: "validation",
    status: 404,
    meaning: "No session with this contact can decrypt the message or be used to send.",
    fix: "Start a new session from the contact's prekey bundle.",
  },
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
      "An attachment is above the limit that applies: the caller's maxBytes when decrypting (nothing was allocated or decrypted), or the relay's limits.attachment_max_bytes when uploading.",
    fix: "Split the content, raise the caller's limit if the size is expected, or ask the operator for a larger relay limit.",
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
