import { toHex } from "../../crypto/bytes.ts";
import type { AttachmentReference } from "../../protocol/attachment-reference.ts";
import {
  AttachmentOpener,
  type AttachmentPrimitives,
  AttachmentSealer,
} from "../attachments/attachment-stream.ts";
import { MAX_ATTACHMENT_BYTES } from "../operations/send-limits.ts";
import type { RelayApi } from "../transport/relay-api.ts";

/**
 * Attachments on the client (docs/attachments.md, docs/sdk.md "Attachments"): content too large for
 * an envelope is encrypted under a fresh key, uploaded under its ciphertext hash for the recipient
 * only, and the envelope carries the reference (key, hash, size, type, name). Received attachments are
 * verified (every chunk and the ciphertext hash) and decrypted as they download, and are shown or
 * kept by the runtime's AttachmentSink (attachment-sink.ts) only once the whole blob verified. No Node
 * here: the page runs it too; the files of the Node client are attachment-files.ts.
 */
export { MAX_ATTACHMENT_BYTES };
/** Long texts sent as attachments carry this type and no name; the receiver shows them as text. */
export const LONG_TEXT_TYPE = "text/plain;charset=utf-8";

export type Progress = (done: number, total: number) => void;

/** What attachments need of a relay connection (a `RelayLink` has it as `api`). */
export interface AttachmentLink {
  readonly api: Pick<RelayApi, "uploadAttachment" | "downloadAttachment">;
}

export async function sendAttachment(
  primitives: AttachmentPrimitives,
  link: AttachmentLink,
  peer: string,
  bytes: Uint8Array,
  meta: { contentType: string; filename?: string },
  onProgress?: Progress,
): Promise<AttachmentReference> {
  const sealer = new AttachmentSealer(primitives, {
    contentType: meta.contentType,
    ...(meta.filename === undefined ? {} : { filename: meta.filename }),
    maxBytes: MAX_ATTACHMENT_BYTES,
  });
  // The sealed chunks go out as they are: the upload names the ciphertext hash, known only once the
  // last chunk is sealed, so sealing cannot overlap the upload, but nothing is copied into one blob.
  const pieces = await sealer.push(bytes);
  const { ciphertext: tail, reference } = await sealer.finish();
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
export async function downloadVerified(
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
    const plaintext = await opener.push(piece);
    if (plaintext.length > 0) await consume(plaintext);
  }
  opener.finish();
}

/** Fetches an attachment into memory (a long text, shown as text): the plaintext exists only verified. */
export async function fetchAttachment(
  primitives: AttachmentPrimitives,
  link: AttachmentLink,
  reference: AttachmentReference,
  onProgress?: Progress,
): Promise<Uint8Array> {
  // Refuses a reference above the limit before anything is allocated or downloaded.
  const opener = new AttachmentOpener(primitives, reference, { maxBytes: MAX_ATTACHMENT_BYTES });
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
