import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { nodePrimitives } from "../../crypto/node-provider.ts";
import { AttachmentOpener, type AttachmentReference } from "../attachments/attachment.ts";
import type { UnlockedHome } from "../home/open-home.ts";
import { MAX_ATTACHMENT_BYTES } from "../operations/send-limits.ts";
import type { AttachmentSink } from "./attachment-sink.ts";
import { type AttachmentLink, downloadVerified, type Progress } from "./attachments.ts";

/**
 * The Node client's AttachmentSink: received attachments become files (0600) in a save directory
 * (0700; `downloads` in the home unless the caller names one), given their name only once verified and
 * synced. The page keeps them in IndexedDB instead.
 */
export const DEFAULT_DOWNLOADS_DIR = "downloads";

/**
 * The sink for `saveDir` (or the home's downloads folder). A crash mid-download leaves a hidden
 * partial file of unverified plaintext: old ones are cleared first (best effort).
 */
export async function fileAttachmentSink(
  home: UnlockedHome,
  saveDir: string | null,
): Promise<AttachmentSink> {
  const dir = resolve(saveDir ?? join(home.location, DEFAULT_DOWNLOADS_DIR));
  await sweepStalePartials(dir).catch(() => {});
  return {
    save: (link, reference, name, onProgress) =>
      fetchAttachmentToFile(link, reference, dir, name, onProgress),
  };
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
  const opener = new AttachmentOpener(nodePrimitives, reference, { maxBytes: MAX_ATTACHMENT_BYTES });
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
