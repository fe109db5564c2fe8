// src/protocol in Chromium (issue 16, docs/web.md "The protocol in the browser"): the page bundles the
// protocol with the browser's crypto provider (both variants: WebCrypto by feature detection, and
// @noble only) and runs whole sessions in every mode; then Node (node:crypto) and the page talk to
// each other, and a session Node started continues in the page from its stored bytes alone.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toHex, utf8 } from "../../src/crypto/bytes.ts";
import { nodeProvider } from "../../src/crypto/node-provider.ts";
import { SUITE_IDS, type SuiteId } from "../../src/crypto/suite-ids.ts";
import {
  type ExportedParty,
  exportParty,
  importRecord,
  makeParty,
  receive,
  send,
  startWith,
} from "../support/conversation.ts";
import { useBundledPage } from "./_bundled-page.ts";
import type { WholeSession } from "./pages/protocol-session/main.ts";

const PAGE = new URL("./pages/protocol-session/", import.meta.url).pathname;
const VARIANTS = [
  ["detect", "WebCrypto+noble"],
  ["noble", "noble only"],
] as const;
const SUITES: readonly [SuiteId, string][] = [
  [SUITE_IDS.classical, "classical"],
  [SUITE_IDS.hybrid, "hybrid"],
  [SUITE_IDS.quantum, "quantum"],
];

type Failure = { error: string };
type SessionApi = Record<string, (...args: never[]) => Promise<unknown>>;

function ok<T>(value: T | Failure): T {
  if (typeof value === "object" && value !== null && "error" in value)
    assert.fail(`in the page: ${value.error}`);
  return value as T;
}

describe("src/protocol in Chromium", () => {
  const bundled = useBundledPage(PAGE);

  /** Calls `nanoSession[method](...args)` in the page; a failure there fails the test with its code. */
  async function inPage<T>(method: string, ...args: unknown[]): Promise<T> {
    const result = await bundled.page.evaluate(
      ([name, values]) =>
        (
          (globalThis as unknown as { nanoSession: SessionApi }).nanoSession[name] as (
            ...a: unknown[]
          ) => Promise<unknown>
        )(...values),
      [method, args] as const,
    );
    return ok(result as T | Failure);
  }

  test("the protocol in the page runs on the page's own primitives, none of them node:crypto", async (t) => {
    if (!bundled.available) return t.skip("Chromium is missing");
    for (const [variant] of VARIANTS) {
      const session = await inPage<WholeSession>("whole", variant, SUITE_IDS.classical, Date.now());
      const sources = Object.values(session.implementations);
      assert.ok(
        sources.length > 10 && sources.every((source) => source === "noble" || source === "webcrypto"),
      );
    }
  });

  for (const [variant, label] of VARIANTS) {
    for (const [suiteId, mode] of SUITES) {
      test(`${label}, ${mode}: a whole session in the page, and a tampered envelope is refused`, async (t) => {
        if (!bundled.available) return t.skip("Chromium is missing");
        const session = await inPage<WholeSession>("whole", variant, suiteId, Date.now());
        assert.deepEqual(session.received, [
          "first contact from alice",
          "bob replies",
          "alice steps",
          "same chain",
          "bob steps",
          "and again",
        ]);
        assert.equal(session.tampered, "decryption_failed");
      });

      test(`${label}, ${mode}: Node and the page talk both ways; a session Node started continues in the page`, async (t) => {
        if (!bundled.available) return t.skip("Chromium is missing");
        const now = Date.now();
        const bobId = `bob-${variant}-${suiteId}`;
        const aliceId = `alice-${variant}-${suiteId}`;
        // Bob lives in the page; Node verifies his record and every prekey signature the page made.
        const bob = await inPage<{ record: string; bundle: string }>(
          "create",
          variant,
          bobId,
          "bob",
          suiteId,
          now,
        );
        const bobRecord = await importRecord(nodeProvider, bob.record);
        const alice = await makeParty(nodeProvider, "alice", suiteId, now);
        // A record node:crypto signed verifies in the page; one flipped signature byte is refused there.
        assert.equal(await inPage<string>("checkRecord", variant, toHex(alice.record.encoded)), "alice");
        const forged = alice.record.encoded.slice();
        forged[forged.length - 1]! ^= 1;
        const refusal = await bundled.page.evaluate(
          ([v, hex]) =>
            (
              globalThis as unknown as {
                nanoSession: { checkRecord(v: string, r: string): Promise<string | { error: string }> };
              }
            ).nanoSession.checkRecord(v, hex),
          [variant, toHex(forged)] as const,
        );
        assert.deepEqual(refusal, { error: "invalid_signature" });
        await startWith(alice, Buffer.from(bob.bundle, "hex"), now);
        const aliceRecord = toHex(alice.record.encoded);
        const toPage = async (message: string) => {
          const envelope = await send(alice, "bob", utf8(message), now);
          return inPage<string>("receiveAt", bobId, "alice", toHex(envelope), aliceRecord, now);
        };
        const fromPage = async (message: string) => {
          const envelope = await inPage<string>("sendFrom", bobId, "alice", message, now);
          return new TextDecoder().decode(
            await receive(alice, "bob", Buffer.from(envelope, "hex"), bobRecord, now),
          );
        };
        assert.equal(
          await toPage("first contact, sealed by node:crypto"),
          "first contact, sealed by node:crypto",
        );
        assert.equal(await fromPage("reply from the page"), "reply from the page");
        assert.equal(await toPage("a step from Node"), "a step from Node");
        assert.equal(await toPage("same chain"), "same chain");
        assert.equal(await fromPage("a step from the page"), "a step from the page");
        assert.equal(await toPage("and one more"), "and one more");
        // Alice's session moves to the page as the bytes Node stored (keys from seeds, records verified
        // again there), and she goes on talking with Bob there: one format in both runtimes.
        const exported: ExportedParty = exportParty(alice);
        await inPage("importInto", variant, aliceId, exported);
        const envelope = await inPage<string>("sendFrom", aliceId, "bob", "alice, now in the page", now);
        assert.equal(
          await inPage<string>("receiveAt", bobId, "alice", envelope, aliceRecord, now),
          "alice, now in the page",
        );
        const back = await inPage<string>("sendFrom", bobId, "alice", "bob answers her there", now);
        assert.equal(
          await inPage<string>("receiveAt", aliceId, "bob", back, bob.record, now),
          "bob answers her there",
        );
      });
    }
  }
});
