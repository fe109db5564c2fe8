/**
 * Blobs as 256 KiB BYTEA rows in PostgreSQL (migration 0003_blobs). Uploads stream in chunk by chunk
 * (each row inserted before the next chunk is accepted: backpressure reaches the client), downloads
 * stream out one row per read: memory per transfer is one chunk, whatever the blob's size. Promote
 * moves the rows to the blob's address and records its size in one transaction, so a blob is either
 * complete and readable or absent.
 */
import { randomUUID } from "node:crypto";
import { Readable, type Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type Pool, query, transaction } from "../../store/postgres/connection.ts";
import type { BlobStore, ReceivedBlob } from "./blob-store.ts";

export const BLOB_CHUNK_BYTES = 256 * 1024;

const blobKey = (hash: string) => `blob:${hash}`;

export class PostgresBlobStore implements BlobStore {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async receive(source: NodeJS.ReadableStream, meter: Transform): Promise<ReceivedBlob> {
    const key = `tmp:${randomUUID()}`;
    await query(this.#pool, "INSERT INTO blob_uploads (upload_key, started_at) VALUES ($1, $2)", [
      key,
      Date.now(),
    ]);
    const discard = async () => {
      await transaction(this.#pool, async (tx) => {
        await query(tx, "DELETE FROM blob_chunks WHERE blob_key = $1", [key]);
        await query(tx, "DELETE FROM blob_uploads WHERE upload_key = $1", [key]);
      });
    };
    let n = 0;
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const pool = this.#pool;
    const writeChunk = async (data: Buffer) => {
      await query(pool, "INSERT INTO blob_chunks (blob_key, n, data) VALUES ($1, $2, $3)", [key, n++, data]);
      size += data.length;
    };
    const sink = new Writable({
      async write(chunk: Buffer, _encoding, callback) {
        try {
          pending.push(chunk);
          pendingBytes += chunk.length;
          while (pendingBytes >= BLOB_CHUNK_BYTES) {
            const all = Buffer.concat(pending);
            await writeChunk(all.subarray(0, BLOB_CHUNK_BYTES));
            const rest = all.subarray(BLOB_CHUNK_BYTES);
            pending = rest.length > 0 ? [rest] : [];
            pendingBytes = rest.length;
          }
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
      async final(callback) {
        try {
          if (pendingBytes > 0) await writeChunk(Buffer.concat(pending));
          pending = [];
          pendingBytes = 0;
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
    });
    try {
      await pipeline(source, meter, sink);
    } catch (error) {
      await discard().catch(() => {});
      throw error;
    }
    let promoted = false;
    return {
      promote: async (hash) => {
        await transaction(this.#pool, async (tx) => {
          // Same hash, same bytes: replacing an existing copy is harmless.
          await query(tx, "DELETE FROM blob_chunks WHERE blob_key = $1", [blobKey(hash)]);
          await query(tx, "UPDATE blob_chunks SET blob_key = $2 WHERE blob_key = $1", [key, blobKey(hash)]);
          await query(
            tx,
            `INSERT INTO blobs (hash, size, chunks) VALUES ($1, $2, $3)
             ON CONFLICT (hash) DO UPDATE SET size = excluded.size, chunks = excluded.chunks`,
            [hash, size, n],
          );
          await query(tx, "DELETE FROM blob_uploads WHERE upload_key = $1", [key]);
        });
        promoted = true;
      },
      discard: async () => {
        if (!promoted) await discard();
      },
    };
  }

  async open(hash: string): Promise<{ size: number; stream: Readable } | null> {
    const [row] = await query(this.#pool, "SELECT size, chunks FROM blobs WHERE hash = $1", [hash]);
    if (row === undefined) return null;
    const chunks = Number(row.chunks);
    const pool = this.#pool;
    let next = 0;
    const stream = new Readable({
      highWaterMark: 1,
      objectMode: false,
      async read() {
        if (next >= chunks) {
          this.push(null);
          return;
        }
        try {
          const [chunk] = await query(pool, "SELECT data FROM blob_chunks WHERE blob_key = $1 AND n = $2", [
            blobKey(hash),
            next++,
          ]);
          // A chunk gone mid-read (the blob was swept meanwhile) ends the download with an error, never
          // with silently truncated bytes.
          if (chunk === undefined) this.destroy(new Error("blob chunk missing"));
          else this.push(chunk.data as Buffer);
        } catch (error) {
          this.destroy(error as Error);
        }
      },
    });
    return { size: Number(row.size), stream };
  }

  async remove(hash: string): Promise<void> {
    await transaction(this.#pool, async (tx) => {
      await query(tx, "DELETE FROM blobs WHERE hash = $1", [hash]);
      await query(tx, "DELETE FROM blob_chunks WHERE blob_key = $1", [blobKey(hash)]);
    });
  }

  async sweepOrphans(ageMs: number): Promise<void> {
    const old = await query(this.#pool, "SELECT upload_key FROM blob_uploads WHERE started_at < $1", [
      Date.now() - ageMs,
    ]);
    for (const row of old)
      await transaction(this.#pool, async (tx) => {
        await query(tx, "DELETE FROM blob_chunks WHERE blob_key = $1", [String(row.upload_key)]);
        await query(tx, "DELETE FROM blob_uploads WHERE upload_key = $1", [String(row.upload_key)]);
      });
  }
}
