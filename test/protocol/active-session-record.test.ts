import assert from "node:assert/strict";
import { test } from "node:test";
import { SUITE_IDS, utf8 } from "../../src/crypto/index.ts";
import { nodeProvider as provider } from "../../src/crypto/node-provider.ts";
import { SELECTION } from "../../src/protocol/selection.ts";
import {
  decodeActiveSession,
  decodeContactSessions,
  encodeActiveSession,
  encodeContactSessions,
  SESSION_RECORD_VERSION,
} from "../../src/protocol/session-record.ts";
import { receiveMessage, sendMessage, startSession } from "./_driver.ts";
import { assertCode, NOW } from "./_fixtures.ts";
import { makeParty, publishBundle } from "./_parties.ts";

// sendMessage decodes only the active session and writes archived sessions back as stored bytes
// (session-record.ts decodeActiveSession / encodeActiveSession). It must produce exactly what the
// full decode + encode would, and a receive must still see every session.

/** Alice with several sessions to Bob: each startSession archives the previous active one. */
async function aliceWithArchived(count: number) {
  const alice = await makeParty("alice", SUITE_IDS.hybrid);
  const bob = await makeParty("bob", SUITE_IDS.hybrid);
  for (let i = 0; i <= count; i++) {
    const { bundle } = await publishBundle(bob, SUITE_IDS.hybrid);
    await startSession(alice.stores, bundle, SELECTION.default, { now: NOW + i });
    const first = await sendMessage(alice.stores, "bob", utf8(`hello ${i}`), { now: NOW + i });
    await receiveMessage(bob.stores, "alice", first, { now: NOW + i });
  }
  return { alice, bob };
}

test("active-only decode + encode equals the full round trip, byte for byte", async () => {
  const { alice } = await aliceWithArchived(3);
  const bytes = alice.stores.sessionMap.get("bob")!;
  const full = decodeContactSessions(provider, bytes);
  assert.equal(full.archived.length, 3);
  const partial = decodeActiveSession(provider, bytes);
  assert.equal(partial.archived.length, 3);
  assert.deepEqual(encodeActiveSession(partial.active, partial.archived), bytes);
  assert.deepEqual(encodeActiveSession(partial.active, partial.archived), encodeContactSessions(full));
  assert.deepEqual(partial.active, full.active);
  // No active session, no archived: the empty record.
  assert.deepEqual(encodeActiveSession(null, []), encodeContactSessions({ active: null, archived: [] }));
});

test("a send keeps the archived sessions' bytes and they still decrypt afterwards", async () => {
  const { alice, bob } = await aliceWithArchived(2);
  const before = decodeActiveSession(provider, alice.stores.sessionMap.get("bob")!);
  await sendMessage(alice.stores, "bob", utf8("on the active one"), { now: NOW + 10 });
  const after = decodeActiveSession(provider, alice.stores.sessionMap.get("bob")!);
  assert.deepEqual(after.archived, before.archived);
  assert.notDeepEqual(encodeActiveSession(after.active, []), encodeActiveSession(before.active, []));
  // A reply still decrypts (receives decode the whole record) and the archived sessions survive it.
  const reply = await sendMessage(bob.stores, "alice", utf8("reply"), { now: NOW + 11 });
  const received = await receiveMessage(alice.stores, "bob", reply, { now: NOW + 11 });
  assert.equal(new TextDecoder().decode(received.content), "reply");
  assert.equal(decodeContactSessions(provider, alice.stores.sessionMap.get("bob")!).archived.length, 2);
});

test("hostile records: typed errors from the active-only decoder too", async () => {
  const { alice } = await aliceWithArchived(1);
  const bytes = alice.stores.sessionMap.get("bob")!;
  for (let cut = 0; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 97))) {
    assert.throws(
      () => decodeActiveSession(provider, bytes.subarray(0, cut)),
      (e: unknown) =>
        ["truncated", "malformed", "unsupported_version"].includes((e as { code?: string }).code ?? ""),
      `cut at ${cut}`,
    );
  }
  await assertCode(() => decodeActiveSession(provider, Uint8Array.of(...bytes, 0)), "trailing_bytes");
  const badVersion = bytes.slice();
  badVersion[1] = 9;
  await assertCode(() => decodeActiveSession(provider, badVersion), "unsupported_version");
  // Archived count above the limit is refused before anything is read.
  const tooMany = encodeActiveSession(
    null,
    Array.from({ length: 6 }, () => new Uint8Array(4)),
  );
  await assertCode(() => decodeActiveSession(provider, tooMany), "malformed");
  // An archived length beyond the per-session maximum is refused before allocating.
  const huge = Uint8Array.of(0, SESSION_RECORD_VERSION, 0, 1, 0xff, 0xff, 0xff, 0xff);
  assert.throws(
    () => decodeActiveSession(provider, huge),
    (e: unknown) => ["malformed", "truncated"].includes((e as { code?: string }).code ?? ""),
  );
});
