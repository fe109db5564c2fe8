// The protocol on every crypto provider, in Node: the node:crypto provider and the browser's provider on
// Node 24's own WebCrypto (detected, and @noble only), each pair of them in every mode, Alice on one and
// Bob on the other (test/browser/protocol-session.test.ts does the same in Chromium). The providers must
// agree on every byte: records, prekey signatures, seals, ratchet keys.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toHex, utf8 } from "../../src/crypto/bytes.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import type { CryptoProvider } from "../../src/crypto/provider/index.ts";
import { createWebProvider } from "../../src/crypto/web/index.ts";
import { NanoError } from "../../src/errors/index.ts";
import { decodeEnvelope } from "../../src/protocol/envelope.ts";
import { receiveMessage } from "../../src/protocol/receive-message.ts";
import { makeParty, publishBundle, receive, send, startWith } from "../support/conversation.ts";
import { ALL_SUITES, NOW } from "./_fixtures.ts";

const PROVIDERS: Record<string, () => Promise<CryptoProvider>> = {
  "node:crypto": async () => nodeProvider,
  "web (detected)": () => createWebProvider(),
  "web (noble)": () => createWebProvider({ use: "noble" }),
};
const PAIRS: [string, string][] = [
  ["node:crypto", "web (detected)"],
  ["web (noble)", "node:crypto"],
  ["web (detected)", "web (noble)"],
];

for (const [a, b] of PAIRS) {
  for (const suiteId of ALL_SUITES) {
    test(`suite ${suiteId}: alice on ${a}, bob on ${b}, a session both ways across ratchet steps`, async () => {
      const alice = await makeParty(await PROVIDERS[a]!(), "alice", suiteId, NOW);
      const bob = await makeParty(await PROVIDERS[b]!(), "bob", suiteId, NOW);
      await startWith(alice, await publishBundle(bob, NOW), NOW);
      const said: string[] = [];
      for (const [from, to, text] of [
        [alice, bob, "first contact"],
        [bob, alice, "reply"],
        [alice, bob, "step"],
        [bob, alice, "step back"],
      ] as const) {
        const envelope = await send(from, to.name, utf8(text), NOW);
        said.push(new TextDecoder().decode(await receive(to, from.name, envelope, from.record, NOW)));
      }
      assert.deepEqual(said, ["first contact", "reply", "step", "step back"]);
      // A body byte flipped: refused with the one decryption code, and Bob's session does not move.
      const forged = await send(alice, "bob", utf8("forged"), NOW);
      forged[forged.length - 1]! ^= 0x80;
      const before = toHex(bob.stores.sessionMap.get("alice")!);
      const outcome = await receiveMessage(bob.provider, bob.stores, {
        relaySender: "alice",
        envelope: decodeEnvelope(bob.provider, forged),
      });
      assert.equal(outcome.kind, "refused");
      assert.ok(outcome.kind === "refused" && NanoError.is(outcome.error, "decryption_failed"));
      assert.equal(toHex(bob.stores.sessionMap.get("alice")!), before);
    });
  }
}
