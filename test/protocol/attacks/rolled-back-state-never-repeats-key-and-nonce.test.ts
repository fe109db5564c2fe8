import assert from "node:assert/strict";
import { test } from "node:test";
import { utf8 } from "../../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../../src/crypto/node-provider.ts";
import { decodeEnvelope } from "../../../src/protocol/envelope.ts";
import { pad } from "../../../src/protocol/padding.ts";
import { ALL_SUITES } from "../_fixtures.ts";
import { establishPair, send } from "../_parties.ts";

/**
 * Finding 6 of the protocol audit, protocol half (docs/protocol.md §8.5): the body key and nonce were a
 * deterministic function of the message key, so a session state put back by a restored backup or a
 * synced home (an older copy of the same row) sent its next message under the same ChaCha20-Poly1305
 * key AND nonce as the message already sent from that position: c1 XOR c2 = p1 XOR p2, and the
 * Poly1305 key repeats (forgeries). Mixing the per-message random header nonce into the derivation
 * means a replayed chain position never repeats key and nonce. (The client half, refusing a rolled-back
 * row, is in test/client/local-rollback.test.ts.)
 */
function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.min(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function body(envelope: Uint8Array): Uint8Array {
  const decoded = decodeEnvelope(provider, envelope);
  if (decoded.type === 1) throw new Error("expected a session message");
  // Without the 16-byte tag: the keystream part.
  return decoded.message.body.subarray(0, decoded.message.body.length - 16);
}

for (const suiteId of ALL_SUITES) {
  test(`${provider.suite(suiteId).name}: two messages from one rolled-back state never share key and nonce`, async () => {
    const { alice, a: afterReply } = await establishPair(suiteId);
    // A state in the middle of a sending chain (the step after Bob's reply is done): what is restored
    // is then used twice, as a restored copy of the session row would be.
    const a = (await send(afterReply, alice, "opens the chain")).state;
    assert.equal(a.mustStep, false);
    const p1 = utf8("the first message from this chain position");
    const p2 = utf8("a different text from the restored old row");
    const one = await send(a, alice, p1);
    const two = await send(a, alice, p2);
    const leak = xor(pad(p1), pad(p2));
    assert.notDeepEqual(
      xor(body(one.envelope), body(two.envelope)),
      leak,
      "c1 XOR c2 must not equal p1 XOR p2 (the keystream repeated)",
    );
    // Nor may the same plaintext produce the same ciphertext (deterministic key and nonce).
    const three = await send(a, alice, p1);
    assert.notDeepEqual(body(one.envelope), body(three.envelope));
  });
}
