import { join } from "node:path";

/**
 * Where an attachment blob lives: `blob_dir/<first 2 hex digits>/<hash>` (docs/relay.md, Attachments).
 * One definition for the routes that write and serve blobs and for `nano-relay check`, which looks
 * for every blob its database names.
 */
export function blobFile(blobDir: string, hash: string): string {
  return join(blobDir, hash.slice(0, 2), hash);
}
