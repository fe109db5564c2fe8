import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fromHex, toHex } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { decodeBundleExact } from "../../src/protocol/bundle.ts";
import { decodeIdentityRecordExact } from "../../src/protocol/identity-record.ts";
import { DIRECTORY, receiveMessage } from "./_driver.ts";
import { type GoldenTranscript, importParty } from "./_golden.ts";

const dir = new URL("../golden/", import.meta.url);
const files = readdirSync(dir).filter((name) => name.endsWith(".json"));

test("golden transcripts exist for every suite", () => {
  assert.deepEqual(files.sort(), ["classical.json", "hybrid.json", "quantum.json"]);
});

for (const file of files) {
  test(`golden transcript ${file}: every envelope decrypts to its plaintext and every record matches`, async () => {
    const golden = JSON.parse(readFileSync(new URL(file, dir), "utf8")) as GoldenTranscript;
    const now = golden.now;
    const bundle = await decodeBundleExact(provider, fromHex(golden.bundle), now);
    assert.equal(toHex(bundle.record.encoded), golden.bob.record);
    const parties = { alice: await importParty(golden.alice), bob: await importParty(golden.bob) };
    const records = {
      alice: await decodeIdentityRecordExact(provider, fromHex(golden.alice.record)),
      bob: bundle.record,
    };
    parties.alice.contacts.set("bob", { record: records.bob, pin: golden.suite });
    DIRECTORY.publish(records.alice);
    assert.ok(golden.steps.length >= 5);
    for (const step of golden.steps) {
      const to = step.from === "alice" ? "bob" : "alice";
      const receiver = parties[to];
      if (step.receiverBefore !== null) receiver.sessionMap.set(step.from, fromHex(step.receiverBefore));
      const got = await receiveMessage(receiver, step.from, fromHex(step.envelope), { now });
      assert.equal(new TextDecoder().decode(got.content), step.plaintext);
      assert.equal(
        toHex(receiver.sessionMap.get(step.from)!),
        step.receiverSessions,
        `${file}: record after "${step.plaintext}"`,
      );
    }
  });
}
