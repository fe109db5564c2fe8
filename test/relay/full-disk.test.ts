import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "smol-toml";
import { tmpfsUnavailable } from "../support/tmpfs.ts";
import { buildTestRelay, tempDir, testConfig } from "./fixtures/harness.ts";
import { testEnvelope } from "./fixtures/identities.ts";
import { http, signUpOver } from "./fixtures/processes.ts";

/**
 * A relay whose disk fills up (the outside review: "/readyz says ready while every write fails").
 * A real full file system: the relay runs in its own mount namespace (`unshare --mount`) with its data
 * on a 6 MiB tmpfs; a ballast file written into that namespace with `nsenter` fills it. The namespace
 * and the tmpfs vanish with the process, so nothing is left mounted whatever happens to the test.
 * Needs root (or user namespaces) for the mount: skipped loudly where not permitted, required under CI.
 */
const BIN = new URL("../../bin/nano-relay.js", import.meta.url).pathname;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

function inNamespace(pid: number, command: string[]): ReturnType<typeof spawnSync> {
  return spawnSync("nsenter", ["--target", String(pid), "--mount", ...command], { encoding: "utf8" });
}

async function until<T>(what: string, attempt: () => Promise<T | null>, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await attempt();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("a full disk", () => {
  it("fails sends with store_unavailable, turns /readyz not ready with the reason, and heals when space returns", {
    skip: tmpfsUnavailable(),
  }, async () => {
    const dir = tempDir("full-disk");
    const data = join(dir, "data");
    mkdirSync(data);
    const config = join(dir, "relay.toml");
    const portFile = join(dir, "ports.json");
    // The reserve is off here: this proves the write-failure path (the reserve has its own test below).
    const settings = testConfig({ storage: { min_free_bytes: 0 }, monitoring: { log_level: "info" } }, data);
    writeFileSync(config, stringify(settings as unknown as Record<string, unknown>));
    const relay: ChildProcess = spawn(
      "unshare",
      [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount -t tmpfs -o size=6m,mode=0700 tmpfs "$1" && exec "$2" "$3" start --config "$4" --port-file "$5"',
        "sh",
        data,
        process.execPath,
        BIN,
        config,
        portFile,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    for (const stream of [relay.stdout, relay.stderr])
      stream?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
    const exited = new Promise<number | null>((resolve) => relay.on("exit", (code) => resolve(code)));
    try {
      await until("the relay to listen", async () => (existsSync(portFile) ? true : null));
      const url = (JSON.parse(readFileSync(portFile, "utf8")) as { api_url: string }).api_url;
      const alice = await signUpOver(url, "alice");
      const bob = await signUpOver(url, "bob");
      const send = (id: string, size = 1000) =>
        http(
          url,
          "POST",
          "/v1/messages",
          { to: "bob", client_message_id: id, envelope: b64(testEnvelope("x".repeat(size))) },
          alice.token,
        );
      for (let i = 0; i < 5; i++) assert.equal((await send(`before-${i}`)).status, 201);
      assert.equal((await http(url, "GET", "/readyz")).status, 200);

      // Fill the tmpfs from inside the relay's namespace; dd stops at ENOSPC by itself.
      inNamespace(relay.pid!, ["dd", "if=/dev/zero", `of=${join(data, "ballast")}`, "bs=64k"]);
      let attempt = 0;
      const refused = await until(
        "a send to fail",
        async () => {
          const answer = await send(`during-${attempt++}`, 20_000);
          return answer.status === 201 ? null : answer;
        },
        100,
      );
      assert.equal(refused.status, 503);
      assert.equal((refused.json.error as { code: string }).code, "store_unavailable");
      const ready = await http(url, "GET", "/readyz");
      assert.equal(ready.status, 503);
      assert.equal(ready.json.ready, false);
      assert.equal(ready.json.store, "cannot write");
      assert.match(String(ready.json.store_problem), /no space left on device/);
      const status = spawnSync(process.execPath, [BIN, "status", "--url", url], { encoding: "utf8" });
      assert.equal(status.status, 1, "status exits 1 while not ready");
      assert.match(status.stdout, /alive, not ready/);
      assert.match(status.stdout, /store\s+cannot write: .*no space left on device/);

      // Space comes back: the probe write notices without any client traffic.
      inNamespace(relay.pid!, ["rm", join(data, "ballast")]);
      await until("/readyz to recover", async () =>
        (await http(url, "GET", "/readyz")).status === 200 ? true : null,
      );
      assert.equal((await send("after")).status, 201);
      const inbox = await http(url, "GET", "/v1/messages?limit=100", undefined, bob.token);
      const held = (inbox.json.messages as unknown[]).length;
      assert.ok(held >= 6, `every acknowledged message is still there (${held})`);
      assert.match(output, /"store cannot write: not ready"/);
      assert.match(output, /"store writable again"/);
    } finally {
      relay.kill("SIGTERM");
      await exited;
    }
  });

  it("/readyz says not ready with less free space than storage.min_free_bytes, before writes fail", async () => {
    // 1 PiB of reserve: no test machine has that much free, so the reserve decides alone.
    const relay = await buildTestRelay({ storage: { min_free_bytes: 2 ** 50 } });
    try {
      const ready = await relay.app.inject({ method: "GET", url: "/readyz" });
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.json().store, "cannot write");
      assert.match(
        ready.json().store_problem,
        /^only .* free for .* \(storage\.min_free_bytes is 1024 TiB\)$/,
      );
    } finally {
      await relay.close();
    }
  });
});
