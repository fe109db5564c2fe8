import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { NanoClient } from "../../src/client/nano-client.ts";
import { cli, errorOf, PASSPHRASE, Relay, User, withRelay } from "./_harness.ts";

/**
 * A loopback proxy in front of the relay that rewrites the `transparency` object of bundle responses
 * (`tamper`), passing everything else through byte for byte: a relay whose bundle proof is forged.
 */
async function tamperingProxy(
  target: string,
  tamper: (transparency: Record<string, unknown>) => void,
): Promise<{ url: string; server: Server }> {
  const upstream = new URL(target);
  const server = createServer((incoming, outgoing) => {
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: upstream.host },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.on("end", () => {
          let body = Buffer.concat(chunks);
          if (
            incoming.method === "GET" &&
            incoming.url?.startsWith("/v1/prekeys/") &&
            answer.statusCode === 200
          ) {
            const json = JSON.parse(body.toString("utf8")) as { transparency: Record<string, unknown> };
            tamper(json.transparency);
            body = Buffer.from(JSON.stringify(json));
          }
          const headers = { ...answer.headers, "content-length": String(body.length) };
          outgoing.writeHead(answer.statusCode ?? 502, headers);
          outgoing.end(body);
        });
      },
    );
    forward.on("error", () => outgoing.destroy());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * Key transparency against real relays (docs/client.md "Key transparency"): records are verified in
 * the relay's KT log on every account and bundle fetch, the log keys are pinned on first use, and a
 * relay that proves a record with another log (another key, another history) is refused before
 * anything is stored.
 */
test("key transparency: verify shows the proof; a relay with another log is refused, nothing stored", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await Promise.all([alice.setUp(relay, "hybrid"), bob.setUp(relay, "hybrid")]);
    await alice.send("bob", "proven first");
    assert.deepEqual(
      (await bob.receive()).map((m) => m.text),
      ["proven first"],
    );

    // verify prints the KT line (text) and carries it in --json.
    const text = await cli(["--home", alice.home, "verify", "bob"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /bob's identity is proven in the key-transparency log \(entry \d+\) at /);
    const [line] = (await alice.json(["verify", "bob"])) as {
      transparency: { proven: boolean; line: string; code: string | null };
    }[];
    assert.equal(line?.transparency.proven, true);
    assert.equal(line?.transparency.code, null);

    // The pinned keys and the tracker state are sealed in alice's local database.
    const sdk = await NanoClient.open({ home: alice.home, passphrase: PASSPHRASE });
    try {
      const stored = await sdk.home.store.read((tables) => ({
        keys: tables.getSecretMeta("kt-log-keys"),
        state: tables.getSecretMeta("kt-tracker-state"),
      }));
      assert.ok(stored.keys !== null && stored.state !== null);
      assert.match(new TextDecoder().decode(stored.state), /\/kt\n\d+\n/, "a checkpoint note");
    } finally {
      await sdk.close();
    }

    // A second relay with its own log (own signing keys): alice re-pointed at it refuses carol's
    // record, whose proof is signed by a log she never pinned.
    const otherDir = join(dir, "other-relay");
    mkdirSync(otherDir);
    const other = new Relay(otherDir);
    await other.start();
    try {
      const carol = new User(dir, "carol");
      await carol.setUp(other, "hybrid");
      await alice.json(["--relay", other.url, "claim-username", "alice"]);
      const refused = await alice.run(["--relay", other.url, "send", "carol", "which log?"]);
      assert.notEqual(refused.code, 0, `${refused.stdout}\n${refused.stderr}`);
      assert.match(errorOf(refused).code, /^checkpoint_/, errorOf(refused).message);
      const [contacts] = (await alice.json(["contacts"])) as { contacts: { username: string }[] }[];
      assert.deepEqual(
        contacts?.contacts.map((c) => c.username),
        ["bob"],
        "nothing stored for carol",
      );
      const [status] = (await alice.json(["status"])) as { outbox: number }[];
      assert.equal(status?.outbox, 0);

      // bob's proof fetched from the other relay (where no bob exists) cannot be proven either.
      const [elsewhere] = (await alice.json(["--relay", other.url, "verify", "bob"])) as {
        transparency: { proven: boolean; line: string };
      }[];
      assert.equal(elsewhere?.transparency.proven, false);
      assert.match(elsewhere?.transparency.line ?? "", /NOT proven/);
    } finally {
      await other.stop();
    }
    // The same relay behind a proxy that forges the bundle's inclusion proof: the account's proof
    // still holds, the bundle's does not, and the bundle is refused before any session is stored.
    const dave = new User(dir, "dave");
    await dave.setUp(relay, "hybrid");
    const proxy = await tamperingProxy(relay.url, (transparency) => {
      const proof = transparency.inclusion_proof as string[];
      proof[0] = Buffer.alloc(32, 0x5a).toString("base64");
    });
    try {
      const forged = await alice.run(["--relay", proxy.url, "send", "dave", "forged bundle?"]);
      assert.notEqual(forged.code, 0);
      assert.equal(errorOf(forged).code, "inclusion_proof_invalid", errorOf(forged).message);
    } finally {
      await new Promise((resolve) => proxy.server.close(resolve));
    }
    const [afterForgery] = (await alice.json(["contacts"])) as { contacts: { username: string }[] }[];
    assert.deepEqual(
      afterForgery?.contacts.map((c) => c.username),
      ["bob"],
      "nothing stored for dave",
    );
    // Without the proxy the first contact goes through.
    assert.equal((await alice.send("dave", "honest bundle")).newSession, true);

    // Back on the first relay, everything still verifies (the pin and the tracker were not moved).
    const [again] = (await alice.json(["verify", "bob"])) as { transparency: { proven: boolean } }[];
    assert.equal(again?.transparency.proven, true);
  }));

test("key transparency: a relay rolled back to an older log is a hard error, remembered across restarts", () =>
  withRelay(async (relay, dir) => {
    const alice = new User(dir, "alice");
    const bob = new User(dir, "bob");
    await Promise.all([alice.setUp(relay, "hybrid"), bob.setUp(relay, "hybrid")]);
    await alice.send("bob", "checkpoint one");

    // Snapshot the relay's database (its KT log and checkpoints), then let the log grow and alice see it.
    await relay.stop();
    const snapshot = join(dir, "snapshot");
    mkdirSync(snapshot);
    const files = readdirSync(dir).filter((name) => name.startsWith("relay.sqlite"));
    for (const name of files) copyFileSync(join(dir, name), join(snapshot, name));
    await relay.start();
    const dave = new User(dir, "dave");
    await dave.setUp(relay, "hybrid");
    await alice.send("dave", "the log grew");

    // The operator restores the old database: the relay now shows a smaller tree than alice holds.
    await relay.stop();
    for (const name of readdirSync(dir).filter((n) => n.startsWith("relay.sqlite"))) rmSync(join(dir, name));
    for (const name of files) copyFileSync(join(snapshot, name), join(dir, name));
    await relay.start();
    const rolledBack = await alice.run(["verify", "bob"]);
    assert.notEqual(rolledBack.code, 0);
    assert.equal(errorOf(rolledBack).code, "log_rollback_detected", errorOf(rolledBack).message);
    // Every new process (a restart of alice's client) still refuses: the held checkpoint was persisted.
    const send = await alice.run(["send", "bob", "after the rollback"]);
    assert.equal(errorOf(send).code, "log_rollback_detected");
    const [status] = (await alice.json(["status"])) as { outbox: number }[];
    assert.equal(status?.outbox, 0, "nothing queued behind a hard error");
  }));
