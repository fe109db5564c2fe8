/**
 * Blobs as files: `<blob_dir>/<first two hex digits>/<hash>`, uploads under `<blob_dir>/tmp`. The
 * file is fsynced once and renamed into place, and the folder is fsynced so the rename is durable. For
 * a cluster, blob_dir is one folder every relay mounts.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { blobFile } from "../blob-files.ts";
import type { BlobStore, ReceivedBlob } from "./blob-store.ts";

/** Blob reads per downloaded piece: fewer reads and socket writes than the 64 KiB default. */
const READ_CHUNK = 256 * 1024;

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FilesystemBlobStore implements BlobStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  path(hash: string): string {
    return blobFile(this.dir, hash);
  }

  async receive(source: NodeJS.ReadableStream, meter: Transform): Promise<ReceivedBlob> {
    const tmpDir = join(this.dir, "tmp");
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const tmp = join(tmpDir, randomUUID());
    const discard = () => rm(tmp, { force: true });
    try {
      // "wx": never reuse a file at the temporary name. `flush`: the stream fsyncs the file once,
      // before closing it, and the pipeline resolves only after that close.
      await pipeline(source, meter, createWriteStream(tmp, { flags: "wx", mode: 0o600, flush: true }));
    } catch (error) {
      await discard();
      throw error;
    }
    return {
      promote: async (hash) => {
        const shard = join(this.dir, hash.slice(0, 2));
        const created = await mkdir(shard, { recursive: true, mode: 0o700 });
        // Same hash, same bytes: replacing an existing blob with this verified copy is harmless.
        await rename(tmp, this.path(hash));
        if (created !== undefined) await syncDirectory(this.dir);
        await syncDirectory(shard);
      },
      discard,
    };
  }

  async open(hash: string) {
    const path = this.path(hash);
    const size = (await stat(path).catch(() => null))?.size;
    if (size === undefined) return null;
    return { size, stream: createReadStream(path, { highWaterMark: READ_CHUNK }) };
  }

  async remove(hash: string): Promise<void> {
    await rm(this.path(hash), { force: true });
  }

  async sweepOrphans(ageMs: number): Promise<void> {
    const tmpDir = join(this.dir, "tmp");
    for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
      const path = join(tmpDir, name);
      const info = await stat(path).catch(() => null);
      if (info !== null && Date.now() - info.mtimeMs > ageMs) await rm(path, { force: true });
    }
  }
}
