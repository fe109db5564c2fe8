import type { AttachmentReference } from "../../protocol/attachment-reference.ts";
import type { AttachmentLink, Progress } from "./attachments.ts";

/**
 * Where a received attachment goes (docs/web.md "Plan for the browser client", step 3): files in Node
 * (attachment-files.ts), a sealed blob in IndexedDB in the page. Chosen by the client's runtime
 * (ClientRuntime.attachmentSink), so receive.ts imports no node:fs or node:path.
 */
export interface AttachmentSink {
  /**
   * Downloads, verifies and decrypts the attachment and keeps it under `name` (the sender's display
   * name, already refused by the reference codec if it held a path separator or control character).
   * Returns where it is kept (a path in Node). Nothing is kept unless the whole blob verified: a failure
   * leaves nothing behind and is thrown with the attachment's code (or `relay_unreachable`).
   */
  save(
    link: AttachmentLink,
    reference: AttachmentReference,
    name: string,
    onProgress?: Progress,
  ): Promise<string>;
}
