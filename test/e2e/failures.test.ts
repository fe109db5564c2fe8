import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadOwnIdentity } from "../../src/client/home/local-identity.ts";
import { NanoClient } from "../../src/client/nano-client.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { cli, errorOf, PASSPHRASE, REPO_ROOT, User, withRelay } from "./_harness.ts";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

test("clear errors: wrong passphrase, missing keystore, unknown username, unreachable relay, corrupt keystore", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await Promise.all([alice.setUp(relay, "hybrid"), bob.setUp(relay, "hybrid")]);
    await alice.send("bob", "kept safe");

    const wrong = await bob.run(["receive"], { env: { NANO_PASSPHRASE: "not the passphrase" } });
    assert.equal(wrong.code, 77);
    assert.equal(errorOf(wrong).code, "wrong_passphrase");

    const missing = await cli(["--home", join(dir, "nobody-home"), "--json", "status"]);
    assert.equal(missing.code, 66);
    assert.equal(errorOf(missing).code, "keystore_missing");
    assert.match(errorOf(missing).hint, /nano-client init/);

    const unknown = await alice.run(["send", "zed", "hello?"]);
    assert.equal(unknown.code, 66);
    assert.equal(errorOf(unknown).code, "account_not_found");

    const carol = new User(dir, "carol");
    await carol.json(["--relay", "http://127.0.0.1:9", "init"]);
    const unreachable = await carol.run(["claim-username", "carol"]);
    assert.equal(unreachable.code, 69);
    assert.equal(errorOf(unreachable).code, "relay_unreachable");
    const human = await cli(["--home", carol.home, "claim-username", "carol"]);
    assert.match(human.stderr, /^nano-client: cannot reach the relay at http:\/\/127\.0\.0\.1:9/);
    assert.match(human.stderr, /\nhint: /);
    assert.doesNotMatch(human.stderr, /at .*\.ts:\d+/, "no stack trace");

    // One flipped byte in the keystore: a clear error, and once repaired nothing was lost.
    const keystore = join(bob.home, "keystore");
    const original = readFileSync(keystore);
    const damaged = Buffer.from(original);
    damaged[damaged.length >> 1]! ^= 0x40;
    writeFileSync(keystore, damaged, { mode: 0o600 });
    const corrupt = await bob.run(["receive"]);
    assert.equal(corrupt.code, 65);
    assert.equal(errorOf(corrupt).code, "keystore_corrupt");
    writeFileSync(keystore, original, { mode: 0o600 });
    assert.deepEqual(
      (await bob.receive()).map((m) => m.text),
      ["kept safe"],
    );
  }));

test("interrupted keystore writes: a killed passphrase change leaves the old or the new keystore", () =>
  withRelay(async (relay, dir) => {
    const bob = new User(dir, "bob");
    await bob.setUp(relay, "hybrid");
    const passphrases = [PASSPHRASE, "second passphrase!", "third passphrase!!"];
    let current = 0;
    for (let round = 0; round < 4; round++) {
      const next = (current + 1) % passphrases.length;
      const child = spawn(
        process.execPath,
        [join(REPO_ROOT, "bin/nano-client.js"), "--home", bob.home, "passphrase"],
        {
          env: {
            ...process.env,
            NANO_PASSPHRASE: passphrases[current],
            NANO_NEW_PASSPHRASE: passphrases[next],
          },
          stdio: "ignore",
        },
      );
      const closed = new Promise((resolve) => child.on("close", resolve));
      // Kill somewhere between start-up and the end of the write (start-up and argon2id take ~0.5-1 s).
      await new Promise((resolve) => setTimeout(resolve, 300 + round * 250));
      child.kill("SIGKILL");
      await closed;
      const opened: number[] = [];
      for (const candidate of [current, next]) {
        const run = await bob.run(["status"], { env: { NANO_PASSPHRASE: passphrases[candidate] } });
        if (run.code === 0) opened.push(candidate);
        else assert.equal(errorOf(run).code, "wrong_passphrase", `round ${round}: ${run.stdout}`);
      }
      assert.equal(opened.length, 1, `round ${round}: exactly one passphrase opens the keystore`);
      current = opened[0]!;
    }
    const [status] = (await bob
      .run(["status"], { env: { NANO_PASSPHRASE: passphrases[current] } })
      .then((r) =>
        r.stdout
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as { username: string }),
      )) as { username: string }[];
    assert.equal(status?.username, "bob", "the identity survived every interruption");
  }));

test("a stolen home directory holds no key bytes and no plaintext", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await Promise.all([alice.setUp(relay, "hybrid"), bob.setUp(relay, "hybrid")]);
    const canaries = ["CANARY-ALICE-TO-BOB-4b1d", "CANARY-BOB-TO-ALICE-9c2e"];
    await alice.send("bob", canaries[0]!);
    await bob.receive();
    await bob.send("alice", canaries[1]!);
    await alice.receive();

    // Key material, read through the SDK with the passphrase the thief does not have.
    const secrets: Uint8Array[] = [];
    for (const user of [alice, bob]) {
      const client = await NanoClient.open({ home: user.home, passphrase: PASSPHRASE });
      try {
        for (const entry of client.home.seeds.suites) {
          // Copies: close() wipes the originals.
          for (const seed of [entry.signature, entry.kem, entry.agreement])
            if (seed) secrets.push(seed.slice());
        }
        const own = await loadOwnIdentity(nodeProvider, client.home.store, client.home.seeds);
        assert.ok(own !== null);
        secrets.push(own.deviceSeed.slice());
        const prekeys = await client.home.store.read((tables) => tables.listPrekeySecrets());
        // Unused one-time and signed prekeys end with their private seed (32 or 64 bytes).
        for (const prekey of prekeys) secrets.push(prekey.secret.slice(prekey.secret.length - 32));
      } finally {
        await client.close();
      }
    }
    const needles: Buffer[] = [];
    for (const text of [...canaries, "bob", "alice"].filter((t) => t.startsWith("CANARY"))) {
      needles.push(Buffer.from(text), Buffer.from(Buffer.from(text).toString("base64").slice(0, 16)));
    }
    for (const secret of secrets) {
      const bytes = Buffer.from(secret);
      needles.push(
        bytes,
        Buffer.from(bytes.toString("hex")),
        Buffer.from(bytes.toString("base64").slice(0, 24)),
      );
    }
    const files = [...filesUnder(alice.home), ...filesUnder(bob.home)].filter((f) => statSync(f).isFile());
    assert.ok(files.length >= 6);
    for (const file of files) {
      const content = readFileSync(file);
      for (const needle of needles) {
        assert.equal(
          content.indexOf(needle),
          -1,
          `${file} contains a canary or key bytes: ${needle.toString("hex").slice(0, 40)} ${needle.length}`,
        );
      }
    }
  }));
