/**
 * Where attachment blobs live (docs/attachments.md, docs/cluster.md): files under storage.blob_dir
 * (filesystem-blob-store.ts; a shared folder for a cluster) or chunked rows in PostgreSQL
 * (postgres-blob-store.ts). Both stream both ways: a blob is never whole in memory.
 *
 * An upload is received under a temporary name while the caller's meter hashes and counts it; only a
 * promote (after the hash matched the address) makes it readable under its address, and it is durable
 * when promote resolves. The metadata commit comes after that, so a crash leaves at most an orphan
 * (swept), never metadata naming a missing blob.
 */
import type { Readable, Transform } from "node:stream";

export interface ReceivedBlob {
  /** Makes the bytes readable as `hash`, durably. The same bytes may already be there (harmless). */
  promote(hash: string): Promise<void>;
  /** Forgets the bytes (refused upload). Idempotent; called after promote too, then a no-op. */
  discard(): Promise<void>;
}

export interface BlobStore {
  /** Streams `source` through `meter` into temporary storage; rejects with the meter's error. */
  receive(source: NodeJS.ReadableStream, meter: Transform): Promise<ReceivedBlob>;
  /** The blob's size and a stream of its bytes, or null when it is not stored. */
  open(hash: string): Promise<{ size: number; stream: Readable } | null>;
  /** Deletes a blob; a missing one is fine (deletion is idempotent, metadata is the truth). */
  remove(hash: string): Promise<void>;
  /** Removes temporary leftovers of interrupted uploads older than `ageMs`. */
  sweepOrphans(ageMs: number): Promise<void>;
}
