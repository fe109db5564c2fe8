// Attachment streaming against a REAL relay process: bodies far above Fastify's body limit, sent with
// chunked transfer encoding (no Content-Length, so the declared-size check cannot help), go through
// the streaming size meter (routes/attachments.ts): an oversized body is refused with
// attachment_too_large while it is still arriving and nothing of it is kept; a valid multi-MiB blob is
// stored and served back byte-exact (hash verified).
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { blake2bIncremental } from "../../src/crypto/hash.ts";
import { randomBytes, toHex } from "../../src/crypto/index.ts";
import { relayConfigSchema } from "../../src/relay/config/schema.ts";
import { tempDir, testConfig } from "./fixtures/harness.ts";
import { RelayProcess, signUpOver } from "./fixtures/processes.ts";

const MiB = 1024 * 1024;
const CAP = 8 * MiB;

interface Answer {
  status: number;
  json: Record<string, unknown>;
  /** Body bytes written when the answer arrived. */
  sentAtAnswer: number;
  /** True when every chunk was written before the answer. */
  complete: boolean;
  connection: string | undefined;
}

/** PUT with `Transfer-Encoding: chunked`; stops writing as soon as the relay answers. */
function chunkedUpload(
  base: string,
  token: string,
  path: string,
  chunks: readonly Uint8Array[],
): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    let complete = false;
    const req = httpRequest(url, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/octet-stream",
        "transfer-encoding": "chunked",
      },
    });
    req.on("response", (res) => {
      answered = true;
      const sentAtAnswer = sent;
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on("end", () => {
        req.destroy();
        resolve({
          status: res.statusCode ?? 0,
          json: JSON.parse(text) as Record<string, unknown>,
          sentAtAnswer,
          complete,
          connection: res.headers.connection,
        });
      });
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    const pump = async () => {
      for (const chunk of chunks) {
        if (answered || req.destroyed) return;
        sent += chunk.length;
        if (!req.write(chunk)) {
          await new Promise<void>((done) => {
            req.once("drain", done);
            req.once("close", done);
          });
        }
      }
      complete = true;
      req.end();
    };
    pump().catch(reject);
  });
}

function download(
  base: string,
  token: string,
  hash: string,
): Promise<{ status: number; hash: string; size: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(`/v1/attachments/${hash}`, base), {
      headers: { authorization: `Bearer ${token}` },
    });
    req.on("response", (res) => {
      const hasher = blake2bIncremental();
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        hasher.update(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, hash: toHex(hasher.digest()), size }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("attachments: chunked uploads above the body limit against a real relay", () => {
  let relay: RelayProcess;
  let dir: string;
  let alice: string;
  before(async () => {
    dir = tempDir("attach-stream");
    relay = new RelayProcess(testConfig({ limits: { attachment_max_bytes: CAP } }, dir), dir);
    await relay.start();
    alice = (await signUpOver(relay.url, "alice")).token;
    await signUpOver(relay.url, "bob");
  });
  after(async () => relay.stop());

  it("ships a default cap of at least 100 MiB", () => {
    const defaults = relayConfigSchema.parse({});
    assert.ok(
      defaults.limits.attachment_max_bytes >= 100 * MiB,
      String(defaults.limits.attachment_max_bytes),
    );
  });

  it("stores a multi-MiB chunked upload and serves it back with the same hash", async () => {
    const chunks = Array.from({ length: 24 }, () => randomBytes(256 * 1024)); // 6 MiB, no Content-Length
    const hasher = blake2bIncremental();
    for (const chunk of chunks) hasher.update(chunk);
    const hash = toHex(hasher.digest());
    const answer = await chunkedUpload(relay.url, alice, `/v1/attachments/${hash}?recipients=bob`, chunks);
    assert.equal(answer.status, 201, JSON.stringify(answer.json));
    assert.deepEqual(answer.json, { hash, size: 6 * MiB });
    const fetched = await download(relay.url, alice, hash);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.size, 6 * MiB);
    assert.equal(fetched.hash, hash, "served bytes hash to the address");
  });

  it("refuses a chunked body over the cap while it is arriving, and keeps nothing of it", async () => {
    // 128 MiB planned (one 1 MiB chunk repeated); the relay must answer long before the end.
    const chunk = randomBytes(MiB);
    const chunks = Array.from({ length: 128 }, () => chunk);
    const hash = "ab".repeat(64);
    const answer = await chunkedUpload(relay.url, alice, `/v1/attachments/${hash}?recipients=bob`, chunks);
    assert.equal(answer.status, 413, JSON.stringify(answer.json));
    assert.equal((answer.json.error as { code: string }).code, "attachment_too_large");
    assert.equal(answer.complete, false, "the whole body was accepted before the refusal");
    assert.ok(answer.sentAtAnswer < 128 * MiB);
    // The rest of the body is not read and discarded: a half-read connection would hold a drain open.
    assert.equal(answer.connection, "close");
    assert.ok(!existsSync(join(dir, "blobs", hash.slice(0, 2), hash)), "no blob stored");
    const tmp = join(dir, "blobs", "tmp");
    // The partial temp file is removed in the route's `finally`; bounded wait for that to run.
    for (let i = 0; i < 100 && existsSync(tmp) && readdirSync(tmp).length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], [], "no partial file left behind");
    const missing = await download(relay.url, alice, hash);
    assert.equal(missing.status, 404);
  });
});
