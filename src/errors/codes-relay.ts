import type { ErrorEntry } from "./catalogue.ts";

/** Codes raised by the relay server, its store and configuration (src/relay, src/store). */
export const RELAY_ERRORS = {
  // ---- configuration and storage
  config_invalid: {
    kind: "usage",
    status: 500,
    meaning: "The relay configuration failed validation; the message lists every problem with its path.",
    fix: "Run `nano-relay validate-config` and fix each listed key; see docs/configuration.md.",
  },
  migration_checksum_mismatch: {
    kind: "internal",
    status: 500,
    meaning: "A migration already applied to the database differs from the migration shipped with the relay.",
    fix: "Never edit an applied migration; restore the original file or migrate down before changing it.",
  },
  migration_unknown_version: {
    kind: "usage",
    status: 500,
    meaning: "`migrate --to N` named a version that does not exist, or the database is newer than the relay.",
    fix: "Pick a version listed by `nano-relay migrate --list`, or upgrade the relay.",
  },
  store_unavailable: {
    kind: "internal",
    status: 503,
    meaning: "The store could not be reached or a write could not be made durable.",
    fix: "Retry later; operators check the disk and the database file.",
  },
  store_damaged: {
    kind: "internal",
    status: 503,
    meaning:
      "The relay database failed its integrity check (a damaged, truncated or empty file, or rows its indexes cannot reach).",
    fix: "Run `nano-relay check` for every problem, then restore the newest backup with `nano-relay restore` (docs/relay.md).",
  },
  web_app_unavailable: {
    kind: "usage",
    status: 500,
    meaning:
      "`[web] enabled = true` but the built web app is missing, too large, or a file differs from its SHA256SUMS.",
    fix: "Run `npm run build:web` (or point `[web] static_dir` at a complete build) and start the relay again.",
  },
  // ---- requests
  unsupported_media_type: {
    kind: "usage",
    status: 415,
    meaning: "The request's Content-Type is not what the endpoint accepts.",
    fix: "Send application/json, or application/octet-stream for attachment uploads.",
  },
  malformed_request: {
    kind: "codec",
    status: 400,
    meaning:
      "The request body or parameters are not what the endpoint accepts (bad JSON, missing or mistyped field, bad base64).",
    fix: "Send the shape documented in docs/api.md.",
  },
  body_too_large: {
    kind: "validation",
    status: 413,
    meaning: "The request body is larger than the endpoint accepts.",
    fix: "Send less; envelopes above max_envelope_bytes go as attachments.",
  },
  route_not_found: {
    kind: "usage",
    status: 404,
    meaning: "No endpoint has this method and path.",
    fix: "Check docs/api.md; every path starts with /v1/.",
  },
  relay_draining: {
    kind: "internal",
    status: 503,
    meaning: "The relay is shutting down and accepts no new work.",
    fix: "Retry against the relay after it restarts (clients reconnect automatically).",
  },
  rate_limited: {
    kind: "validation",
    status: 429,
    meaning: "Too many requests of this kind from this client or for this target.",
    fix: "Wait the number of seconds in the Retry-After header.",
  },
  body_timeout: {
    kind: "usage",
    status: 408,
    meaning:
      "The request body did not arrive within server.body_timeout_seconds; the relay closed the connection.",
    fix: "Send the whole body at once; large content goes as an attachment upload, which has the long timeout.",
  },
  relay_busy: {
    kind: "internal",
    status: 503,
    meaning:
      "The relay is at a resource bound (signature verification queue, memory budget) and refused new work.",
    fix: "Retry after the number of seconds in the Retry-After header.",
  },
  prekey_stock_full: {
    kind: "validation",
    status: 409,
    meaning: "The upload would leave more one-time prekeys of a suite than limits.max_one_time_prekeys.",
    fix: "Upload only enough keys to refill to the stock shown by GET /v1/prekeys.",
  },
  // ---- authentication
  unauthenticated: {
    kind: "usage",
    status: 401,
    meaning: "The request needs a bearer token and has none, or the token is unknown.",
    fix: "Log in with POST /v1/auth/challenge then POST /v1/auth/token and send `Authorization: Bearer <token>`.",
  },
  token_expired: {
    kind: "validation",
    status: 401,
    meaning: "The bearer token's lifetime has passed (automatic logoff).",
    fix: "Authenticate again with the device key to get a new token.",
  },
  challenge_invalid: {
    kind: "validation",
    status: 401,
    meaning:
      "The relay challenge is unknown, expired, already used, or was issued for another purpose or user.",
    fix: "Ask for a fresh challenge and answer it once.",
  },
  signature_invalid: {
    kind: "crypto",
    status: 401,
    meaning: "A claim, device certificate or challenge-response signature did not verify.",
    fix: "Sign with the right key over the exact bytes documented in docs/api.md; treat repeats as an attack.",
  },
  // ---- accounts
  username_invalid: {
    kind: "validation",
    status: 400,
    meaning:
      "The username breaks the rules: length 3-32 after normalization, a-z 0-9 . _ -, starting with a letter, no confusable or mixed-script characters.",
    fix: "Choose a username that follows the rules in docs/relay.md.",
  },
  username_reserved: {
    kind: "validation",
    status: 403,
    meaning: "The username is reserved (built-in list or security.reserved_usernames).",
    fix: "Choose another username.",
  },
  username_taken: {
    kind: "validation",
    status: 409,
    meaning: "Another identity already claimed this username (first claim wins).",
    fix: "Choose another username.",
  },
  account_not_found: {
    kind: "validation",
    status: 404,
    meaning: "No account has this username.",
    fix: "Check the spelling; the user may not have claimed it yet.",
  },
  identity_record_invalid: {
    kind: "crypto",
    status: 400,
    meaning: "The identity record is malformed or one of its self-signatures does not verify.",
    fix: "Re-create the record with the client; never edit it by hand.",
  },
  identity_update_unauthorized: {
    kind: "crypto",
    status: 403,
    meaning: "An identity-record update was not signed by the keys of the record it replaces.",
    fix: "Sign the update with the current identity keys.",
  },
  // ---- prekeys and suites
  suite_below_minimum: {
    kind: "validation",
    status: 400,
    meaning:
      "The identity record's preferred mode (at claim or update), the bundle's or the envelope's suite ranks below this relay's security.minimum_crypto_mode; the message names the modes it accepts.",
    fix: "Use a mode the relay accepts (hybrid is recommended); a refused claim stored nothing.",
  },
  post_quantum_required: {
    kind: "validation",
    status: 400,
    meaning:
      "The relay requires post-quantum prekeys (security.require_post_quantum) and the bundle has none.",
    fix: "Upload a bundle with a signed ML-KEM prekey (hybrid or quantum mode).",
  },
  prekey_upload_invalid: {
    kind: "crypto",
    status: 400,
    meaning:
      "A prekey in the upload is malformed, has a bad signature, or is not bound to the owner's identity record.",
    fix: "Regenerate the prekeys with the client.",
  },
  one_time_prekey_suite_mismatch: {
    kind: "validation",
    status: 400,
    meaning:
      "One-time prekeys of a suite for which the owner has no bundle: they could never be handed out (a fetch of suite S pairs S's bundle with a one-time key of S only).",
    fix: "Upload the bundle of that suite first, or in the same request as its one-time prekeys.",
  },
  prekeys_not_found: {
    kind: "validation",
    status: 404,
    meaning: "The user has not uploaded a prekey bundle yet.",
    fix: "Ask the user to come online once so their client uploads prekeys.",
  },
  // ---- mailboxes
  envelope_too_large: {
    kind: "validation",
    status: 413,
    meaning: "The envelope exceeds limits.max_envelope_bytes.",
    fix: "Send large content as an attachment and put its key and hash in the envelope.",
  },
  envelope_invalid: {
    kind: "codec",
    status: 400,
    meaning: "The envelope header is malformed or names an unknown version or suite.",
    fix: "Send envelopes produced by a current client.",
  },
  mailbox_full: {
    kind: "validation",
    status: 507,
    meaning: "The recipient's mailbox is at its quota of messages or bytes; the message was not stored.",
    fix: "Retry later, after the recipient comes online and drains the mailbox.",
  },
  client_message_id_conflict: {
    kind: "validation",
    status: 409,
    meaning: "This client message id was already used by this sender for a different recipient or envelope.",
    fix: "Use a fresh random client message id for every new message; reuse one only to retry the same send.",
  },
  // ---- attachments
  blob_hash_mismatch: {
    kind: "crypto",
    status: 400,
    meaning: "The uploaded bytes do not hash (BLAKE2b-512) to the address they were uploaded under.",
    fix: "Upload the exact ciphertext under the hex BLAKE2b-512 of its bytes.",
  },
  attachment_not_owner: {
    kind: "validation",
    status: 403,
    meaning:
      "A blob with this address was uploaded by another account; only its uploader can add recipients, and nothing was stored or charged.",
    fix: "Encrypt the file afresh (a new key gives new bytes and a new address) and upload that.",
  },
  attachment_quota_exceeded: {
    kind: "validation",
    status: 507,
    meaning: "The upload would exceed the account's attachment storage quota.",
    fix: "Wait until earlier attachments are fetched or expire.",
  },
  attachment_not_found: {
    kind: "validation",
    status: 404,
    meaning:
      "No attachment with this hash exists (never uploaded, expired, or fetched by every recipient more than a day ago).",
    fix: "Ask the sender to upload it again.",
  },
  // ---- compliance (docs/compliance.md)
  username_cooling_off: {
    kind: "validation",
    status: 409,
    meaning:
      "This username (or one confusable with it) belonged to an account erased less than `compliance.erasure_cooling_off_days` ago; nobody may claim it yet.",
    fix: "Choose another username.",
  },
  account_on_hold: {
    kind: "validation",
    status: 409,
    meaning: "The account is under a legal hold (`nano-relay compliance hold`), so it cannot be erased.",
    fix: "Release the hold with `nano-relay compliance release --user NAME` once the matter allows it, then erase.",
  },
  config_change_unapproved: {
    kind: "usage",
    status: 500,
    meaning:
      "The configuration weakens security against the last one the relay ran with (the message lists each change) and lacks the approvals `compliance.approvals_required` asks for.",
    fix: "Have enough administrators of `compliance.approvers` run `nano-relay compliance approve --config FILE --key KEY`, or undo the change.",
  },
  account_delete_unauthorized: {
    kind: "crypto",
    status: 403,
    meaning:
      "An account deletion was not signed by every identity signature key of the account's current record, or named another account than the token's.",
    fix: "Delete only your own account, signing the relay's challenge with your current identity keys (`nano-client account delete`).",
  },
  compliance_export_invalid: {
    kind: "crypto",
    status: 400,
    meaning:
      "A compliance export is not well formed, or one of its two signatures (Ed25519, ML-DSA-65) does not verify, or it was signed by another relay's log key.",
    fix: "Treat the file as altered or foreign; ask the relay's operator for a fresh export.",
  },
} as const satisfies Record<string, ErrorEntry>;
