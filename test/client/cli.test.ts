import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { resolveHome } from "../../src/client/home/home.ts";
import { unlockHome } from "../../src/client/home/unlocked-home.ts";
import { randomBytes, SUITE_IDS } from "../../src/crypto/index.ts";
import { REPO_ROOT, withTempDir } from "./_helpers.ts";

const BIN = join(REPO_ROOT, "bin/nano-client.js");
const PASS = "correct horse battery";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real CLI as a child process; stdin is a pipe (never a terminal) fed with `input`. */
function cli(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string } = {},
): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NANO_PASSPHRASE: PASS,
    NANO_DEBUG: undefined,
    NANO_CLIENT_HOME: undefined,
  };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // A hung command must fail the test with its arguments, not stall the suite.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`nano-client ${args.join(" ")} did not finish in 120 s; stderr: ${stderr}`));
    }, 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

function assertCliError(run: Run, exitCode: number, message: RegExp): void {
  assert.equal(run.code, exitCode, `exit code; stderr: ${run.stderr}`);
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 2, `exactly an error line and a hint line: ${run.stderr}`);
  assert.match(lines[0]!, /^nano-client: [a-z]/);
  assert.match(lines[0]!, message);
  assert.match(lines[1]!, /^hint: \S/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace for a user error");
}

test("init, status and contacts on a fresh home (text and --json)", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "home");
    const init = await cli(["--home", home, "init", "--crypto-mode", "classical"]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /^initialized /);
    assert.match(init.stdout, /crypto mode: classical \(accepts classical, hybrid, quantum\)/);
    assert.equal((await stat(home)).mode & 0o777, 0o700);
    for (const file of ["keystore", "config.json", "local.db"]) {
      assert.equal((await stat(join(home, file))).mode & 0o777, 0o600, file);
    }

    const status = await cli(["--home", home, "status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    const report = JSON.parse(status.stdout);
    assert.deepEqual(Object.keys(report).sort(), [
      "acceptedSuites",
      "blocked",
      "ca",
      "contacts",
      "createdAt",
      "deviceFingerprint",
      "home",
      "identityFingerprint",
      "mode",
      "outbox",
      "prekeys",
      "quarantined",
      "relay",
      "username",
    ]);
    assert.equal(report.mode, "classical");
    assert.deepEqual(report.acceptedSuites, ["classical", "hybrid", "quantum"]);
    assert.equal(report.outbox, 0);
    assert.deepEqual(report.blocked, { senders: [], droppedMessages: 0 });
    assert.equal(report.relay, null);
    assert.match(report.identityFingerprint, /^([0-9a-f]{4} ){7}[0-9a-f]{4}$/);

    const text = await cli(["status"], { env: { NANO_CLIENT_HOME: home } });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /outbox: +0 pending/);
    assert.match(text.stdout, new RegExp(`identity: +${report.identityFingerprint}`));

    const contacts = await cli(["--home", home, "contacts"]);
    assert.equal(contacts.stdout, "no contacts yet\n");
    assert.deepEqual(JSON.parse((await cli(["--home", home, "--json", "contacts"])).stdout), {
      contacts: [],
    });
  }));

test("init --crypto-mode hybrid accepts only hybrid; --relay is validated and stored", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    const bad = await cli(["--home", home, "init", "--relay", "http://relay.example"]);
    assertCliError(bad, 64, /relay url must use https or wss/);
    const run = await cli(["--home", home, "--json", "init", "--relay", "https://relay.example:8443"]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.deepEqual(result.acceptedSuites, ["hybrid"]);
    assert.equal(result.relay, "https://relay.example:8443/");
    const config = JSON.parse(await readFile(join(home, "config.json"), "utf8"));
    assert.equal(config.cryptoMode, "hybrid");

    const again = await cli(["--home", home, "init"]);
    assertCliError(again, 73, /keystore already exists/);
  }));

test("contacts and trust read and update the sealed local store", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    assert.equal((await cli(["--home", home, "init", "--crypto-mode", "quantum"])).code, 0);
    const unlocked = await unlockHome(resolveHome(home), PASS);
    try {
      const base = {
        identityRecord: randomBytes(32),
        pinnedSuite: SUITE_IDS.quantum,
        safetyNumberConfirmedAt: null,
        addedAt: 1,
        updatedAt: 1,
      };
      await unlocked.store.putContact({ ...base, username: "bob", verified: true, identityChanged: false });
      await unlocked.store.putContact({ ...base, username: "alice", verified: false, identityChanged: true });
    } finally {
      await unlocked.close();
    }
    const list = await cli(["--home", home, "contacts"]);
    assert.equal(
      list.stdout,
      "alice\tquantum\tIDENTITY CHANGED (nano-client verify or trust)\nbob\tquantum\tverified\n",
    );

    // Accepting a changed identity fetches the new record from the relay, as the claimed user.
    assertCliError(await cli(["--home", home, "trust", "alice"]), 64, /no username yet/);
    const trust = await cli(["--home", home, "--json", "trust", "bob"]);
    assert.equal(trust.code, 0, trust.stderr);
    assert.deepEqual(JSON.parse(trust.stdout).contact, {
      username: "bob",
      pinnedSuite: "quantum",
      verified: true,
      identityChanged: false,
      safetyNumberConfirmedAt: null,
    });
    assertCliError(await cli(["--home", home, "trust", "carol"]), 66, /no contact named carol/);
    assertCliError(await cli(["--home", home, "verify", "carol"]), 66, /no contact named carol/);
  }));

test("wrong passphrase: exit 77, one error line and a hint, a stack only with NANO_DEBUG=1", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    assert.equal((await cli(["--home", home, "init"])).code, 0);
    const wrong = await cli(["--home", home, "status"], { env: { NANO_PASSPHRASE: "not the passphrase" } });
    assertCliError(wrong, 77, /^nano-client: wrong passphrase for the keystore$/);
    const json = await cli(["--home", home, "status", "--json"], { env: { NANO_PASSPHRASE: "nope nope" } });
    assert.equal(json.code, 77);
    const parsed = JSON.parse(json.stdout);
    assert.deepEqual(Object.keys(parsed.error).sort(), ["code", "hint", "message"]);
    assert.equal(parsed.error.code, "wrong_passphrase");
    const debug = await cli(["--home", home, "status"], {
      env: { NANO_PASSPHRASE: "nope nope", NANO_DEBUG: "1" },
    });
    assert.equal(debug.code, 77);
    assert.match(debug.stderr, /\n\s+at /);
  }));

test("a home writable by others is refused (exit 77) whatever the passphrase: checked before the keystore is opened", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    assert.equal((await cli(["--home", home, "init"])).code, 0);
    const { chmod } = await import("node:fs/promises");
    await chmod(home, 0o770);
    for (const passphrase of [undefined, "not the passphrase"]) {
      const run = await cli(
        ["--home", home, "--json", "status"],
        passphrase === undefined ? {} : { env: { NANO_PASSPHRASE: passphrase } },
      );
      assert.equal(run.code, 77);
      assert.equal(JSON.parse(run.stdout).error.code, "insecure_permissions");
    }
    await chmod(home, 0o700);
    assert.equal((await cli(["--home", home, "status"])).code, 0);
  }));

test("a missing keystore says to run init (exit 66), in text and in --json", () =>
  withTempDir(async (dir) => {
    const run = await cli(["--home", join(dir, "none"), "status"]);
    assertCliError(run, 66, /no keystore in /);
    assert.match(run.stderr, /hint: run `nano-client init` first/);
    const json = await cli(["--home", join(dir, "none"), "--json", "contacts"]);
    assert.equal(json.code, 66);
    assert.equal(json.stderr, "");
    assert.equal(JSON.parse(json.stdout).error.code, "keystore_missing");
  }));

test("passphrase sources: a 0600 file (trailing newline dropped), refused when readable by others", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    const file = join(dir, "pass");
    await writeFile(file, `${PASS}\n`, { mode: 0o600 });
    const init = await cli(["--home", home, "init", "--passphrase-file", file], {
      env: { NANO_PASSPHRASE: undefined },
    });
    assert.equal(init.code, 0, init.stderr);
    assert.equal(
      (await cli(["--home", home, "status"])).code,
      0,
      "the env passphrase equals the file without newline",
    );

    const loose = join(dir, "loose");
    await writeFile(loose, PASS, { mode: 0o644 });
    assertCliError(
      await cli(["--home", home, "status", "--passphrase-file", loose]),
      77,
      /readable by other users/,
    );

    const none = await cli(["--home", home, "status"], { env: { NANO_PASSPHRASE: undefined } });
    assertCliError(none, 64, /no passphrase/);
    const short = await cli(["--home", join(dir, "other"), "init"], { env: { NANO_PASSPHRASE: "short" } });
    assertCliError(short, 64, /at least 8 characters/);
  }));

test("usage errors exit 64 with a suggestion; network commands need a claimed username and a reachable relay", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    assertCliError(await cli(["--home", home, "stauts"]), 64, /unknown command 'stauts'/);
    assert.match((await cli(["stauts"])).stderr, /hint: did you mean status\?/);
    assertCliError(
      await cli(["init", "--crypto-mode", "fast"]),
      64,
      /allowed choices are classical, hybrid, quantum|Allowed choices/,
    );
    assert.equal((await cli([])).code, 64);
    assert.equal((await cli(["--help"])).code, 0);

    assert.equal((await cli(["--home", home, "init"])).code, 0);
    assertCliError(await cli(["--home", home, "send", "bob", "hello"]), 64, /no username yet/);
    const piped = await cli(["--home", home, "--json", "send", "bob"], { input: "from stdin" });
    assert.equal(piped.code, 64);
    assert.equal(JSON.parse(piped.stdout).error.code, "username_not_claimed");
    assertCliError(await cli(["--home", home, "send", "bob"], { input: "" }), 64, /nothing to send/);
    assertCliError(await cli(["--home", home, "send", "Bad Name!", "x"]), 64, /username/);
    // A file that is not there is missing input (66), not a usage error.
    assertCliError(
      await cli(["--home", home, "send", "bob", "--file", join(dir, "missing")]),
      66,
      /cannot read .*: no such file or directory/,
    );
    // TEXT with --file was sent as the file alone, the text silently dropped: now a usage error.
    await writeFile(join(dir, "report.txt"), "a report");
    const both = await cli([
      "--home",
      home,
      "send",
      "bob",
      "see the report",
      "--file",
      join(dir, "report.txt"),
    ]);
    assertCliError(both, 64, /TEXT or a --file, not both/);
    assert.match(both.stderr, /hint: see `nano-client send --help`/);
    assertCliError(await cli(["--home", home, "receive"]), 64, /no username yet/);
    assertCliError(await cli(["--home", home, "claim-username", "alice"]), 64, /no relay configured/);
    // Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    const withRelay = await cli(["--home", home, "claim-username", "alice", "--relay", "http://127.0.0.1:9"]);
    assertCliError(withRelay, 69, /cannot reach the relay/);
  }));

const HAS_SCRIPT = spawnSync("script", ["--version"]).status === 0;

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), answering each prompt when its text shows.
 * This is the only way to exercise the no-echo prompt as a user meets it.
 */
function cliOnTerminal(args: string[], answers: readonly { after: string; send: string }[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NANO_PASSPHRASE;
  delete env.NANO_CLIENT_HOME;
  const command = [process.execPath, BIN, ...args]
    .map((part) => `'${part.replaceAll("'", "'\\''")}'`)
    .join(" ");
  return new Promise((resolve, reject) => {
    // A fresh pty is 0 columns wide, which makes the prompt wrap after every character.
    const child = spawn("script", ["-qec", `stty cols 120 rows 40; ${command}`, "/dev/null"], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let next = 0;
    // Each prompt is looked for only in what was printed after the previous answer, so the same
    // prompt text can be answered again (init asks again after a mismatch).
    let since = 0;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`nano-client ${args.join(" ")} on a terminal did not finish; output: ${output}`));
    }, 60_000);
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const answer = answers[next];
      if (answer !== undefined && output.slice(since).includes(answer.after)) {
        next += 1;
        output += "\n<answered>\n";
        since = output.length;
        child.stdin.write(`${answer.send}\r`);
      }
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, stdout: output, stderr: "" });
    });
  });
}

test(
  "on a terminal the passphrase is prompted for, never echoed, and checked",
  { skip: !HAS_SCRIPT && "no `script` for a pseudo-terminal" },
  () =>
    withTempDir(async (dir) => {
      const home = join(dir, "h");
      const secret = "typed secret phrase";
      const init = await cliOnTerminal(
        ["--home", home, "init"],
        [
          { after: "new keystore passphrase", send: secret },
          { after: "the same passphrase again", send: secret },
        ],
      );
      assert.equal(init.code, 0, init.stdout);
      assert.match(init.stdout, /initialized /);
      assert.ok(!init.stdout.includes(secret), "the passphrase was echoed");

      const status = await cliOnTerminal(
        ["--home", home, "status"],
        [{ after: "keystore passphrase", send: secret }],
      );
      assert.equal(status.code, 0, status.stdout);
      assert.match(status.stdout, /outbox: +0 pending/);
      assert.ok(!status.stdout.includes(secret));

      const wrong = await cliOnTerminal(
        ["--home", home, "status"],
        [{ after: "keystore passphrase", send: "not it at all" }],
      );
      assert.equal(wrong.code, 77);
      assert.match(wrong.stdout, /nano-client: wrong passphrase/);

      // A typo in the repeat asks again instead of starting over.
      const retried = await cliOnTerminal(
        ["--home", join(dir, "other"), "init"],
        [
          { after: "new keystore passphrase", send: "first phrase" },
          { after: "the same passphrase again", send: "second phrase" },
          { after: "new keystore passphrase", send: "third phrase!" },
          { after: "the same passphrase again", send: "third phrase!" },
        ],
      );
      assert.equal(retried.code, 0, retried.stdout);
      assert.match(retried.stdout, /nano-client: the two passphrases do not match; type them again/);
      assert.match(retried.stdout, /initialized /);
      const status2 = await cliOnTerminal(
        ["--home", join(dir, "other"), "status"],
        [{ after: "keystore passphrase", send: "third phrase!" }],
      );
      assert.equal(status2.code, 0, status2.stdout);
      // Three mismatches in a row end it with a usage error that says so.
      const mismatch = await cliOnTerminal(
        ["--home", join(dir, "third"), "init"],
        [
          { after: "new keystore passphrase", send: "one phrase 1" },
          { after: "the same passphrase again", send: "two phrase 2" },
          { after: "new keystore passphrase", send: "one phrase 3" },
          { after: "the same passphrase again", send: "two phrase 4" },
          { after: "new keystore passphrase", send: "one phrase 5" },
          { after: "the same passphrase again", send: "two phrase 6" },
        ],
      );
      assert.equal(mismatch.code, 64, mismatch.stdout);
      assert.match(mismatch.stdout, /nano-client: the two passphrases did not match, 3 times/);
    }),
);

test("passphrase: re-seals under the new passphrase; the old one stops working", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    assert.equal((await cli(["--home", home, "init"])).code, 0);
    const before = JSON.parse((await cli(["--home", home, "--json", "status"])).stdout);
    assertCliError(await cli(["--home", home, "passphrase"]), 64, /no passphrase/);
    assertCliError(
      await cli(["--home", home, "passphrase"], { env: { NANO_NEW_PASSPHRASE: "short" } }),
      64,
      /at least 8 characters/,
    );
    const changed = await cli(["--home", home, "--json", "passphrase"], {
      env: { NANO_NEW_PASSPHRASE: "the new one!" },
    });
    assert.equal(changed.code, 0, changed.stderr);
    assert.deepEqual(JSON.parse(changed.stdout), { changed: true });
    assertCliError(await cli(["--home", home, "status"]), 77, /wrong passphrase/);
    const after = await cli(["--home", home, "--json", "status"], {
      env: { NANO_PASSPHRASE: "the new one!" },
    });
    assert.equal(JSON.parse(after.stdout).identityFingerprint, before.identityFingerprint);
  }));

test("--version, --help with examples and environment variables, and shell completion", async () => {
  const version = await cli(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^nano-client \d+\.\d+\.\d+ \(Node 24\.\d+\.\d+, OpenSSL 3\.\d+\.\d+\)\n$/);
  const help = await cli(["--help"]);
  assert.match(help.stdout, /Examples:\n[\s\S]*send bob --file report\.pdf/);
  for (const variable of ["NANO_CLIENT_HOME", "NANO_PASSPHRASE", "NANO_NEW_PASSPHRASE", "NANO_DEBUG"])
    assert.match(help.stdout, new RegExp(`Environment variables:[\\s\\S]*${variable}`));
  const script = await cli(["completion", "bash"]);
  assert.equal(script.code, 0);
  const complete = (...words: string[]) =>
    spawnSync(
      "bash",
      [
        "-c",
        `${script.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _nano_client; echo "\${COMPREPLY[*]}"`,
      ],
      { encoding: "utf8" },
    ).stdout.trim();
  assert.equal(complete("nano-client", "--home", "/tmp/h", "rec"), "receive");
  assert.equal(complete("nano-client", "init", "--crypto-mode", "q"), "quantum");
  assert.equal(complete("nano-client", "receive", "--w"), "--watch");
  for (const shell of ["zsh", "fish"])
    assert.match((await cli(["completion", shell])).stdout, /claim-username/);
  const bad = await cli(["completion", "tcsh"]);
  assertCliError(bad, 64, /invalid for argument 'shell'/);
  assert.match(bad.stderr, /hint: see `nano-client completion --help`/);
});
