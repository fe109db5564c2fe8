import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setUpUsers, type User, withRelay } from "./_harness.ts";

test("files and long texts go as attachments: uploaded, downloaded, verified, saved 0600", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = (await setUpUsers(relay, dir, "hybrid", "alice", "bob")) as [User, User];

    const file = join(dir, "photo.bin");
    const bytes = randomBytes(2 * 1024 * 1024 + 17);
    writeFileSync(file, bytes);
    const [sentFile] = (await alice.json(["send", "bob", "--file", file])) as {
      attachment: { size: number; filename: string };
    }[];
    assert.deepEqual(sentFile?.attachment, { size: bytes.length, filename: "photo.bin" });

    // Text above the envelope limit, from stdin: an attachment too, shown as text on arrival.
    const long = "a long line of text. ".repeat(4000);
    const [sentText] = (await alice.json(["send", "bob"], { input: long })) as {
      attachment: { size: number };
    }[];
    assert.equal(sentText?.attachment.size, Buffer.byteLength(long));

    const saveDir = join(dir, "saved");
    const received = (await bob.json(["receive", "--save-dir", saveDir])) as {
      contentType: string;
      text: string;
      attachment: { path: string; size: number } | null;
    }[];
    assert.equal(received.length, 2);
    assert.equal(received[0]?.contentType, "attachment");
    const path = received[0]!.attachment!.path;
    assert.equal(path, join(saveDir, "photo.bin"));
    assert.ok(readFileSync(path).equals(bytes), "the saved file is the sent file");
    assert.equal(statSync(path).mode & 0o077, 0, "saved files are private");
    assert.equal(received[1]?.contentType, "text");
    assert.equal(received[1]?.text, long);

    // The same name again never overwrites; without --save-dir files go to downloads/ in the home.
    await alice.json(["send", "bob", "--file", file]);
    await bob.json(["receive", "--save-dir", saveDir]);
    await alice.json(["send", "bob", "--file", file]);
    await bob.json(["receive"]);
    assert.deepEqual(readdirSync(saveDir).sort(), ["photo (2).bin", "photo.bin"]);
    assert.deepEqual(readdirSync(join(bob.home, "downloads")), ["photo.bin"]);
  }));

test("a file that cannot be saved (the save folder is not a folder) stays at the relay and arrives once it can", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = (await setUpUsers(relay, dir, "hybrid", "alice", "bob")) as [User, User];
    const file = join(dir, "report.bin");
    const bytes = randomBytes(100_000);
    writeFileSync(file, bytes);
    await alice.json(["send", "bob", "--file", file]);

    const blocked = join(dir, "not-a-folder");
    writeFileSync(blocked, "a file where the save folder should be");
    const failed = await bob.run(["receive", "--save-dir", blocked]);
    assert.notEqual(failed.code, 0, "the receive reports the local failure");
    assert.doesNotMatch(failed.stdout + failed.stderr, /was dropped/, "the message is not refused");

    const saveDir = join(dir, "saved");
    const received = (await bob.json(["receive", "--save-dir", saveDir])) as {
      attachment: { path: string } | null;
    }[];
    assert.equal(received.length, 1, "the message was still at the relay");
    assert.ok(readFileSync(received[0]!.attachment!.path).equals(bytes));
  }));
