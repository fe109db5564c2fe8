import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
  CHECKSUM_LENGTH,
  keystoreLength,
  MAX_SEALED_EXPORT_PAYLOAD,
} from "../../src/client/keystore/keystore-format.ts";
import { blake2b } from "../../src/crypto/index.ts";
import { errorOf, PASSPHRASE, setUpUsers, withRelay } from "./_harness.ts";

/**
 * `nano-client open-export FILE` opens what `export --encrypt` sealed (docs/client.md "Exporting your
 * data"): the right passphrase gives the JSON back byte for byte; a wrong passphrase, a cut file, a
 * damaged one, one modified with its checksum recomputed, and a home's keystore (which must never be
 * written out as plaintext) each fail with their own code and write nothing.
 */
test("open-export: the right passphrase opens it; wrong, truncated, damaged, tampered and keystore files are refused", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    await bob!.send("alice", "exported words");
    assert.equal((await alice!.receive()).length, 1);
    const sealed = join(dir, "alice-export.sealed");
    const exportPassphrase = "export passphrase for the test";
    await alice!.json(["export", "--output", sealed, "--encrypt"], {
      env: { NANO_NEW_PASSPHRASE: exportPassphrase },
    });
    const right = { env: { NANO_EXPORT_PASSPHRASE: exportPassphrase, NANO_PASSPHRASE: undefined } };

    const out = join(dir, "opened.json");
    const [summary] = (await alice!.json(["open-export", sealed, "--output", out], right)) as {
      contacts: number;
      messages: number;
    }[];
    assert.deepEqual([summary!.contacts, summary!.messages], [1, 1]);
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    const document = JSON.parse(await readFile(out, "utf8")) as {
      format: string;
      messages: { from: string; text: string }[];
    };
    assert.equal(document.format, "nano-client-export/v1");
    assert.deepEqual(
      document.messages.map((m) => [m.from, m.text]),
      [["bob", "exported words"]],
    );
    // Without --output it is printed, unchanged.
    const printed = await alice!.run(["open-export", sealed], right);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, await readFile(out, "utf8"));
    // An existing output is refused before the passphrase is even asked for.
    const exists = await alice!.run(["open-export", sealed, "--output", out]);
    assert.equal(exists.code, 64);
    assert.equal(errorOf(exists).code, "output_exists");

    const refused = async (file: string, code: string, exit: number, env = right.env) => {
      const target = join(dir, `never-${code}.json`);
      const run = await alice!.run(["open-export", file, "--output", target], { env });
      assert.equal(run.code, exit, `${code}: ${run.stdout}${run.stderr}`);
      assert.equal(errorOf(run).code, code);
      assert.equal(existsSync(target), false, `${code}: nothing written`);
      assert.doesNotMatch(run.stdout + run.stderr, /exported words/);
    };
    await refused(sealed, "wrong_passphrase", 77, {
      NANO_EXPORT_PASSPHRASE: "not the passphrase",
      NANO_PASSPHRASE: undefined,
    });
    const bytes = await readFile(sealed);
    const variant = async (name: string, content: Uint8Array) => {
      const path = join(dir, name);
      await writeFile(path, content, { mode: 0o600 });
      return path;
    };
    await refused(
      await variant("cut.sealed", bytes.subarray(0, bytes.length - 100)),
      "keystore_truncated",
      65,
    );
    await refused(
      await variant("longer.sealed", Buffer.concat([bytes, Buffer.from("x")])),
      "keystore_truncated",
      65,
    );
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - CHECKSUM_LENGTH - 10]! ^= 1;
    await refused(await variant("damaged.sealed", flipped), "keystore_corrupt", 65);
    // A deliberate change: a ciphertext byte flipped and the checksum recomputed to match.
    const body = flipped.subarray(0, flipped.length - CHECKSUM_LENGTH);
    const tampered = Buffer.concat([body, blake2b(body).subarray(0, CHECKSUM_LENGTH)]);
    await refused(await variant("tampered.sealed", tampered), "keystore_tampered", 65);
    await refused(
      await variant("plain.json", Buffer.from('{"format":"nano-client-export/v1"}')),
      "keystore_unrecognized",
      65,
    );
    // The home's keystore opens with the home's passphrase, but it is not an export: its secrets are
    // never written out.
    await refused(join(alice!.home, "keystore"), "export_unrecognized", 65, {
      NANO_EXPORT_PASSPHRASE: PASSPHRASE,
      NANO_PASSPHRASE: undefined,
    });
    await refused(join(dir, "missing.sealed"), "input_unreadable", 66);
    // A file far larger than any sealed export is refused before it is read into memory.
    // (Sparse: its size is all that is read.)
    const huge = join(dir, "huge.sealed");
    await writeFile(huge, "NANOKS");
    await truncate(huge, keystoreLength(MAX_SEALED_EXPORT_PAYLOAD) + 1);
    await refused(huge, "keystore_payload_too_large", 65);
  }));

/**
 * A sealed export holds a whole history, far more than a keystore: one received text of 1.5 MiB (texts
 * go up to 100 MiB) made `export --encrypt` fail with keystore_payload_too_large when the export used
 * the keystore's 1 MiB cap. It seals and opens under the export's own cap (MAX_SEALED_EXPORT_PAYLOAD).
 */
test("a sealed export larger than a keystore (a 1.5 MiB text) seals and opens byte for byte", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    const long = `${"long words ".repeat(150_000)}end`;
    const sent = await bob!.run(["--json", "send", "alice"], { input: long });
    assert.equal(sent.code, 0, sent.stderr);
    const received = await alice!.receive();
    assert.equal(received.length, 1);
    assert.equal(received[0]!.text.length, long.length);
    const sealed = join(dir, "alice-long.sealed");
    const exportPassphrase = "export passphrase for the long test";
    await alice!.json(["export", "--output", sealed, "--encrypt"], {
      env: { NANO_NEW_PASSPHRASE: exportPassphrase },
    });
    assert.ok((await stat(sealed)).size > 1 << 20, "the sealed export is larger than a keystore's cap");
    const out = join(dir, "opened-long.json");
    await alice!.json(["open-export", sealed, "--output", out], {
      env: { NANO_EXPORT_PASSPHRASE: exportPassphrase, NANO_PASSPHRASE: undefined },
    });
    const document = JSON.parse(await readFile(out, "utf8")) as { messages: { text: string }[] };
    assert.equal(document.messages.length, 1);
    assert.equal(document.messages[0]!.text, long);
  }));
