import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { NanoClient } from "../../src/client/nano-client.ts";
import type { IncomingMessage, RejectedMessage } from "../../src/client/operations/receive.ts";
import { TEST_ARGON2ID } from "../client/_helpers.ts";
import { PASSPHRASE, withRelay } from "./_harness.ts";

// docs/attachments.md "Ciphertext format": 20-byte header, then chunks of 64 KiB + a 16-byte tag.
const HEADER = 20;
const SEALED_CHUNK = 65536 + 16;

/**
 * The blob stored since the last call. Blobs of refused downloads may stay: the receiver stops reading
 * at the first bad chunk, and the relay counts only a complete download as a fetch (then deletes).
 */
function newBlob(relayDir: string, seen: Set<string>): string {
  const root = join(relayDir, "blobs");
  const blobs = readdirSync(root)
    .filter((shard) => shard !== "tmp")
    .flatMap((shard) => readdirSync(join(root, shard)).map((name) => join(root, shard, name)))
    .filter((path) => !seen.has(path));
  assert.equal(blobs.length, 1, "exactly one new blob");
  seen.add(blobs[0]!);
  return blobs[0]!;
}

const chunk = (blob: Buffer, index: number) =>
  blob.subarray(HEADER + index * SEALED_CHUNK, HEADER + (index + 1) * SEALED_CHUNK);

/** Ways a relay (or its disk) can hand back other bytes than were uploaded, each with the code it earns. */
const TAMPERINGS: { name: string; code: string; alter: (blob: Buffer) => Buffer }[] = [
  {
    name: "a flipped bit in the middle",
    code: "attachment_chunk_invalid",
    alter: (blob) => {
      const copy = Buffer.from(blob);
      copy[HEADER + SEALED_CHUNK + 100]! ^= 0x01;
      return copy;
    },
  },
  {
    name: "the last chunk cut off",
    code: "attachment_truncated",
    alter: (blob) => blob.subarray(0, HEADER + 2 * SEALED_CHUNK),
  },
  {
    name: "two chunks swapped",
    code: "attachment_chunk_invalid",
    alter: (blob) =>
      Buffer.concat([
        blob.subarray(0, HEADER),
        chunk(blob, 1),
        chunk(blob, 0),
        blob.subarray(HEADER + 2 * SEALED_CHUNK),
      ]),
  },
  {
    name: "bytes appended",
    code: "attachment_trailing_data",
    alter: (blob) => Buffer.concat([blob, Buffer.alloc(10)]),
  },
];

test("an attachment altered at the relay is refused as it streams in: no file, no message, nothing committed", () =>
  withRelay(async (relay, dir) => {
    const open = (name: string) =>
      NanoClient.create({
        home: join(dir, name),
        mode: "hybrid",
        passphrase: PASSPHRASE,
        relay: relay.url,
        argon2id: TEST_ARGON2ID,
      });
    const alice = await open("alice");
    const bob = await open("bob");
    try {
      await alice.claimUsername("alice");
      await bob.claimUsername("bob");
      const saveDir = join(dir, "saved");
      const receiveAll = async () => {
        const messages: IncomingMessage[] = [];
        const rejected: RejectedMessage[] = [];
        await bob.receive({
          watch: false,
          saveDir,
          onMessage: (message) => {
            messages.push(message);
          },
          onRejected: (refusal) => {
            rejected.push(refusal);
          },
        });
        return { messages, rejected };
      };
      const seen = new Set<string>();
      const files = () => (existsSync(saveDir) ? readdirSync(saveDir) : []);
      const bytes = randomBytes(3 * 65536 + 1234);
      // Files (streamed to a temporary file) and long texts (streamed into memory) alike.
      const longText = "a line of a long text. ".repeat(10_000);
      for (const kind of ["file", "text"] as const) {
        for (const tampering of TAMPERINGS) {
          await alice.send({
            recipient: "bob",
            text: kind === "text" ? longText : null,
            file: kind === "file" ? { name: "photo.bin", bytes } : null,
            cryptoMode: null,
          });
          const blob = newBlob(relay.dir, seen);
          writeFileSync(blob, tampering.alter(readFileSync(blob)));
          const { messages, rejected } = await receiveAll();
          const what = `${kind}, ${tampering.name}`;
          assert.deepEqual(messages, [], `${what}: nothing shown`);
          assert.deepEqual(
            rejected.map((refusal) => refusal.code),
            [tampering.code],
            `${what}: refused with its code`,
          );
          assert.deepEqual(files(), [], `${what}: no file, not even a partial one`);
          assert.deepEqual(await bob.home.store.listReceived(), [], `${what}: nothing committed`);
        }
      }
      // The refusals changed no session state: the next attachment and text still arrive whole.
      await alice.send({
        recipient: "bob",
        text: null,
        file: { name: "photo.bin", bytes },
        cryptoMode: null,
      });
      await alice.send({ recipient: "bob", text: longText, file: null, cryptoMode: null });
      const { messages, rejected } = await receiveAll();
      assert.deepEqual(rejected, []);
      assert.equal(messages.length, 2);
      assert.ok(readFileSync(messages[0]!.attachment!.path).equals(bytes));
      assert.equal(messages[1]!.text, longText);
      assert.deepEqual(files(), ["photo.bin"]);
    } finally {
      await alice.close();
      await bob.close();
    }
  }));
