import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { sealKeystore } from "../../src/client/keystore/keystore.ts";
import {
  assembleKeystore,
  encodeKeystoreHeader,
  KEYSTORE_HEADER_LENGTH,
} from "../../src/client/keystore/keystore-format.ts";
import { NanoClient } from "../../src/client/nano-client.ts";
import { CLIENT_EXPORT_FORMAT } from "../../src/client/operations/export-home.ts";
import { randomBytes } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { cli, errorOf, withTempDir } from "./_harness.ts";

/**
 * `nano-client open-export` against hostile files and output paths (docs/client.md "Exporting your
 * data"): key-derivation parameters that would make argon2id take minutes or gigabytes are refused
 * before deriving, a header's huge length before allocating, a device or FIFO before it is opened;
 * an existing output — a symlink, even a dangling one — is never replaced without --force, and with
 * --force the link itself is replaced by a 0600 file, never the file it points to.
 */

const EXPORT_PASSPHRASE = "hostile export passphrase";
const MIN_KDF = { memoryKiB: 19456, passes: 2, parallelism: 1 };
const DOCUMENT = JSON.stringify({
  format: CLIENT_EXPORT_FORMAT,
  exported_at: "2026-12-08T00:00:00.000Z",
  account: {},
  contacts: [],
  messages: [],
});

/** A sealed file with its header edited (bytes at `offset`) and the checksum recomputed to match. */
function withHeader(sealed: Uint8Array, offset: number, bytes: number[]): Uint8Array {
  const header = sealed.slice(0, KEYSTORE_HEADER_LENGTH);
  header.set(bytes, offset);
  return assembleKeystore(header, sealed.slice(KEYSTORE_HEADER_LENGTH, sealed.length - 32));
}

async function refusedWith(path: string, code: string): Promise<void> {
  await assert.rejects(NanoClient.openExport(path, EXPORT_PASSPHRASE), (error: unknown) => {
    assert.ok(NanoError.is(error), String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

test("hostile sealed exports are refused before deriving, allocating or opening", () =>
  withTempDir(async (dir) => {
    const sealed = await sealKeystore(new TextEncoder().encode(DOCUMENT), EXPORT_PASSPHRASE, {
      argon2id: MIN_KDF,
    });
    const good = join(dir, "good.sealed");
    await writeFile(good, sealed, { mode: 0o600 });
    assert.equal((await NanoClient.openExport(good, EXPORT_PASSPHRASE)).json, DOCUMENT);
    const put = async (name: string, bytes: Uint8Array) => {
      const path = join(dir, name);
      await writeFile(path, bytes, { mode: 0o600 });
      return path;
    };
    // 4 GiB of memory, 65535 passes, 65535 lanes: each would hold the machine for minutes.
    await refusedWith(
      await put("memory.sealed", withHeader(sealed, 9, [0xff, 0xff, 0xff, 0xff])),
      "kdf_parameters_out_of_range",
    );
    await refusedWith(
      await put("passes.sealed", withHeader(sealed, 13, [0xff, 0xff])),
      "kdf_parameters_out_of_range",
    );
    await refusedWith(
      await put("lanes.sealed", withHeader(sealed, 15, [0xff, 0xff])),
      "kdf_parameters_out_of_range",
    );
    // A header that claims a 4 GiB payload: refused from the header, nothing allocated for it.
    await refusedWith(
      await put("length.sealed", withHeader(sealed, 62, [0xff, 0xff, 0xff, 0xff])),
      "keystore_payload_too_large",
    );
    // Only the fixed prefix: cut short, not a crash.
    await refusedWith(await put("prefix.sealed", sealed.slice(0, 20)), "keystore_truncated");
    // A well-formed header that seals nothing (not even the AEAD tag).
    const empty = assembleKeystore(
      encodeKeystoreHeader({
        argon2id: MIN_KDF,
        salt: randomBytes(16),
        nonce: randomBytes(12),
        checkValue: randomBytes(16),
        payloadLength: 0,
      }),
      new Uint8Array(0),
    );
    await refusedWith(await put("empty.sealed", empty), "keystore_truncated");

    // A device: its size says 0 and it never ends (readFile would pull up to 2 GiB).
    await refusedWith("/dev/zero", "input_unreadable");
    // A FIFO with a writer behind it: stat says 0 bytes, then 4 MiB flow. Refused before it is opened,
    // so the writer never gets a reader.
    const fifo = join(dir, "export.fifo");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    const writer = spawn("sh", ["-c", `head -c 4194304 /dev/zero > '${fifo}'`], { stdio: "ignore" });
    try {
      await refusedWith(fifo, "input_unreadable");
      assert.equal(writer.exitCode, null, "the FIFO was never read");
    } finally {
      writer.kill("SIGKILL");
    }
  }));

test("open-export --output: symlinks and existing files are never clobbered without --force; the result is 0600", () =>
  withTempDir(async (dir) => {
    const sealed = join(dir, "export.sealed");
    await writeFile(
      sealed,
      await sealKeystore(new TextEncoder().encode(DOCUMENT), EXPORT_PASSPHRASE, { argon2id: MIN_KDF }),
      { mode: 0o600 },
    );
    const env = { NANO_EXPORT_PASSPHRASE: EXPORT_PASSPHRASE };
    const open = (output: string, ...extra: string[]) =>
      cli(["--json", "open-export", sealed, "--output", output, ...extra], { env });

    // A symlink to a file the user cares about.
    const victim = join(dir, "victim.txt");
    await writeFile(victim, "precious", { mode: 0o644 });
    const link = join(dir, "link.json");
    await symlink(victim, link);
    const refused = await open(link);
    assert.equal(errorOf(refused).code, "output_exists");
    // A dangling symlink is an existing entry too: following it would create a file elsewhere.
    const elsewhere = join(dir, "created-through-the-link.json");
    const dangling = join(dir, "dangling.json");
    await symlink(elsewhere, dangling);
    const danglingRun = await open(dangling);
    assert.equal(errorOf(danglingRun).code, "output_exists", danglingRun.stdout);
    assert.equal(existsSync(elsewhere), false);
    assert.ok((await lstat(dangling)).isSymbolicLink(), "the link is left as it was");

    // --force replaces the link itself with a private file; what it pointed to is untouched.
    const forced = await open(link, "--force");
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.equal(await readFile(victim, "utf8"), "precious");
    const written = await lstat(link);
    assert.ok(written.isFile());
    assert.equal(written.mode & 0o777, 0o600);
    assert.equal(await readFile(link, "utf8"), DOCUMENT);

    // An existing 0644 file replaced with --force comes out 0600, whatever the umask.
    const plain = join(dir, "plain.json");
    await writeFile(plain, "old", { mode: 0o644 });
    assert.equal((await open(plain, "--force")).code, 0);
    assert.equal((await stat(plain)).mode & 0o777, 0o600);
    assert.equal(await readFile(plain, "utf8"), DOCUMENT);
  }));
