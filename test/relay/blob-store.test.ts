import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { buffer } from "node:stream/consumers";
import { after, before, describe, it } from "node:test";
import { NanoError } from "../../src/errors/index.ts";
import type { BlobStore } from "../../src/relay/blobs/blob-store.ts";
import { FilesystemBlobStore } from "../../src/relay/blobs/filesystem-blob-store.ts";
import { BLOB_CHUNK_BYTES, PostgresBlobStore } from "../../src/relay/blobs/postgres-blob-store.ts";
import { openPool, type Pool } from "../../src/store/postgres/connection.ts";
import { migratePostgres } from "../../src/store/postgres/migrations.ts";
import { createTestDatabase, type TestDatabase } from "../support/services.ts";
import { tempDir } from "./fixtures/harness.ts";

/** A source that yields `bytes` in uneven pieces, as a socket would. */
function source(bytes: Uint8Array): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 70_001) pieces.push(Buffer.from(bytes.subarray(at, at + 70_001)));
  return Readable.from(pieces);
}

function meter(limit = Number.POSITIVE_INFINITY): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limit) callback(new NanoError("attachment_too_large", "too large"));
      else callback(null, chunk);
    },
  });
}

const blob = (size: number) => new Uint8Array(size).map((_, i) => (i * 31 + 7) % 256);

/** The one suite both blob stores pass: promote makes bytes readable, anything else leaves nothing. */
function blobStoreConformance(name: string, open: () => BlobStore, leftovers: () => Promise<number>): void {
  describe(`blob store: ${name}`, () => {
    it("streams a multi-chunk blob in and out byte for byte", async () => {
      const store = open();
      const bytes = blob(3 * BLOB_CHUNK_BYTES + 12_345);
      const received = await store.receive(source(bytes), meter());
      assert.equal(await store.open("a".repeat(128)), null, "nothing readable before promote");
      await received.promote("a".repeat(128));
      await received.discard();
      const opened = await store.open("a".repeat(128));
      assert.equal(opened?.size, bytes.length);
      assert.deepEqual(new Uint8Array(await buffer(opened!.stream)), bytes);
      await store.remove("a".repeat(128));
      await store.remove("a".repeat(128));
      assert.equal(await store.open("a".repeat(128)), null);
      assert.equal(await leftovers(), 0);
    });

    it("an upload refused mid-stream leaves nothing behind", async () => {
      const store = open();
      await assert.rejects(
        store.receive(source(blob(2 * BLOB_CHUNK_BYTES)), meter(BLOB_CHUNK_BYTES + 5)),
        (e: unknown) => NanoError.is(e, "attachment_too_large"),
      );
      assert.equal(await leftovers(), 0);
    });

    it("a discarded upload leaves nothing; an empty blob is a blob", async () => {
      const store = open();
      const refused = await store.receive(source(blob(1000)), meter());
      await refused.discard();
      assert.equal(await leftovers(), 0);
      const empty = await store.receive(Readable.from([]), meter());
      await empty.promote("b".repeat(128));
      const opened = await store.open("b".repeat(128));
      assert.equal(opened?.size, 0);
      assert.equal((await buffer(opened!.stream)).length, 0);
      await store.remove("b".repeat(128));
    });
  });
}

const dir = tempDir("blobs");
blobStoreConformance(
  "filesystem",
  () => new FilesystemBlobStore(dir),
  async () =>
    readdirSync(join(dir, "tmp")).length +
    readdirSync(dir)
      .filter((d) => d !== "tmp")
      .flatMap((d) => readdirSync(join(dir, d))).length,
);

let database: TestDatabase;
let pool: Pool;
before(async () => {
  database = await createTestDatabase();
  pool = openPool({ url: database.url, max: 4 });
  await migratePostgres(pool);
});
after(async () => {
  await pool.end();
  await database.drop();
});
blobStoreConformance(
  "postgres",
  () => new PostgresBlobStore(pool),
  async () =>
    Number(
      (
        await pool.query(
          "SELECT (SELECT count(*) FROM blob_chunks) + (SELECT count(*) FROM blob_uploads) + (SELECT count(*) FROM blobs) AS n",
        )
      ).rows[0].n,
    ),
);

describe("blob store: postgres specifics", () => {
  it("keeps a blob as 256 KiB rows (never one value), and sweeps orphaned uploads", async () => {
    const store = new PostgresBlobStore(pool);
    const received = await store.receive(source(blob(2 * BLOB_CHUNK_BYTES + 1)), meter());
    await received.promote("c".repeat(128));
    const rows = await pool.query("SELECT n, octet_length(data) AS len FROM blob_chunks ORDER BY n");
    assert.deepEqual(
      rows.rows.map((row) => Number(row.len)),
      [BLOB_CHUNK_BYTES, BLOB_CHUNK_BYTES, 1],
    );
    await store.remove("c".repeat(128));
    // An upload whose relay died before promote or discard: swept once old enough.
    await store.receive(source(blob(500)), meter());
    await store.sweepOrphans(60_000);
    assert.equal(
      Number((await pool.query("SELECT count(*) AS n FROM blob_uploads")).rows[0].n),
      1,
      "too young",
    );
    await store.sweepOrphans(-1);
    assert.equal(Number((await pool.query("SELECT count(*) AS n FROM blob_chunks")).rows[0].n), 0);
  });
});
