import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { blake2b, toHex } from "../../src/crypto/index.ts";
import { signUpOver } from "../relay/fixtures/processes.ts";
import { TestCluster } from "./_cluster.ts";

/**
 * storage.blob_backend = "postgres": a cluster without a shared folder. An attachment uploaded through
 * one relay is stored as chunks in PostgreSQL (no file anywhere) and downloaded through the other.
 */
describe("cluster: attachment blobs in PostgreSQL", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.create({ relays: 2, overrides: { storage: { blob_backend: "postgres" } } });
    await cluster.start();
    await cluster.ready();
  });
  after(() => cluster.stop());

  it("uploads through relay 0, downloads through relay 1, with no file written", async () => {
    const [r0, r1] = cluster.relays as [(typeof cluster.relays)[0], (typeof cluster.relays)[0]];
    const alice = await signUpOver(r0.url, "alice");
    const bob = await signUpOver(r1.url, "bob");
    const bytes = new Uint8Array(1_000_000).map((_, i) => (i * 13) % 256);
    const hash = toHex(blake2b(bytes));
    const put = await fetch(`${r0.url}/v1/attachments/${hash}?recipients=bob`, {
      method: "PUT",
      headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/octet-stream" },
      body: bytes,
    });
    assert.equal(put.status, 201, await put.text());
    const blobDir = cluster.config.storage.blob_dir;
    const files = existsSync(blobDir) ? readdirSync(blobDir, { recursive: true }) : [];
    assert.deepEqual(
      files.filter((name) => String(name).includes(hash)),
      [],
      "no blob file",
    );
    const got = await fetch(`${r1.url}/v1/attachments/${hash}`, {
      headers: { authorization: `Bearer ${bob.token}` },
    });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("content-length"), String(bytes.length));
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), bytes);
    const admin = new pg.Client({ connectionString: cluster.database.url });
    await admin.connect();
    const chunks = await admin.query("SELECT count(*)::int AS n FROM blob_chunks");
    await admin.end();
    assert.equal(chunks.rows[0].n, 4, "1 MB as four 256 KiB chunks");
  });
});
