import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
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
    assert.match(up.stdout, /schema version 0 -> 7/);
    const down = run(["migrate", "--config", config, "--to", "1"]);
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, /rolled back 7 compliance/);
    assert.match(down.stdout, /rolled back 6 attachment_fetches/);
    assert.match(down.stdout, /rolled back 5 prekeys_per_suite/);
    assert.match(down.stdout, /rolled back 4 merkle_logs/);
    assert.match(down.stdout, /rolled back 3 username_skeletons/);
    assert.match(down.stdout, /rolled back 2 attachments/);
    assert.match(down.stdout, /schema version 7 -> 1/);
    const list = run(["migrate", "--config", config, "--list"]);
    assert.match(list.stdout, /0001 core\s+expand\s+applied/);
    assert.match(list.stdout, /0002 attachments\s+expand\s+pending/);
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

  it("status fails clearly when nothing listens: exit 69 (unavailable), as nano-client", () => {
    const result = run(["status", "--url", "http://127.0.0.1:9"]);
    assert.equal(result.status, 69);
    assert.match(
      result.stderr,
      /^nano-relay: cannot reach the relay at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)\nhint: /,
    );
  });

  it("--version, the unknown-command voice, usage hints naming the command, and completion", () => {
    const version = run(["--version"]);
    assert.equal(version.status, 0);
    assert.match(version.stdout, /^nano-relay \d+\.\d+\.\d+ \(Node 24\.\d+\.\d+, OpenSSL 3\.\d+\.\d+\)\n$/);
    const typo = run(["strat"]);
    assert.equal(typo.status, 64);
    assert.equal(typo.stderr, "nano-relay: unknown command 'strat'\nhint: did you mean start?\n");
    const badOption = run(["check", "--quik"]);
    assert.equal(badOption.status, 64);
    assert.equal(badOption.stderr, "nano-relay: unknown option '--quik'\nhint: did you mean --quick?\n");
    const missing = run(["backup"]);
    assert.equal(missing.status, 64);
    assert.match(missing.stderr, /hint: see `nano-relay backup --help` for the accepted forms/);
    assert.doesNotMatch(missing.stderr + typo.stderr, /COMMAND/);
    const help = run(["--help"]);
    assert.match(
      help.stdout,
      /Examples:[\s\S]*--tls-self-signed[\s\S]*Environment variables:[\s\S]*NANO_DEBUG/,
    );
    const script = run(["completion", "bash"]);
    assert.equal(script.status, 0);
    const complete = (...words: string[]) =>
      spawnSync(
        "bash",
        [
          "-c",
          `${script.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _nano_relay; echo "\${COMPREPLY[*]}"`,
        ],
        { encoding: "utf8" },
      ).stdout.trim();
    assert.equal(complete("nano-relay", "ba"), "backup");
    assert.equal(complete("nano-relay", "audit", "ver"), "verify");
    assert.equal(complete("nano-relay", "check", "--environment", "prod"), "production");
    for (const shell of ["zsh", "fish"]) {
      const other = run(["completion", shell]);
      assert.equal(other.status, 0);
      assert.match(other.stdout, /restore/);
    }
  });

  it("init-config --environment production --tls-self-signed --data-dir writes a config that validates and serves TLS", async () => {
    const dir = tempDir("cli-prod");
    const file = join(dir, "relay.toml");
    const init = run([
      "init-config",
      "--environment",
      "production",
      "--data-dir",
      join(dir, "data"),
      "--tls-self-signed",
      join(dir, "tls"),
      "--output",
      file,
    ]);
    assert.equal(init.status, 0, init.stderr);
    assert.match(init.stderr, /THROWAWAY self-signed certificate/);
    assert.match(init.stderr, /it validates\n$/);
    const text = readFileSync(file, "utf8");
    assert.match(text, /# What production needs here: cert_file = the PEM certificate chain/);
    assert.match(text, /# THROWAWAY self-signed certificate/);
    const valid = run(["validate-config", "--config", file]);
    assert.equal(valid.status, 0, valid.stderr);
    assert.equal(statSync(join(dir, "tls", "throwaway-key.pem")).mode & 0o777, 0o600);
    // Without the files, the same command says what is missing instead of claiming success.
    const bare = run(["init-config", "--environment", "production", "--output", join(dir, "bare.toml")]);
    assert.equal(bare.status, 0);
    assert.match(bare.stderr, /it will not validate until:\n {2}server\.tls\.cert_file: cannot read/);
    // --port and --bind override the file, under the file's rules.
    const open = run(["start", "--config", file, "--bind", "0.0.0.0", "--port", "0"]);
    assert.equal(open.status, 78);
    assert.match(open.stderr, /--port \(server\.api_port\): production needs a fixed port/);
    // It serves: TLS 1.3 with the throwaway certificate, which status trusts with --ca.
    const portFile = join(dir, "ports.json");
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = spawn(
      process.execPath,
      [
        BIN,
        "--config",
        file,
        "--bind",
        "127.0.0.1",
        "--port",
        String(port),
        "--websocket-port",
        String(port),
        "--port-file",
        portFile,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      for (let i = 0; i < 400 && !existsSync(portFile) && child.exitCode === null; i++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      if (!existsSync(portFile)) {
        // The random port was taken: nothing to prove about TLS on this run.
        assert.match(stderr, /cannot listen/);
        return;
      }
      const url = (JSON.parse(readFileSync(portFile, "utf8")) as { api_url: string }).api_url;
      assert.equal(url, `https://127.0.0.1:${port}`);
      const untrusted = run(["status", "--url", url]);
      assert.equal(untrusted.status, 69);
      assert.match(untrusted.stderr, /SELF_SIGNED/);
      const trusted = run(["status", "--url", url, "--ca", join(dir, "tls", "throwaway-cert.pem"), "--json"]);
      assert.equal(trusted.status, 0, trusted.stderr);
      assert.equal((JSON.parse(trusted.stdout) as { store: string }).store, "writable");
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
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
