import { constants, lstatSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { z } from "zod";
import { toHex, utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { computeSafetyNumber, formatSafetyNumber } from "../../protocol/safety-number.ts";
import type { ClientContext } from "../context.ts";
import { sweepTemporaryFiles, writeFileAtomic } from "../home/atomic-file.ts";
import { loadOwnIdentity } from "../home/local-identity.ts";
import { openKeystore, type Passphrase, sealKeystore } from "../keystore/keystore.ts";
import { keystoreLength, MAX_KEYSTORE_PAYLOAD } from "../keystore/keystore-format.ts";

export const CLIENT_EXPORT_FORMAT = "nano-client-export/v1";
const PAGE = 1000;

export interface ExportHomeResult {
  readonly output: string;
  readonly contacts: number;
  readonly messages: number;
  readonly encrypted: boolean;
}

/**
 * `nano-client export` (docs/client.md "Exporting your data", GDPR Art. 20 from the side that can read
 * the messages): this home's account, contacts with their safety numbers, and the received message
 * history, decrypted, as one JSON document. Plain, it is written 0600 and atomically; with a passphrase
 * it is sealed in the keystore format (argon2id + ChaCha20-Poly1305, docs/client.md "Keystore format"),
 * so a copy on a shared disk reveals nothing without it. No key material is exported.
 */
export async function exportHome(
  context: ClientContext,
  options: { output: string; passphrase?: Passphrase; force?: boolean; now?: number },
): Promise<ExportHomeResult> {
  // lstat, not existsSync: a dangling symlink is an entry too (following it would write elsewhere).
  if (options.force !== true && lstatSync(options.output, { throwIfNoEntry: false }) !== undefined)
    throw new NanoError("output_exists", `${options.output} already exists; pass --force to replace it`);
  const now = options.now ?? Date.now();
  const { home } = context;
  const own = await loadOwnIdentity(context.provider, home.store, home.seeds);
  const { provider } = context;
  const document = await home.store.transaction((tables) => {
    const contacts = tables.listContacts().map((contact) => ({
      username: contact.username,
      // H(IR): the stored record was decoded and verified when it was stored.
      identity_hash: toHex(provider.primitives.blake2b(contact.identityRecord)),
      pinned_suite: contact.pinnedSuite,
      verified: contact.verified,
      safety_number_confirmed_at:
        contact.safetyNumberConfirmedAt === null
          ? null
          : new Date(contact.safetyNumberConfirmedAt).toISOString(),
      identity_changed: contact.identityChanged,
      added_at: new Date(contact.addedAt).toISOString(),
      safety_number:
        own === null
          ? null
          : formatSafetyNumber(
              computeSafetyNumber(
                provider,
                { username: own.record.username, identityRecord: own.record.encoded },
                { username: contact.username, identityRecord: contact.identityRecord },
              ).digits,
              12,
            ),
    }));
    const messages: Record<string, unknown>[] = [];
    for (let after = 0; ; ) {
      const page = tables.listReceived(after, PAGE, now);
      for (const message of page) {
        // By the sealed deadline too: the `expires_at` column that listReceived selects on is not
        // authenticated, and a row whose column was damaged to NULL must not reach a plaintext file.
        if (message.expiresAt !== undefined && message.expiresAt <= now) continue;
        // "text" messages (and text/* attachments' types) as text; anything else as base64.
        const text = message.contentType === "text" || message.contentType.startsWith("text/");
        messages.push({
          id: message.messageId,
          from: message.sender,
          received_at: new Date(message.receivedAt).toISOString(),
          content_type: message.contentType,
          // A disappearing message says so: the copy in the export outlives it (docs/compliance.md).
          ...(message.expiresAt === undefined
            ? {}
            : { expires_at: new Date(message.expiresAt).toISOString() }),
          ...(text
            ? { text: Buffer.from(message.body).toString("utf8") }
            : { body: Buffer.from(message.body).toString("base64") }),
        });
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.seq;
    }
    return {
      format: CLIENT_EXPORT_FORMAT,
      exported_at: new Date(now).toISOString(),
      account: {
        username: home.config.username,
        relay: home.config.relay,
        crypto_mode: home.config.cryptoMode,
        identity_hash: own === null ? null : toHex(own.record.hash),
      },
      contacts,
      messages,
    };
  });
  const bytes = utf8(`${JSON.stringify(document, null, 2)}\n`);
  // A plain export killed before its rename left its history in the clear in a temporary file.
  await sweepTemporaryFiles(dirname(options.output), basename(options.output));
  // Never replace without --force, even a file that appeared while the history was read.
  const noReplace = options.force !== true;
  if (options.passphrase === undefined) await writeFileAtomic(options.output, bytes, { noReplace });
  else await writeFileAtomic(options.output, await sealKeystore(bytes, options.passphrase), { noReplace });
  return {
    output: options.output,
    contacts: document.contacts.length,
    messages: document.messages.length,
    encrypted: options.passphrase !== undefined,
  };
}

/**
 * The export document's outline, checked after a sealed export opens: enough to know it is an export
 * (and not another sealed file, a keystore above all) before any of it is written out.
 */
const EXPORT_OUTLINE = z.looseObject({
  format: z.literal(CLIENT_EXPORT_FORMAT),
  exported_at: z.string(),
  account: z.looseObject({}),
  contacts: z.array(z.unknown()),
  messages: z.array(z.unknown()),
});

export interface OpenedExport {
  /** The document exactly as `export` wrote it (UTF-8 JSON). */
  readonly json: string;
  readonly contacts: number;
  readonly messages: number;
  readonly exportedAt: string;
}

/**
 * Reads a regular file of at most `cap` bytes. Capped before reading: a huge file named as an export
 * must not be pulled into memory. A device, FIFO or socket is refused before it is opened: its size says
 * nothing (`/dev/zero` is "0 bytes" and never ends; opening a FIFO waits for a writer), and the read
 * stops at `cap + 1` bytes whatever the size said (a file that grows while it is read).
 */
async function readBoundedRegularFile(path: string, cap: number): Promise<Uint8Array> {
  const info = await stat(path);
  if (!info.isFile())
    throw new NanoError("input_unreadable", `${path} is not a regular file; a sealed export is one`);
  if (info.size > cap)
    throw new NanoError(
      "keystore_payload_too_large",
      `${path} is ${info.size} bytes: larger than any sealed export`,
    );
  // O_NONBLOCK: a FIFO put in the file's place after the check must not make the open wait for a writer.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile())
      throw new NanoError("input_unreadable", `${path} is not a regular file; a sealed export is one`);
    const buffer = new Uint8Array(cap + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > cap)
      throw new NanoError("keystore_payload_too_large", `${path} is larger than any sealed export`);
    return buffer.slice(0, length);
  } finally {
    await handle.close();
  }
}

/**
 * Opens a file `export --encrypt` wrote (`nano-client open-export`, docs/client.md "Exporting your
 * data"): the keystore format v1 sealing the export's JSON. Every failure is typed and says what the
 * file is: not a sealed file (`keystore_unrecognized`), cut short or appended to (`keystore_truncated`),
 * damaged (`keystore_corrupt`), the wrong passphrase (`wrong_passphrase`), modified with a recomputed
 * checksum (`keystore_tampered`), or a sealed file that is not an export (`export_unrecognized` — a
 * home's keystore opened with its passphrase must never be written out as plaintext).
 */
export async function openExport(path: string, passphrase: Passphrase): Promise<OpenedExport> {
  let bytes: Uint8Array;
  try {
    bytes = await readBoundedRegularFile(path, keystoreLength(MAX_KEYSTORE_PAYLOAD));
  } catch (error) {
    if (NanoError.is(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "unknown";
    throw new NanoError("input_unreadable", `cannot read the export ${path} (${code})`);
  }
  let payload: Uint8Array;
  try {
    payload = await openKeystore(bytes, passphrase);
  } catch (error) {
    if (!NanoError.is(error)) throw error;
    throw new NanoError(error.code, `${path}: ${EXPORT_FAILURES[error.code] ?? error.message}`, {
      cause: error,
    });
  }
  try {
    const json = new TextDecoder("utf-8", { fatal: true }).decode(payload);
    const outline = EXPORT_OUTLINE.safeParse(JSON.parse(json));
    if (!outline.success) throw new Error("not an export");
    return {
      json,
      contacts: outline.data.contacts.length,
      messages: outline.data.messages.length,
      exportedAt: outline.data.exported_at,
    };
  } catch {
    throw new NanoError(
      "export_unrecognized",
      `${path} opened, but it does not hold a ${CLIENT_EXPORT_FORMAT} document (a keystore?); nothing was written`,
    );
  } finally {
    payload.fill(0);
  }
}

/** What each failure means for an export file (the keystore's own wording names a keystore). */
const EXPORT_FAILURES: Readonly<Record<string, string>> = {
  keystore_unrecognized: "not a sealed export (bad magic bytes); a plain export is JSON and needs no opening",
  keystore_truncated: "the sealed export was cut short or appended to",
  keystore_corrupt: "the sealed export's checksum does not match: bytes changed on disk",
  wrong_passphrase: "wrong passphrase for this export",
  keystore_tampered: "the passphrase is right but the sealed export fails authentication: it was modified",
};
