import { constants, lstatSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { z } from "zod";
import { utf8 } from "../../crypto/bytes.ts";
import { NanoError } from "../../errors/index.ts";
import type { ClientContext } from "../context.ts";
import { sweepTemporaryFiles, writeFileAtomic } from "../home/atomic-file.ts";
import { openKeystore, type Passphrase, sealKeystore } from "../keystore/keystore.ts";
import { keystoreLength, MAX_SEALED_EXPORT_PAYLOAD } from "../keystore/keystore-format.ts";
import { CLIENT_EXPORT_FORMAT, exportDocument } from "./export-document.ts";

export { CLIENT_EXPORT_FORMAT } from "./export-document.ts";

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
  const document = await exportDocument(context, options.now ?? Date.now());
  const bytes = utf8(`${JSON.stringify(document, null, 2)}\n`);
  // A plain export killed before its rename left its history in the clear in a temporary file.
  await sweepTemporaryFiles(dirname(options.output), basename(options.output));
  // Never replace without --force, even a file that appeared while the history was read.
  const noReplace = options.force !== true;
  if (options.passphrase === undefined) await writeFileAtomic(options.output, bytes, { noReplace });
  else
    await writeFileAtomic(
      options.output,
      await sealKeystore(bytes, options.passphrase, { maxPayload: MAX_SEALED_EXPORT_PAYLOAD }),
      { noReplace },
    );
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
    const opened = await handle.stat();
    if (!opened.isFile())
      throw new NanoError("input_unreadable", `${path} is not a regular file; a sealed export is one`);
    // Sized by the file, not the cap (a sealed export may be 256 MiB; most are kilobytes): one byte
    // more than expected shows a file that grew while it was read.
    const expected = Math.min(opened.size, cap);
    const buffer = new Uint8Array(expected + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > cap)
      throw new NanoError("keystore_payload_too_large", `${path} is larger than any sealed export`);
    if (length > expected)
      throw new NanoError("input_unreadable", `${path} changed while it was read; try again`);
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
    bytes = await readBoundedRegularFile(path, keystoreLength(MAX_SEALED_EXPORT_PAYLOAD));
  } catch (error) {
    if (NanoError.is(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "unknown";
    throw new NanoError("input_unreadable", `cannot read the export ${path} (${code})`);
  }
  let payload: Uint8Array;
  try {
    payload = await openKeystore(bytes, passphrase, { maxPayload: MAX_SEALED_EXPORT_PAYLOAD });
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
