import assert from "node:assert/strict";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { CliUsageError, describeError, EXIT, exitCodeFor, reportError } from "../../src/cli/_errors.ts";
import { obtainPassphrase, readPassphraseFile } from "../../src/cli/_passphrase.ts";
import { checkRelayUrl, readConfig, resolveHome } from "../../src/client/home/home.ts";
import { initHome } from "../../src/client/operations/init.ts";
import { CLIENT_ERRORS } from "../../src/errors/codes-client.ts";
import { type ErrorCode, NanoError } from "../../src/errors/index.ts";
import { TEST_ARGON2ID, withTempDir } from "./_helpers.ts";

test("every client error code maps to a documented exit code", async () => {
  const documented = await readFile(new URL("../../docs/client.md", import.meta.url), "utf8");
  const allowed = new Set<number>(Object.values(EXIT));
  for (const code of Object.keys(CLIENT_ERRORS) as ErrorCode[]) {
    const exit = exitCodeFor(new NanoError(code, "x"));
    assert.ok(allowed.has(exit) && exit !== 0, `${code} -> ${exit}`);
    assert.match(documented, new RegExp(`\\| ${exit} \\|`), `exit ${exit} is in docs/client.md`);
  }
  assert.equal(exitCodeFor(new NanoError("wrong_passphrase", "x")), 77);
  assert.equal(exitCodeFor(new NanoError("keystore_missing", "x")), 66);
  assert.equal(exitCodeFor(new NanoError("keystore_corrupt", "x")), 65);
  assert.equal(exitCodeFor(new Error("boom")), 70);
});

test("error reports are lowercase, carry a hint, and --json goes to stdout only", () => {
  const report = describeError(new NanoError("keystore_missing", "No keystore in /x"));
  assert.equal(report.message, "no keystore in /x");
  assert.match(report.hint, /^run `nano-client init` first/);
  assert.equal(
    describeError(new CliUsageError("unknown command 'x'", "did you mean y?")).hint,
    "did you mean y?",
  );
  assert.equal(describeError(new TypeError("Bad")).code, "internal_error");

  const out: string[] = [];
  const err: string[] = [];
  const sink = {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
  };
  assert.equal(
    reportError(new NanoError("wrong_passphrase", "wrong"), { ...sink, json: true, debug: false }),
    77,
  );
  assert.deepEqual(JSON.parse(out.join("")), {
    error: {
      code: "wrong_passphrase",
      message: "wrong",
      hint: describeError(new NanoError("wrong_passphrase", "")).hint,
    },
  });
  assert.deepEqual(err, []);
  reportError(new NanoError("wrong_passphrase", "wrong"), { ...sink, json: false, debug: false });
  assert.match(err.join(""), /^nano-client: wrong\nhint: .+\n$/);
});

test("relay urls: https and wss anywhere, http and ws only to loopback", () => {
  assert.equal(checkRelayUrl("https://relay.example"), "https://relay.example/");
  assert.equal(checkRelayUrl("wss://relay.example:8443/ws"), "wss://relay.example:8443/ws");
  assert.equal(checkRelayUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080/");
  assert.equal(checkRelayUrl("ws://localhost:1"), "ws://localhost:1/");
  for (const bad of ["http://relay.example", "ftp://x", "relay.example", "", "file:///etc/passwd"]) {
    assert.throws(
      () => checkRelayUrl(bad),
      (error: unknown) => NanoError.is(error, "invalid_argument"),
      bad,
    );
  }
});

test("home resolution: --home, then NANO_CLIENT_HOME, then ~/.nano-messenger", () => {
  assert.equal(resolveHome("/a", { NANO_CLIENT_HOME: "/b" }).root, "/a");
  assert.equal(resolveHome(undefined, { NANO_CLIENT_HOME: "/b" }).keystore, "/b/keystore");
  assert.match(resolveHome(undefined, {}).root, /\/\.nano-messenger$/);
});

test("a hand-edited config.json is refused with the failing field", () =>
  withTempDir(async (dir) => {
    const paths = resolveHome(join(dir, "h"), {});
    await initHome({ paths, mode: "hybrid", passphrase: "long enough pass", argon2id: TEST_ARGON2ID });
    const config = JSON.parse(await readFile(paths.config, "utf8"));
    await writeFile(paths.config, JSON.stringify({ ...config, cryptoMode: "fast" }), { mode: 0o600 });
    await assert.rejects(readConfig(paths), /cryptoMode/);
    await writeFile(paths.config, "{", { mode: 0o600 });
    await assert.rejects(readConfig(paths), (error: unknown) => NanoError.is(error, "client_config_invalid"));
  }));

test("init after a crash that left only local.db sets the orphan aside and succeeds", () =>
  withTempDir(async (dir) => {
    const paths = resolveHome(join(dir, "h"), {});
    await initHome({
      paths,
      mode: "quantum",
      passphrase: "long enough pass",
      argon2id: TEST_ARGON2ID,
      now: 5,
    });
    const { unlink, readdir } = await import("node:fs/promises");
    await unlink(paths.keystore);
    await initHome({
      paths,
      mode: "quantum",
      passphrase: "long enough pass",
      argon2id: TEST_ARGON2ID,
      now: 6,
    });
    assert.ok((await readdir(paths.root)).includes("local.db.orphaned-6"));
    await assert.rejects(
      initHome({ paths, mode: "quantum", passphrase: "long enough pass", argon2id: TEST_ARGON2ID }),
      (error: unknown) => NanoError.is(error, "keystore_exists"),
    );
  }));

test("passphrase sources: file beats env, env beats prompt, no terminal means passphrase_required", () =>
  withTempDir(async (dir) => {
    const file = join(dir, "p");
    await writeFile(file, "from file\r\n", { mode: 0o600 });
    assert.equal(await readPassphraseFile(file), "from file");
    await writeFile(file, "two lines\n\n", { mode: 0o600 });
    assert.equal(await readPassphraseFile(file), "two lines\n", "only one newline is dropped");
    await chmod(file, 0o640);
    await assert.rejects(readPassphraseFile(file), (e: unknown) => NanoError.is(e, "insecure_permissions"));
    // A passphrase file that is not there is missing input (exit 66), not a usage error.
    await assert.rejects(readPassphraseFile(join(dir, "none")), (e: unknown) =>
      NanoError.is(e, "input_unreadable"),
    );
    await chmod(file, 0o600);

    const input = Object.assign(new PassThrough(), { isTTY: false });
    const output = new PassThrough();
    const sources = { input, output, env: { NANO_PASSPHRASE: "from env" } };
    assert.equal(await obtainPassphrase({ ...sources, file }, { creating: false }), "two lines\n");
    assert.equal(await obtainPassphrase({ ...sources, file: undefined }, { creating: false }), "from env");
    await assert.rejects(
      obtainPassphrase({ ...sources, env: {}, file: undefined }, { creating: true }),
      (e: unknown) => NanoError.is(e, "passphrase_required"),
    );
  }));
