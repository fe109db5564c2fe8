import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadKeystore } from "../../src/client/keystore/keystore.ts";
import { errorOf, User, withRelay } from "./_harness.ts";

/**
 * `nano-client export` (docs/client.md "Exporting your data") with real relay and CLI processes: the
 * user's account, contacts with their safety numbers and decrypted history as JSON, 0600; `--encrypt`
 * seals it in the keystore format so the file alone shows nothing; an existing file is not replaced
 * without --force.
 */
test("nano-client export writes the user's own data, plain or sealed", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await alice.setUp(relay, "hybrid");
    await bob.setUp(relay, "hybrid");
    await bob.send("alice", "hello export");
    assert.equal((await alice.receive()).length, 1);

    const plain = join(dir, "alice-export.json");
    await alice.json(["export", "--output", plain]);
    assert.equal(statSync(plain).mode & 0o777, 0o600);
    const document = JSON.parse(readFileSync(plain, "utf8")) as {
      format: string;
      account: { username: string };
      contacts: { username: string; safety_number: string }[];
      messages: { from: string; text: string }[];
    };
    assert.equal(document.format, "nano-client-export/v1");
    assert.equal(document.account.username, "alice");
    assert.deepEqual(
      document.messages.map((m) => [m.from, m.text]),
      [["bob", "hello export"]],
    );
    const [verified] = (await alice.json(["verify", "bob"])) as { safetyNumber: string }[];
    assert.deepEqual(
      document.contacts.map((c) => [c.username, c.safety_number.replace(/\s/g, "")]),
      [["bob", verified!.safetyNumber.replace(/\s/g, "")]],
    );

    const again = await alice.run(["export", "--output", plain]);
    assert.equal(errorOf(again).code, "output_exists");

    const sealed = join(dir, "alice-export.sealed");
    const exportPassphrase = "an export passphrase";
    await alice.json(["export", "--output", sealed, "--encrypt"], {
      env: { NANO_NEW_PASSPHRASE: exportPassphrase },
    });
    assert.ok(!readFileSync(sealed).includes("hello export"), "the sealed file shows nothing");
    const opened = JSON.parse(Buffer.from(await loadKeystore(sealed, exportPassphrase)).toString("utf8")) as {
      messages: { text: string }[];
    };
    assert.equal(opened.messages[0]!.text, "hello export");
  }));
