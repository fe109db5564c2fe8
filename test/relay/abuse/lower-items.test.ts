// Issue 12, finding 8 (lower): the database and blob folders were created 0644/0755 (they hold
// usernames, token hashes and envelopes); audit lines named users in the log although the generated
// relay.toml said log_usernames = false hides them; GET /v1/accounts/:username had no rate limit
// (enumeration). (Unauthenticated WebSocket protocol errors: frame-flood.test.ts.)
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { blake2b, toHex } from "../../../src/crypto/index.ts";
import { tempDir } from "../fixtures/harness.ts";
import { http, signUpOver } from "../fixtures/processes.ts";
import { startRelay } from "./_abuse.ts";

const mode = (path: string) => statSync(path).mode & 0o777;

describe("abuse: lower items", () => {
  it("creates every data file 0600 and every data folder 0700", async () => {
    // Data folders that do not exist yet, so the relay creates them itself.
    const data = join(tempDir("abuse-modes"), "data");
    const fresh = await startRelay({
      storage: { path: join(data, "db", "relay.sqlite"), blob_dir: join(data, "blobs") },
    });
    try {
      const { token } = await signUpOver(fresh.url, "frank");
      const blob = Buffer.from("ciphertext of an attachment");
      const hash = toHex(blake2b(blob));
      const put = await fetch(`${fresh.url}/v1/attachments/${hash}?recipients=frank`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
        body: blob,
      });
      assert.equal(put.status, 201);
      for (const folder of [join(data, "db"), join(data, "blobs"), join(data, "blobs", hash.slice(0, 2))]) {
        assert.equal(mode(folder).toString(8), "700", folder);
      }
      for (const file of ["relay.sqlite", "relay.sqlite-wal", "relay.sqlite-shm", "log-key.json"]) {
        assert.equal(mode(join(data, "db", file)).toString(8), "600", file);
      }
      assert.equal(mode(join(data, "blobs", hash.slice(0, 2), hash)).toString(8), "600", "the blob");
    } finally {
      await fresh.stop();
    }
  });

  it("names no user in any log line when log_usernames = false, and does in audit lines when true", async () => {
    for (const logUsernames of [false, true]) {
      const relay = await startRelay({
        monitoring: { log_level: "info" },
        compliance: { audit_hook: "log", log_usernames: logUsernames },
      });
      try {
        const name = logUsernames ? "named-user" : "hidden-user";
        await signUpOver(relay.url, name);
      } finally {
        await relay.stop();
      }
      const audit = relay.output.split("\n").filter((line) => line.includes('"msg":"audit"'));
      assert.ok(audit.length >= 2, "claim and login are logged");
      if (logUsernames)
        assert.ok(
          audit.every((line) => line.includes("named-user")),
          audit.join("\n"),
        );
      else assert.ok(!relay.output.includes("hidden-user"), "the username appears nowhere in the log");
    }
  });

  it("rate-limits username lookups per requesting account (enumeration)", async () => {
    const relay = await startRelay({ limits: { rate: { lookups_per_minute: 5 } } });
    try {
      const { token } = await signUpOver(relay.url, "greta");
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        statuses.push((await http(relay.url, "GET", `/v1/accounts/guess${i}`, undefined, token)).status);
      }
      assert.deepEqual(statuses, [404, 404, 404, 404, 404, 429, 429, 429]);
    } finally {
      await relay.stop();
    }
  });
});
