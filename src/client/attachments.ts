import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { toHex } from "../crypto/index.ts";
import { type AttachmentReference, decryptAttachment, encryptAttachment } from "../protocol/attachment.ts";
import type { RelayLink } from "./relay-link.ts";

/**
 * Attachments on the client (docs/attachments.md, docs/sdk.md "Attachments"): content too large for
 * an envelope is encrypted under a fresh key, uploaded under its ciphertext hash for the recipient
 * only, and the envelope carries the reference (key, hash, size, type, name). Received attachments are
 * downloaded, verified (hash and every chunk) and only then written, 0600, into the save directory.
 */
export const MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024;
/** Long texts sent as attachments carry this type and no name; the receiver shows them as text. */
export const LONG_TEXT_TYPE = "text/plain;charset=utf-8";
export const DEFAULT_DOWNLOADS_DIR = "downloads";

export type Progress = (done: number, total: number) => void;

export async function sendAttachment(
  link: RelayLink,
  peer: string,
  bytes: Uint8Array,
  meta: { contentType: string; filename?: string },
  onProgress?: Progress,
): Promise<AttachmentReference> {
  const { ciphertext, reference } = encryptAttachment(bytes, {
    contentType: meta.contentType,
    ...(meta.filename === undefined ? {} : { filename: meta.filename }),
    maxBytes: MAX_ATTACHMENT_BYTES,
  });
  await link.api.uploadAttachment(toHex(reference.hash), [peer], ciphertext, onProgress);
  return reference;
}

export async function fetchAttachment(
  link: RelayLink,
  reference: AttachmentReference,
  onProgress?: Progress,
): Promise<Uint8Array> {
  // The ciphertext is a little longer than the plaintext (one tag per chunk); allow for it.
  const ciphertext = await link.api.downloadAttachment(
    toHex(reference.hash),
    reference.size + 64 * 1024 + Math.ceil(reference.size / 1024),
    onProgress === undefined ? undefined : (done, total) => onProgress(done, total ?? reference.size),
  );
  return decryptAttachment(ciphertext, reference, { maxBytes: MAX_ATTACHMENT_BYTES });
}

/**
 * Writes verified plaintext as a new 0600 file in `dir` (created 0700), never overwriting: a name
 * taken already gets " (2)", " (3)"... The name is the sender's display name, which the reference
 * codec already refused if it held a path separator or control character.
 */
export async function saveVerified(dir: string, name: string, plaintext: Uint8Array): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.${randomBytes(8).toString("hex")}.partial`);
  const handle = await open(temporary, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  try {
    await handle.writeFile(plaintext);
    await handle.sync();
  } finally {
    await handle.close();
  }
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
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        await rm(temporary, { force: true });
        throw error;
      }
    }
  }
  await rm(temporary, { force: true });
  throw new Error(`no free file name for ${name} in ${dir}`);
}
