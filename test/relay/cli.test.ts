import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "smol-toml";
import { tempDir, testConfig } from "./fixtures/harness.ts";

const BIN = new URL("../../bin/nano-relay.js", import.meta.url).pathname;

function configFile(dir: string): string {
  const file = join(dir, "relay.toml");
  writeFileSync(file, stringify(testConfig({}, dir) as unknown as Record<string, unknown>));
  return file;
}

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
}

describe("nano-relay commands", () => {
  it("migrate applies, rolls back with --to N, lists, and refuses unknown versions", () => {
    const dir = tempDir("cli-migrate");
    const config = configFile(dir);
    const up = run(["migrate", "--config", config]);
    assert.equal(up.status, 0, up.stderr);
    assert.match(up.stdout, /schema version 0 -> 6/);
    const down = run(["migrate", "--config", config, "--to", "1"]);
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, /rolled back 6 attachment_fetches/);
    assert.match(down.stdout, /rolled back 5 prekeys_per_suite/);
    assert.match(down.stdout, /rolled back 4 merkle_logs/);
    assert.match(down.stdout, /rolled back 3 username_skeletons/);
    assert.match(down.stdout, /rolled back 2 attachments/);
    assert.match(down.stdout, /schema version 6 -> 1/);
    const list = run(["migrate", "--config", config, "--list"]);
    assert.match(list.stdout, /0001 core\s+applied/);
    assert.match(list.stdout, /0002 attachments\s+pending/);
    const unknown = run(["migrate", "--config", config, "--to", "9"]);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /no schema version 9/);
    const notNumber = run(["migrate", "--config", config, "--to", "x"]);
    assert.equal(notNumber.status, 64);
  });

  it("start (the default command) writes its ports, status reads it, SIGTERM stops it cleanly", async () => {
    const dir = tempDir("cli-start");
    const config = configFile(dir);
    const portFile = join(dir, "ports.json");
    const child = spawn(process.execPath, [BIN, "--config", config, "--port-file", portFile], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      for (let i = 0; i < 400 && !(existsSync(portFile) && stderr.includes("listening")); i++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      assert.ok(existsSync(portFile), stderr);
      const ports = JSON.parse(readFileSync(portFile, "utf8")) as { api_url: string; api_port: number };
      assert.ok(ports.api_port > 0);
      assert.match(stderr, /relay listening on http:\/\/127\.0\.0\.1:\d+/);
      const status = spawnSync(process.execPath, [BIN, "status", "--url", ports.api_url, "--json"], {
        encoding: "utf8",
      });
      assert.equal(status.status, 0, status.stderr);
      const report = JSON.parse(status.stdout) as {
        ready: boolean;
        queue: { messages: number };
        rates: Record<string, number>;
      };
      assert.equal(report.ready, true);
      assert.equal(report.queue.messages, 0);
      assert.ok("stored/s" in report.rates);
      const watcher = spawn(
        process.execPath,
        [BIN, "status", "--url", ports.api_url, "--watch", "--interval", "0.5", "--json"],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let watched = "";
      watcher.stdout.on("data", (chunk: Buffer) => {
        watched += chunk.toString();
      });
      for (let i = 0; i < 200 && watched.split("\n").length < 3; i++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      watcher.kill("SIGTERM");
      const reports = watched
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { ready: boolean });
      assert.ok(reports.length >= 2, "--watch keeps refreshing");
      assert.ok(reports.every((r) => r.ready));
      const human = spawnSync(process.execPath, [BIN, "status", "--url", ports.api_url], {
        encoding: "utf8",
      });
      assert.match(human.stdout, /: ready/);
      assert.match(human.stdout, /queued messages\s+0/);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0);
  });

  it("status fails clearly when nothing listens", () => {
    const result = run(["status", "--url", "http://127.0.0.1:9"]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /cannot reach the relay/);
  });

  it("start refuses an invalid config with exit 78", () => {
    const dir = tempDir("cli-bad");
    const file = join(dir, "bad.toml");
    writeFileSync(file, "[server]\nport = 1\n");
    const result = run(["start", "--config", file]);
    assert.equal(result.status, 78);
    assert.match(result.stderr, /server\.port: unknown key/);
  });
});
