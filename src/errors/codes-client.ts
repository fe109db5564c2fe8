import type { ErrorEntry } from "./catalogue.ts";

/** Codes raised by the client SDK, keystore and CLI (src/client, src/cli). */
export const CLIENT_ERRORS = {
  // ---- keystore (docs/client.md "Keystore format")
  keystore_missing: {
    kind: "usage",
    status: 404,
    meaning: "There is no keystore in the client's home directory.",
    fix: "Run `nano-client init` first, or point --home / NANO_CLIENT_HOME at an existing home.",
  },
  keystore_exists: {
    kind: "usage",
    status: 409,
    meaning: "`init` was asked to create a keystore where one already exists.",
    fix: "Use another --home, or move the existing home away if you really mean to start over.",
  },
  wrong_passphrase: {
    kind: "crypto",
    status: 401,
    meaning: "The passphrase does not unlock the keystore.",
    fix: "Type the passphrase again; NANO_PASSPHRASE or --passphrase-file may hold an old one.",
  },
  keystore_unrecognized: {
    kind: "codec",
    status: 400,
    meaning: "The keystore file does not start with the keystore magic bytes: it is not a keystore.",
    fix: "Check --home; restore the keystore from a backup if the file was overwritten.",
  },
  keystore_version_unsupported: {
    kind: "codec",
    status: 400,
    meaning: "The keystore file has a format version this client does not read.",
    fix: "Upgrade nano-client, or restore a keystore written by this version.",
  },
  keystore_truncated: {
    kind: "codec",
    status: 400,
    meaning: "The keystore file is shorter or longer than its header says: it was cut or appended to.",
    fix: "Restore the keystore from a backup; keystore writes are atomic, so this is outside damage.",
  },
  keystore_corrupt: {
    kind: "codec",
    status: 400,
    meaning: "The keystore file's checksum does not match its contents: bytes changed on disk.",
    fix: "Restore the keystore from a backup; the disk or another program damaged the file.",
  },
  keystore_tampered: {
    kind: "crypto",
    status: 400,
    meaning:
      "The passphrase is right but the sealed contents fail authentication: the file was modified deliberately. In the browser: the stored blob or its wrapping key was changed or removed, or the keystore's database was made again without them.",
    fix: "Treat the home directory as compromised; restore from a trusted backup.",
  },
  keystore_payload_too_large: {
    kind: "validation",
    status: 400,
    meaning: "The keystore payload is larger than the format's cap (1 MiB).",
    fix: "Keystores hold keys, not data; this is a bug in the caller or a hostile file.",
  },
  insecure_permissions: {
    kind: "validation",
    status: 400,
    meaning: "A secret-bearing file or directory can be read by other users.",
    fix: "Restrict it: `chmod 600 FILE` for files, `chmod 700 DIR` for the home directory.",
  },
  passphrase_required: {
    kind: "usage",
    status: 400,
    meaning: "No passphrase was available: stdin is not a terminal and none was given.",
    fix: "Set NANO_PASSPHRASE or pass --passphrase-file FILE (mode 0600), or run in a terminal.",
  },
  passphrase_too_short: {
    kind: "validation",
    status: 400,
    meaning: "A new passphrase is shorter than the minimum (8 characters).",
    fix: "Choose a longer passphrase; a few random words are easy to type and hard to guess.",
  },
  // ---- local state database
  local_store_version_unsupported: {
    kind: "codec",
    status: 400,
    meaning: "The local state database has a schema version newer than this client knows.",
    fix: "Upgrade nano-client; an older client must not rewrite a newer database.",
  },
  local_state_rolled_back: {
    kind: "validation",
    status: 409,
    meaning:
      "The local database is older than this home's last committed state: it was restored from an older copy (a backup, a synced or copied home), partly restored, or replaced. It is not used, so no message is sent again from a chain position already used.",
    fix: "Put the newest local.db back. If there is none, move local.db and local.db.anchor aside to start this home with empty local state (sessions restart; messages already waiting for you may not decrypt).",
  },
  local_record_tampered: {
    kind: "crypto",
    status: 400,
    meaning:
      "A sealed row of the local database failed authentication: it was changed, swapped with another row or moved.",
    fix: "Treat the home directory as compromised; the row is not used.",
  },
  contact_not_found: {
    kind: "usage",
    status: 404,
    meaning: "No contact with that username is stored locally.",
    fix: "Check the spelling with `nano-client contacts`; send to the user once to add them.",
  },
  clock_skew: {
    kind: "validation",
    status: 400,
    meaning:
      "The relay refused this device's certificate, and this computer's clock is more than five minutes away from the relay's (its Date header): the clock is the cause.",
    fix: "Set the clock right (enable NTP), then run the command again; a certificate made while the clock was wrong needs `nano-client renew-device`.",
  },
  safety_number_mismatch: {
    kind: "validation",
    status: 409,
    meaning:
      "The safety number typed for `verify NAME --confirm DIGITS` is not the one of you and NAME; the contact was not marked verified.",
    fix: "Check the digits against NAME's screen; if they really differ, someone may be in the middle: do not trust this contact.",
  },
  contact_identity_changed: {
    kind: "validation",
    status: 409,
    meaning:
      "The contact's identity record changed since it was pinned: sending and receiving are blocked until the user decides.",
    fix: "Compare safety numbers (`nano-client verify NAME --confirm`) or accept the change (`nano-client trust NAME`).",
  },
  held_limit_reached: {
    kind: "validation",
    status: 429,
    meaning:
      "More messages from one sender wait for a decision about their changed identity than the client keeps at the relay; the ones beyond the limit were refused and acknowledged.",
    fix: "Verify or trust the sender's new identity (`nano-client verify NAME`, `nano-client trust NAME`), then ask them to resend what was refused.",
  },
  // ---- command line and seams
  invalid_argument: {
    kind: "usage",
    status: 400,
    meaning: "A command-line argument or option is missing, unknown or malformed.",
    fix: "See `nano-client COMMAND --help` for the accepted forms (the CLI names the command).",
  },
  input_unreadable: {
    kind: "usage",
    status: 400,
    meaning:
      "A file named on the command line (--file, --passphrase-file, --ca) does not exist or cannot be read; not a usage error.",
    fix: "Check the path and its permissions.",
  },
  passphrase_mismatch: {
    kind: "usage",
    status: 400,
    meaning: "The two passphrases typed for a new keystore differed, three times in a row.",
    fix: "Type the same passphrase twice; NANO_PASSPHRASE or --passphrase-file avoid typing it.",
  },
  client_config_invalid: {
    kind: "validation",
    status: 422,
    meaning:
      "The home's config.json is damaged: not JSON, too large, or not the documented shape (docs/client.md).",
    fix: "Repair config.json from a backup of the home, or restore it to the fields docs/client.md lists.",
  },
  local_store_mismatch: {
    kind: "validation",
    status: 409,
    meaning:
      "config.json says this home claimed a username, but local.db holds no identity: the local database was lost, emptied or replaced by another home's. Claiming again would create a new device and leave every message waiting at the relay unreadable.",
    fix: "Put this home's local.db (and local.db.anchor) back from a backup; messages that arrived meanwhile wait at the relay or in `nano-client quarantine`. To start over on purpose, create a new home.",
  },
  local_store_damaged: {
    kind: "codec",
    status: 422,
    meaning:
      "The home's local.db is damaged (SQLite finds a malformed page, or the file is not a database), or the browser's local store database lacks its object stores (it was deleted and made again by other code of the origin): sessions and history in it cannot be read.",
    fix: "Restore the home from a backup; keep the damaged file for diagnosis. In the browser, the store cannot be repaired: delete it (IdbLocalStore.destroy) and start over.",
  },
  local_store_busy: {
    kind: "usage",
    status: 409,
    meaning:
      "Another tab or window of this origin has the browser's local store open: two pages writing one store would each work on its own copy of the sessions and overwrite the other's.",
    fix: "Close the other tab of the app (or use that one), then reload this one.",
  },
  browser_storage_unavailable: {
    kind: "internal",
    status: 503,
    meaning:
      "The browser gave the app no usable IndexedDB: it is missing (some private modes and sandboxed frames), refused to open the database, or is out of quota.",
    fix: "Open the app in a normal window of a current browser, allow site storage for its origin, and free storage space if the browser says it is full.",
  },
  received_file_gone: {
    kind: "usage",
    status: 404,
    meaning:
      "A received file is no longer kept in this browser: it was deleted with its message (deleted, or expired by its timer), or the site's storage was cleared.",
    fix: "Ask the sender to send the file again.",
  },
  no_space_left: {
    kind: "internal",
    status: 507,
    meaning:
      "A write to the client home failed because the device is full (or over its quota). Nothing was lost: the failed write was rolled back.",
    fix: "Free space on the device that holds the home, then run the command again.",
  },
  // ---- relay and messaging (docs/sdk.md)
  relay_unreachable: {
    kind: "internal",
    status: 503,
    meaning:
      "The relay could not be reached (connection refused, DNS, TLS or timeout). A message being sent stays in the outbox.",
    fix: "Check the relay URL and --ca; queued messages go out with the next command or `receive --watch`.",
  },
  account_gone: {
    kind: "validation",
    status: 410,
    meaning:
      "The relay ended this client's session because its account no longer exists there: it deleted itself (`account delete`) or the relay's operator erased it (`nano-relay compliance erase`). A watching receive stops with this error instead of logging in again for ever.",
    fix: "This home's account cannot come back (the name is tombstoned for the cooling-off period); ask the relay's operator, or claim a new name from a new home.",
  },
  relay_rejected: {
    kind: "internal",
    status: 502,
    meaning: "The relay answered with an error this client does not know, or with a malformed body.",
    fix: "Check that the relay and client versions match; run with NANO_DEBUG=1 for details.",
  },
  export_unrecognized: {
    kind: "codec",
    status: 400,
    meaning:
      "A file given to `nano-client open-export` opened with the passphrase but does not hold a nano-client export (nano-client-export/v1): another sealed file, such as a home's keystore. Nothing was written.",
    fix: "Name the file `nano-client export --encrypt` wrote; a keystore is opened by `nano-client` itself, never written out.",
  },
  relay_answer_malformed: {
    kind: "codec",
    status: 502,
    meaning:
      "The relay answered a request or sent a WebSocket frame that does not match the wire contract (src/wire, docs/api.md): not JSON, a field missing or of the wrong type, a list longer than the API allows. The client ignores it; nothing is stored from it.",
    fix: "Check that the relay and client versions match and that no proxy rewrites the relay's answers; a relay that keeps doing this is faulty or hostile.",
  },
  output_exists: {
    kind: "usage",
    status: 409,
    meaning: "The file a command would write (`nano-client export --output`) already exists.",
    fix: "Name a new file, or pass --force to replace it.",
  },
  confirmation_mismatch: {
    kind: "usage",
    status: 400,
    meaning:
      "An irreversible command (`nano-client account delete`) was not confirmed with the exact username.",
    fix: "Repeat the command with --confirm YOUR_USERNAME.",
  },
  username_not_claimed: {
    kind: "usage",
    status: 409,
    meaning: "This identity has no username yet, so it cannot talk to the relay.",
    fix: "Run `nano-client claim-username NAME` first.",
  },
  suite_unavailable: {
    kind: "validation",
    status: 409,
    meaning:
      "The peer's prekeys at the relay are for another crypto mode than the one this message must use; the client never silently switches modes.",
    fix: "Send with the --crypto-mode the peer published, or let the peer start the conversation.",
  },
  identity_replacement_incomplete: {
    kind: "usage",
    status: 409,
    meaning:
      "`init --replace` was interrupted after staging the new identity; the home is between two identities.",
    fix: "Run `nano-client init --replace` again: it resumes and completes the replacement.",
  },
} as const satisfies Record<string, ErrorEntry>;
