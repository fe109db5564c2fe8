import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { NanoClient } from "../../src/client/nano-client.ts";
import { getSuiteByName, type SuiteName } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import {
  assembleBundle,
  CONTENT_TYPES,
  createIdentityRecord,
  encodeContent,
  generateIdentityKeys,
  MemoryStores,
  SELECTION,
  sendMessage,
  startSession,
} from "../../src/protocol/index.ts";
import { cli, PASSPHRASE, type Relay, setUpUsers, type User, withRelay } from "./_harness.ts";

/**
 * Finding 1 (and 2) of the protocol audit at the level a user sees it (docs/protocol.md §7.7,
 * docs/client.md "receive"): a real relay, real `nano-client` processes. Mallory is a registered account;
 * with the protocol library she builds a self-signed identity record for the username "alice" with her
 * own keys and sends Bob a first contact with it, authenticated to the relay as herself. Before the fix
 * `bob receive` printed it as a message from "alice" and pinned "alice" to Mallory's keys; when Bob
 * already knew Alice, the forgeries became held "identity changed" messages that filled his mailbox
 * until Alice's real message bounced. Now: a warning naming mallory on stderr, exit 0, nothing shown,
 * nothing stored, the forgery acknowledged.
 */

/** Mallory's forged first contact to `to`, posted to the relay under her own account. */
async function forgeAsAlice(mallory: User, to: string, mode: SuiteName, text: string): Promise<void> {
  const client = await NanoClient.open({ home: mallory.home, passphrase: PASSPHRASE });
  try {
    const link = await client.context.link();
    const suite = getSuiteByName(mode);
    const fetched = await link.api.fetchBundle(to, suite.id);
    const bundle = await assembleBundle(
      provider,
      fetched.bundle,
      fetched.oneTimePrekey === null ? [] : [fetched.oneTimePrekey],
    );
    // "alice", signed by keys only Mallory holds: it verifies as a record, it proves nothing about a name.
    const keys = await generateIdentityKeys(provider, "alice", [suite.id]);
    const forged = new MemoryStores(keys, await createIdentityRecord(provider, keys, suite.id));
    const started = await startSession(provider, forged, { bundle, selection: SELECTION.default });
    assert.equal(started.kind, "started");
    if (started.kind === "started") await forged.apply(started.writes);
    const content = encodeContent({
      type: CONTENT_TYPES.text,
      text,
      messageId: randomBytes(16),
      sentAt: Date.now(),
    });
    const sent = await sendMessage(provider, forged, { peer: to, content });
    assert.equal(sent.kind, "sent");
    if (sent.kind === "sent") await link.api.send(to, randomBytes(16).toString("hex"), sent.envelope);
  } finally {
    await client.close();
  }
}

interface ReceiveLines {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function receiveText(user: User): Promise<ReceiveLines> {
  return cli(["--home", user.home, "receive"]);
}

async function contactsOf(user: User): Promise<{ username: string; identityChanged?: boolean }[]> {
  const [line] = (await user.json(["contacts"])) as {
    contacts: { username: string; identityChanged?: boolean }[];
  }[];
  return line?.contacts ?? [];
}

test('bob receive refuses mallory\'s first contact as "alice" in every mode: a warning naming mallory, exit 0, nothing shown', () =>
  withRelay(async (relay: Relay, dir: string) => {
    const modes = ["classical", "hybrid", "quantum"] as const;
    const users = await Promise.all([
      setUpUsers(relay, dir, "hybrid", "mallory"),
      ...modes.map((mode) => setUpUsers(relay, dir, mode, `bob-${mode}`)),
    ]);
    const mallory = users[0]![0]!;
    for (const [index, mode] of modes.entries()) {
      const bob = users[index + 1]![0]!;
      await forgeAsAlice(mallory, bob.name, mode, "hi bob, it's alice, new phone");
      const run = await receiveText(bob);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stderr,
        /nano-client: refused a first contact from mallory: .*\(first_contact_sender_mismatch\)/,
      );
      assert.doesNotMatch(run.stdout, /alice|new phone/, `${mode}: nothing is shown as a message`);
      assert.match(run.stdout, /no new messages/);
      assert.deepEqual(await contactsOf(bob), [], `${mode}: no contact stored`);
      // Acknowledged: the next receive has nothing, and no warning again.
      const again = await receiveText(bob);
      assert.equal(again.code, 0);
      assert.equal(again.stderr, "");
      assert.match(again.stdout, /no new messages/);
    }
    // --json: a rejected line with firstContact and the relay sender; no message line.
    const bob = users[2]![0]!;
    await forgeAsAlice(mallory, bob.name, "hybrid", "json forgery");
    const lines = (await bob.json(["receive"])) as { rejected?: Record<string, unknown>; text?: string }[];
    assert.deepEqual(
      lines.filter((line) => line.text !== undefined),
      [],
    );
    const rejected = lines.find((line) => line.rejected !== undefined)?.rejected;
    assert.equal(rejected?.from, "mallory");
    assert.equal(rejected?.firstContact, true);
    assert.equal(rejected?.code, "first_contact_sender_mismatch");
  }));

test("bob knows alice: forgeries are refused and acknowledged, never held; alice's mail still fits the quota", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob, mallory] = await setUpUsers(relay, dir, "hybrid", "alice", "bob", "mallory");
    await alice!.send("bob", "the real alice");
    assert.deepEqual(
      (await bob!.receive()).map((m) => [m.sender, m.text]),
      [["alice", "the real alice"]],
    );
    // Four forgeries fill bob's mailbox of 4 (the relay holds them until bob receives).
    for (let i = 0; i < 4; i++) await forgeAsAlice(mallory!, "bob", "hybrid", `forged ${i}`);
    const run = await receiveText(bob!);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr.match(/refused a first contact from mallory/g)?.length, 4);
    assert.doesNotMatch(run.stderr, /identity changed/, "no identity-change notice");
    assert.deepEqual(
      await contactsOf(bob!).then((c) => c.map((x) => [x.username, x.identityChanged ?? false])),
      [["alice", false]],
    );
    // Acknowledged, so the mailbox has room: alice's next message is accepted and shown as hers.
    const sent = await alice!.send("bob", "still the real alice");
    assert.equal(sent.queued, false);
    assert.deepEqual(
      (await bob!.receive()).map((m) => [m.sender, m.text]),
      [["alice", "still the real alice"]],
    );
  }, "[limits]\nmailbox_max_messages = 4\n"));
