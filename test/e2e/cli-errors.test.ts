import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { tmpfsUnavailable } from "../support/tmpfs.ts";
import {
  cli,
  MIN_KDF,
  PASSPHRASE,
  REPO_ROOT,
  type Run,
  setUpUsers,
  withRelay,
  withTempDir,
} from "./_harness.ts";

/**
 * The client's error voice when the machine or the relay fails (issue: "errors that should say what
 * happened"): a full disk is "no space left on device" with the path and exit 74, a damaged local.db
 * or config.json is a data error (65), a relay that answers 500 is reported as what it answered, not
 * as "unreachable", and a usage hint only ever follows a usage error, naming the command.
 */
const CLIENT_BIN = join(REPO_ROOT, "bin/nano-client.js");

function assertVoice(run: Run, code: number, message: RegExp, hint: RegExp): void {
  assert.equal(run.code, code, `exit ${code}: ${run.stderr}`);
  const [first = "", second = "", ...rest] = run.stderr.trimEnd().split("\n");
  assert.match(first, /^nano-client: /);
  assert.match(first, message);
  assert.match(second, /^hint: /);
  assert.match(second, hint);
  assert.deepEqual(rest, [], "two lines, no stack trace");
  assert.doesNotMatch(run.stderr, /COMMAND/, "never a placeholder");
}

test(
  "a full disk: exit 74, 'no space left on device' with the path, and nothing lost",
  { skip: tmpfsUnavailable() },
  () =>
    withTempDir(async (dir) => {
      // One private mount namespace for the whole script: a 4 MiB tmpfs holds the home, a ballast
      // file fills it. The namespace and the tmpfs vanish when the script ends.
      const mount = join(dir, "disk");
      const client = `"${process.execPath}" "${CLIENT_BIN}" --home "${mount}/home"`;
      const script = `
        mkdir -p "${mount}" && mount -t tmpfs -o size=4m tmpfs "${mount}" || exit 99
        fill() { dd if=/dev/zero of="${mount}/ballast" bs=64k 2>/dev/null; }
        ${client} init ${MIN_KDF.join(" ")} >/dev/null; echo "init=$?"
        fill
        ${client} passphrase 2>"${dir}/passphrase.err"; echo "passphrase=$?"
        rm "${mount}/ballast"
        ${client} status >/dev/null 2>"${dir}/status.err"; echo "status=$?"
        fill
        ${client} --relay http://127.0.0.1:9 init --replace 2>"${dir}/replace.err" >/dev/null; echo "replace=$?"
      `;
      const result = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", script], {
        encoding: "utf8",
        env: { ...process.env, NANO_PASSPHRASE: PASSPHRASE, NANO_NEW_PASSPHRASE: "a new long passphrase" },
        timeout: 120_000,
      });
      const codes = Object.fromEntries(
        result.stdout
          .trim()
          .split("\n")
          .map((line) => line.split("=") as [string, string]),
      );
      assert.equal(codes.init, "0", result.stderr);
      assert.equal(codes.passphrase, "74", "a full disk is EX_IOERR");
      const { readFile } = await import("node:fs/promises");
      const passphraseErr = await readFile(join(dir, "passphrase.err"), "utf8");
      assertVoice(
        { code: 74, stdout: "", stderr: passphraseErr },
        74,
        new RegExp(`^nano-client: no space left on device: ${mount}/home`),
        /free space on that device and run the command again; nothing was lost/,
      );
      // The keystore the failed change could not replace still opens with the old passphrase.
      assert.equal(codes.status, "0", await readFile(join(dir, "status.err"), "utf8"));
      assert.equal(codes.replace, "74", await readFile(join(dir, "replace.err"), "utf8"));
      assert.match(await readFile(join(dir, "replace.err"), "utf8"), /no space left on device/);
    }),
);

test("a damaged local.db and a damaged config.json are data errors (65) naming the file", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    assert.equal((await cli(["--home", home, "init", ...MIN_KDF])).code, 0);
    const { readFile } = await import("node:fs/promises");
    const config = await readFile(join(home, "config.json"), "utf8");
    await writeFile(join(home, "config.json"), "{ not json", { mode: 0o600 });
    assertVoice(
      await cli(["--home", home, "status"]),
      65,
      new RegExp(`${home}/config\\.json is not valid JSON`),
      /repair config\.json/,
    );
    await writeFile(join(home, "config.json"), config, { mode: 0o600 });
    await writeFile(join(home, "local.db"), Buffer.alloc(8192, 0x42), { mode: 0o600 });
    assertVoice(
      await cli(["--home", home, "status"]),
      65,
      new RegExp(`${home}/local\\.db is damaged: file is not a database`),
      /restore the home from a backup/,
    );
    const json = await cli(["--home", home, "--json", "status"]);
    assert.equal(JSON.parse(json.stdout).error.code, "local_store_damaged");
  }));

test("usage hints follow usage errors only and name the command; a missing file is not a usage error", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    assert.equal((await cli(["--home", home, "init", ...MIN_KDF])).code, 0);
    assertVoice(
      await cli(["--home", home, "send", "bob", "--file", join(dir, "missing.txt")]),
      66,
      /cannot read .*missing\.txt: no such file or directory/,
      /check the path/,
    );
    assertVoice(
      await cli(["--home", home, "send", "bob", "--file", dir]),
      66,
      /it is a directory/,
      /check the path/,
    );
    assertVoice(
      await cli(["--home", home, "--passphrase-file", join(dir, "none"), "status"]),
      66,
      /cannot read the passphrase file/,
      /check the path/,
    );
    assertVoice(
      await cli(["--home", home, "send"]),
      64,
      /missing required argument 'name'/,
      /see `nano-client send --help`/,
    );
    assertVoice(
      await cli(["--home", home, "init", "--kdf-memory", "1"]),
      64,
      /argon2id memoryKiB must be in 19456\.\.1048576, got 1/,
      /see `nano-client init --help` for the accepted forms/,
    );
    assertVoice(
      await cli(["--home", home, "recieve"]),
      64,
      /unknown command 'recieve'/,
      /did you mean receive\?/,
    );
    const big = join(dir, "big.bin");
    await writeFile(big, Buffer.alloc(0));
    const { truncate } = await import("node:fs/promises");
    await truncate(big, 101 * 1024 * 1024);
    assertVoice(
      await cli(["--home", home, "send", "bob", "--file", big]),
      64,
      /is 101 MiB, larger than the 100 MiB an attachment may be/,
      /see `nano-client send --help`/,
    );
  }));

test("a relay that answers 500: send says what the relay answered and keeps the message queued", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    // receive --watch says how to stop it, and stops cleanly on SIGINT.
    const watcher = spawn(process.execPath, [CLIENT_BIN, "--home", bob!.home, "receive", "--watch"], {
      env: { ...process.env, NANO_PASSPHRASE: PASSPHRASE },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let watching = "";
    watcher.stderr.on("data", (chunk: Buffer) => {
      watching += chunk.toString();
    });
    const stopped = new Promise<number | null>((resolve) => watcher.on("close", resolve));
    for (let i = 0; i < 400 && !watching.includes("Ctrl-C"); i++) await new Promise((r) => setTimeout(r, 25));
    watcher.kill("SIGINT");
    assert.equal(await stopped, 0);
    assert.equal(watching, "nano-client: waiting for messages; press Ctrl-C to stop\n");
    // A broken relay in front of the real one: message posts get the relay's own 500 answer
    // (internal_error, as src/relay/routes/_http.ts sends it) and the WebSocket is refused, so the
    // client falls back to HTTP; everything else passes through.
    const target = new URL(relay.url);
    const broken = createServer((incoming, outgoing) => {
      if (incoming.method === "POST" && incoming.url === "/v1/messages") {
        incoming.resume();
        outgoing.writeHead(500, { "content-type": "application/json" });
        outgoing.end(JSON.stringify({ error: { code: "internal_error", message: "internal error" } }));
        return;
      }
      const upstream = request(
        {
          host: target.hostname,
          port: target.port,
          path: incoming.url,
          method: incoming.method,
          headers: incoming.headers,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      upstream.on("error", () => outgoing.destroy());
      incoming.pipe(upstream);
    });
    broken.on("upgrade", (_incoming, socket) => socket.end("HTTP/1.1 500 Internal Server Error\r\n\r\n"));
    await new Promise<void>((resolve) => broken.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
    try {
      const sent = await cli([
        "--home",
        alice!.home,
        "--relay",
        url,
        "send",
        "bob",
        "hello through a broken relay",
      ]);
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout, /^queued \S+ to bob \(hybrid\): the relay answered internal_error;/);
      assert.doesNotMatch(sent.stdout, /unreachable/);
      const json = await cli(["--home", alice!.home, "--relay", url, "--json", "send", "bob", "again"]);
      const line = JSON.parse(json.stdout) as { queued: boolean; queuedBecause: string | null };
      // Held behind the first (per-recipient order): not attempted, so no answer to report.
      assert.deepEqual([line.queued, line.queuedBecause], [true, null]);
      const held = await cli(["--home", alice!.home, "--relay", url, "send", "bob", "third"]);
      assert.match(held.stdout, /: not sent yet, it waits behind messages queued before it;/);
    } finally {
      await new Promise((resolve) => broken.close(resolve));
    }
  }));
