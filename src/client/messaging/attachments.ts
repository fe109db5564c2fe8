import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { toHex } from "../../crypto/index.ts";
import { AttachmentOpener, type AttachmentReference, AttachmentSealer } from "../attachments/attachment.ts";
import { MAX_ATTACHMENT_BYTES } from "../operations/send-limits.ts";
import type { RelayApi } from "../transport/relay-api.ts";

/**
 * Attachments on the client (docs/attachments.md, docs/sdk.md "Attachments"): content too large for
 * an envelope is encrypted under a fresh key, uploaded under its ciphertext hash for the recipient
 * only, and the envelope carries the reference (key, hash, size, type, name). Received attachments are
 * verified (every chunk and the ciphertext hash) and decrypted as they download, and are shown or
 * given their name in the save directory (0600) only once the whole blob verified.
 */
export { MAX_ATTACHMENT_BYTES };
/** Long texts sent as attachments carry this type and no name; the receiver shows them as text. */
export const LONG_TEXT_TYPE = "text/plain;charset=utf-8";
export const DEFAULT_DOWNLOADS_DIR = "downloads";

export type Progress = (done: number, total: number) => void;

/** What attachments need of a relay connection (a `RelayLink` has it as `api`). */
export interface AttachmentLink {
  readonly api: Pick<RelayApi, "uploadAttachment" | "downloadAttachment">;
}

export async function sendAttachment(
  link: AttachmentLink,
  peer: string,
  bytes: Uint8Array,
  meta: { contentType: string; filename?: string },
  onProgress?: Progress,
): Promise<AttachmentReference> {
  const sealer = new AttachmentSealer({
    contentType: meta.contentType,
    ...(meta.filename === undefined ? {} : { filename: meta.filename }),
    maxBytes: MAX_ATTACHMENT_BYTES,
  });
  // The sealed chunks go out as they are: the upload names the ciphertext hash, known only once the
  // last chunk is sealed, so sealing cannot overlap the upload, but nothing is copied into one blob.
  const pieces = sealer.push(bytes);
  const { ciphertext: tail, reference } = sealer.finish();
  pieces.push(...tail);
  await link.api.uploadAttachment(toHex(reference.hash), [peer], pieces, onProgress);
  return reference;
}

/**
 * Downloads the blob and verifies and decrypts it as the bytes arrive, handing each authenticated
 * chunk's plaintext to `consume`. Resolves only when the last chunk and the whole-ciphertext hash
 * verified; what `consume` received before a failure is an unverified prefix the caller discards.
 * A connection that breaks is `relay_unreachable` (the message stays at the relay); bytes that do
 * not match the reference are the attachment codes.
 */
async function downloadVerified(
  link: AttachmentLink,
  reference: AttachmentReference,
  opener: AttachmentOpener,
  consume: (plaintext: Uint8Array[]) => void | Promise<void>,
  onProgress?: Progress,
): Promise<void> {
  const answer = await link.api.downloadAttachment(
    toHex(reference.hash),
    onProgress === undefined ? undefined : (done, total) => onProgress(done, total ?? reference.size),
  );
  for await (const piece of answer.body) {
    const plaintext = opener.push(piece);
    if (plaintext.length > 0) await consume(plaintext);
  }
  opener.finish();
}

/** Fetches an attachment into memory (a long text, shown as text): the plaintext exists only verified. */
export async function fetchAttachment(
  link: AttachmentLink,
  reference: AttachmentReference,
  onProgress?: Progress,
): Promise<Uint8Array> {
  // Refuses a reference above the limit before anything is allocated or downloaded.
  const opener = new AttachmentOpener(reference, { maxBytes: MAX_ATTACHMENT_BYTES });
  const plaintext = new Uint8Array(reference.size);
  let filled = 0;
  await downloadVerified(
    link,
    reference,
    opener,
    (pieces) => {
      for (const piece of pieces) {
        plaintext.set(piece, filled);
        filled += piece.length;
      }
    },
    onProgress,
  );
  return plaintext;
}

/** Plaintext written to the temporary file per write call: bounds memory, few system calls. */
const WRITE_BATCH = 1024 * 1024;

/** The hidden temporary file a download is written to until it verified (see fetchAttachmentToFile). */
const PARTIAL_FILE = /^\.[0-9a-f]{16}\.partial$/;
/** A partial file untouched for this long belongs to no running download (they write as they go). */
export const STALE_PARTIAL_MS = 60 * 60_000;

/**
 * Deletes partial downloads a crash left in `dir`: unverified plaintext that nothing else removes.
 * Only files untouched for STALE_PARTIAL_MS, so a download another process is running into the same
 * folder keeps its file. Returns how many were deleted; a missing folder is nothing to sweep.
 */
export async function sweepStalePartials(dir: string, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  let removed = 0;
  for (const name of names) {
    if (!PARTIAL_FILE.test(name)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (info === null || now - info.mtimeMs < STALE_PARTIAL_MS) continue;
    await rm(path, { force: true });
    removed += 1;
  }
  return removed;
}

/**
 * Fetches an attachment straight into a new 0600 file in `dir` (created 0700): verified chunks go to a
 * hidden temporary file as they arrive, which gets its name (never overwriting: " (2)", " (3)"...)
 * only after the whole blob verified and the file was synced, and is deleted on any failure. Memory
 * stays at about one write batch whatever the size. The name is the sender's display name, which the
 * reference codec already refused if it held a path separator or control character.
 */
export async function fetchAttachmentToFile(
  link: AttachmentLink,
  reference: AttachmentReference,
  dir: string,
  name: string,
  onProgress?: Progress,
): Promise<string> {
  const opener = new AttachmentOpener(reference, { maxBytes: MAX_ATTACHMENT_BYTES });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.${randomBytes(8).toString("hex")}.partial`);
  const handle = await open(temporary, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  let closed = false;
  try {
    let batch: Uint8Array[] = [];
    let batched = 0;
    const flush = async () => {
      if (batch.length > 0) await writeAll(handle, batch);
      batch = [];
      batched = 0;
    };
    await downloadVerified(
      link,
      reference,
      opener,
      async (pieces) => {
        for (const piece of pieces) {
          batch.push(piece);
          batched += piece.length;
        }
        if (batched >= WRITE_BATCH) await flush();
      },
      onProgress,
    );
    await flush();
    await handle.sync();
    closed = true;
    await handle.close();
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  return claimName(dir, name, temporary);
}

async function writeAll(handle: FileHandle, pieces: Uint8Array[]): Promise<void> {
  let rest = pieces;
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    // A short write (rare on regular files) continues where it stopped.
    const next: Uint8Array[] = [];
    for (const piece of rest) {
      if (bytesWritten >= piece.length) bytesWritten -= piece.length;
      else {
        next.push(piece.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    rest = next;
  }
}

/**
 * Moves the synced temporary file to `name` in `dir`, or "stem (2).ext"... if taken, and syncs the
 * directory so the name survives a crash: the message that points at the file commits right after.
 */
async function claimName(dir: string, name: string, temporary: string): Promise<string> {
  const dot = name.lastIndexOf(".");
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let n = 1; n < 1000; n++) {
    const candidate = join(dir, n === 1 ? name : `${stem} (${n})${extension}`);
    try {
      // link-then-unlink would also work; a no-clobber check then rename is enough for one user.
      await open(candidate, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600).then((h) =>
        h.close(),
      );
      await rename(temporary, candidate);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        await rm(temporary, { force: true });
        throw error;
      }
      continue;
    }
    await syncDirectory(dir);
    return candidate;
  }
  await rm(temporary, { force: true });
  throw new Error(`no free file name for ${name} in ${dir}`);
}

async function syncDirectory(dir: string): Promise<void> {
  // Some platforms cannot open a directory; the rename is atomic there all the same.
  const handle = await open(dir, "r").catch(() => null);
  try {
    await handle?.sync();
  } catch {
    // best effort, as above
  } finally {
    await handle?.close();
  }
}
