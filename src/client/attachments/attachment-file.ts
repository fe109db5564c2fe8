/**
 * Decrypting an attachment to a file so that a partial or forged attachment never appears under its
 * name: plaintext goes to a 0600 temporary file in the same directory, which is synced and renamed
 * over `path` only after the last chunk and the hash verified, and deleted on any failure. Node only
 * (the page keeps attachments in IndexedDB: browser-store/idb-attachment-sink.ts); it exists so every
 * Node caller gets the misuse-resistant form.
 */
import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { nodePrimitives } from "../../crypto/node-provider.ts";
import type { AttachmentReference } from "../../protocol/attachment-reference.ts";
import { AttachmentOpener, type AttachmentOpenOptions } from "./attachment-stream.ts";

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

async function syncDirectory(directory: string): Promise<void> {
  // Makes the rename durable; some platforms cannot open a directory, and then the rename is still atomic.
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, "r");
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close();
  }
}

/**
 * Streams `source` (a Node Readable or any iterable of bytes) through the attachment opener into a
 * temporary file and atomically renames it to `path` (replacing an existing file) on success. Throws
 * the attachment error code on failure, leaving no file behind. The size limit is checked before the
 * temporary file is created.
 */
export async function decryptAttachmentToFile(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  reference: AttachmentReference,
  path: string,
  options: AttachmentOpenOptions,
): Promise<void> {
  const opener = new AttachmentOpener(nodePrimitives, reference, options);
  const directory = dirname(path);
  const temporary = join(directory, `.${basename(path)}.${randomBytes(8).toString("hex")}.partial`);
  // "wx": never follow or reuse an existing file at the temporary name.
  const handle = await open(temporary, "wx", 0o600);
  let closed = false;
  try {
    await handle.chmod(0o600);
    for await (const piece of source) {
      if (!(piece instanceof Uint8Array)) throw new TypeError("attachment source must yield bytes");
      for (const plaintext of await opener.push(piece)) await writeAll(handle, plaintext);
    }
    opener.finish();
    await handle.sync();
    await handle.close();
    closed = true;
    await rename(temporary, path);
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}
