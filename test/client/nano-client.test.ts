import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { loadKeystore } from "../../src/client/keystore/keystore.ts";
import { NanoClient } from "../../src/client/nano-client.ts";
import { randomBytes, SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { withTempDir } from "./_helpers.ts";

const PASS = "a passphrase of some length";

test("NanoClient: init, open, status, contacts, outbox, and the seams that wait for the relay", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    const created = await NanoClient.init({
      home,
      mode: "quantum",
      passphrase: PASS,
      relay: "wss://relay.example",
    });
    assert.deepEqual(created.acceptedSuites, ["quantum", "hybrid"]);
    await assert.rejects(NanoClient.open({ home, passphrase: "wrong passphrase" }), (e: unknown) =>
      NanoError.is(e, "wrong_passphrase"),
    );
    await assert.rejects(NanoClient.open({ home: join(dir, "none"), passphrase: PASS }), (e: unknown) =>
      NanoError.is(e, "keystore_missing"),
    );
    await assert.rejects(
      NanoClient.open({ home, passphrase: PASS, relay: "http://relay.example" }),
      (e: unknown) => NanoError.is(e, "invalid_argument"),
    );

    const client = await NanoClient.open({ home, passphrase: PASS });
    try {
      const report = await client.status();
      assert.equal(report.mode, "quantum");
      assert.equal(report.relay, "wss://relay.example/");
      assert.equal(report.identityFingerprint, created.identityFingerprint);
      await client.outbox.enqueue({ recipient: "bob", envelope: utf8("sealed envelope") });
      assert.equal((await client.status()).outbox, 1);

      await client.home.store.putContact({
        username: "bob",
        identityRecord: randomBytes(16),
        pinnedSuite: SUITE_IDS.hybrid,
        verified: false,
        safetyNumberConfirmedAt: null,
        identityChanged: true,
        addedAt: 1,
        updatedAt: 1,
      });
      assert.equal((await client.contacts())[0]?.identityChanged, true);
      const blocked = client.send({ recipient: "bob", text: "hi", file: null, cryptoMode: null });
      await assert.rejects(blocked, (e: unknown) => NanoError.is(e, "contact_identity_changed"));
      // Accepting a changed identity needs the new record from the relay, as a claimed user.
      await assert.rejects(client.trust("bob"), (e: unknown) => NanoError.is(e, "username_not_claimed"));
      await assert.rejects(client.verify("bob", true), (e: unknown) =>
        NanoError.is(e, "contact_identity_changed"),
      );
      const unclaimed = (e: unknown) => NanoError.is(e, "username_not_claimed");
      await assert.rejects(
        client.send({ recipient: "carol", text: "hi", file: null, cryptoMode: "hybrid" }),
        unclaimed,
      );
      await assert.rejects(client.receive({ watch: false, saveDir: null, onMessage: () => {} }), unclaimed);
      // Checked before any network access (tests stay on loopback).
      await assert.rejects(client.claimUsername("Not A Name"), (e: unknown) =>
        NanoError.is(e, "invalid_argument"),
      );
    } finally {
      await client.close();
    }
    const again = await NanoClient.open({ home, passphrase: PASS });
    try {
      assert.equal((await again.outbox.pending())[0]?.recipient, "bob", "the outbox survives a restart");
    } finally {
      await again.close();
    }
  }));

test("an unlock started early (keystoreOpening, the CLI's) is taken only after the home's own checks", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    await NanoClient.init({ home, mode: "hybrid", passphrase: PASS });
    const keystore = join(home, "keystore");
    const { chmod } = await import("node:fs/promises");
    // A home writable by others is refused even with the keystore already open.
    await chmod(home, 0o770);
    await assert.rejects(
      NanoClient.open({ home, passphrase: PASS, keystoreOpening: loadKeystore(keystore, PASS) }),
      (e: unknown) => NanoError.is(e, "insecure_permissions"),
    );
    await chmod(home, 0o700);
    // A wrong passphrase fails where the keystore is read, with its own code.
    const wrong = loadKeystore(keystore, "not the passphrase at all");
    wrong.catch(() => {});
    await assert.rejects(
      NanoClient.open({ home, passphrase: "not the passphrase at all", keystoreOpening: wrong }),
      (e: unknown) => NanoError.is(e, "wrong_passphrase"),
    );
    const client = await NanoClient.open({
      home,
      passphrase: PASS,
      keystoreOpening: loadKeystore(keystore, PASS),
    });
    assert.equal((await client.status()).mode, "hybrid");
    await client.close();
  }));

test("an early unlock fails with the same codes as open's own: a damaged keystore, a missing one", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    await NanoClient.init({ home, mode: "hybrid", passphrase: PASS });
    const keystore = join(home, "keystore");
    const { readFile, rm, writeFile } = await import("node:fs/promises");
    const bytes = await readFile(keystore);
    bytes[bytes.length - 1]! ^= 0x01; // the sealed payload's tag
    await writeFile(keystore, bytes, { mode: 0o600 });
    const codeOf = async (keystoreOpening?: Promise<Uint8Array>) => {
      keystoreOpening?.catch(() => {});
      try {
        await NanoClient.open({ home, passphrase: PASS, ...(keystoreOpening ? { keystoreOpening } : {}) });
        return "opened";
      } catch (error) {
        return NanoError.is(error) ? error.code : String(error);
      }
    };
    const damaged = await codeOf();
    assert.notEqual(damaged, "opened");
    assert.equal(await codeOf(loadKeystore(keystore, PASS)), damaged);
    await rm(keystore);
    assert.equal(await codeOf(), "keystore_missing");
    assert.equal(await codeOf(loadKeystore(keystore, PASS)), "keystore_missing");
  }));

test("a home directory writable by others is refused before the passphrase is used", () =>
  withTempDir(async (dir) => {
    const home = join(dir, "h");
    await NanoClient.init({ home, mode: "hybrid", passphrase: PASS });
    const { chmod } = await import("node:fs/promises");
    await chmod(home, 0o770);
    await assert.rejects(NanoClient.open({ home, passphrase: PASS }), (e: unknown) =>
      NanoError.is(e, "insecure_permissions"),
    );
    await chmod(home, 0o750);
    const client = await NanoClient.open({ home, passphrase: PASS });
    await client.close();
  }));
