// Attacks on the browser's local store and keystore in Chromium (docs/web.md "Browser storage",
// "Browser keystore"), as someone who can edit the profile's IndexedDB, as a failing machine, and as
// the store's own careless users. Each attack is a function of test/browser/pages/browser-store-attacks
// that reports what the store answered; every assertion here is a defence that must hold: a typed
// refusal, nothing committed lost, no half-commit ever shown.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { useBundledPage } from "./_bundled-page.ts";
import type { Outcome } from "./pages/browser-store-attacks/main.ts";

const PAGE = new URL("./pages/browser-store-attacks/", import.meta.url).pathname;

interface LoopState {
  committed: number;
  ended: string | null;
  memory?: number;
}

type Attacks = Record<string, (...params: unknown[]) => Promise<unknown>>;

describe("attacks on the browser store and keystore in Chromium", () => {
  const bundled = useBundledPage(PAGE);

  const call = <T>(target: Page, method: string, ...params: unknown[]): Promise<T> =>
    target.evaluate(
      ([m, p]) =>
        (globalThis as unknown as { nanoAttacks: Attacks }).nanoAttacks[m as string]!(...(p as unknown[])),
      [method, params] as const,
    ) as Promise<T>;

  const loopState = (target: Page): Promise<LoopState | undefined> =>
    target.evaluate(() => (globalThis as { loop?: LoopState }).loop);

  /** Starts the page's commit loop without waiting for it, and waits until `floor` rounds are acknowledged. */
  const startLoop = async (target: Page, name: string, keyHex: string, floor: number): Promise<void> => {
    await target.evaluate(
      ([n, k]) => {
        void (globalThis as unknown as { nanoAttacks: Attacks }).nanoAttacks.commitLoop!(n, k);
      },
      [name, keyHex] as const,
    );
    await target.waitForFunction(
      (f) => ((globalThis as { loop?: LoopState }).loop?.committed ?? 0) >= f,
      floor,
      { timeout: 60_000 },
    );
  };

  const cases: readonly [string, string, ...unknown[]][] = [
    ["sealed rows copied to another table or another row's key are local_record_tampered", "copiedRows"],
    ["rows under keys the store never writes: ignored, or kept as broken and refused", "oddKeys"],
    [
      "clear columns edited: sessions still ordered and bound by their seal, no history under a wrong peer",
      "columnsEdited",
    ],
    [
      "the key-check row deleted from a store with rows: refused under any key, nothing written",
      "keyCheckDeleted",
    ],
    [
      "a database without the store's object stores is local_store_damaged, not a DOMException",
      "missingObjectStores",
    ],
    [
      "the anchor flipped, not bytes, truncated, of a newer schema, or the store deleted under it",
      "anchorAttacks",
    ],
    [
      "a column update of a broken row keeps its stored bytes and it still reads as tampered",
      "brokenRowUpdated",
    ],
    [
      "a request of a commit that fails after it was made (ConstraintError) aborts the whole commit",
      "failedRequest",
    ],
    [
      "works that await run one at a time in call order; one that throws half-way writes nothing",
      "concurrentWorks",
    ],
    [
      "two opens at once: one is local_store_busy; close lets queued works commit and refuses later ones",
      "opensAndClose",
    ],
    ["re-entrancy and tables used after their work are refused; what the work wrote commits", "reentrancy"],
    [
      "rows of 8 and 16 MiB round-trip; a row key over 65535 bytes is refused and writes nothing",
      "largeRows",
    ],
    ["2,000 messages in one transaction: all back after a reopen, pruned in one", "manyRows", 2000],
    ["keystores swapped whole, or their wrapping keys alone, or entries of the wrong type", "keystoreSwaps"],
    [
      "keystore downgrades: no kdf, other versions, argon2id raised or lowered, truncated, an older blob",
      "keystoreDowngrades",
    ],
    [
      "the keystore's database made again without its object store, or at a newer schema: typed errors",
      "keystoreDatabaseReplaced",
    ],
    [
      "two creates of one keystore at once, then two passphrase changes (as two tabs make them): one wins whole",
      "keystoreRaces",
    ],
  ];

  for (const [title, method, ...params] of cases) {
    test(title, async (t) => {
      if (!bundled.available) return t.skip("Chromium is missing");
      const outcome = await call<Outcome>(bundled.page, method, ...params);
      assert.ok(outcome.ok, outcome.detail);
      t.diagnostic(outcome.detail.slice(0, 600));
    });
  }

  for (const how of ["upgrade", "delete"] as const) {
    test(`another page ${how === "upgrade" ? "opening a newer schema" : "deleting the database"} mid-loop: typed refusals, memory at the last acknowledged round`, async (t) => {
      if (!bundled.available) return t.skip("Chromium is missing");
      const outcome = await call<Outcome & { committed: number }>(
        bundled.page,
        "connectionClosedMidLoop",
        how,
      );
      assert.ok(outcome.ok, outcome.detail);
      t.diagnostic(`${outcome.committed} rounds acknowledged; ${outcome.detail}`);
    });
  }

  test("over quota (a real QuotaExceededError, the origin's quota lowered through DevTools): refused whole", async (t) => {
    if (!bundled.available) return t.skip("Chromium is missing");
    const context = await bundled.browser.newContext();
    try {
      const target = await context.newPage();
      await bundled.ready(target);
      const usage = await target.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
      const cdp = await context.newCDPSession(target);
      await cdp.send("Storage.overrideQuotaForOrigin", {
        origin: bundled.origin,
        quotaSize: usage + 4 * 1024 * 1024,
      });
      const outcome = await call<Outcome>(target, "overQuota", 16 * 1024 * 1024);
      assert.ok(outcome.ok, outcome.detail);
      t.diagnostic(outcome.detail);
      // A new store whose first commit (its key-check row) fails at open: typed, and the open lets go
      // of the store's lock, so the same store opens once there is room. Injected (a put that throws
      // QuotaExceededError): Chromium let a key-check row through even under a quota of one byte.
      const name = `full-${randomBytes(6).toString("hex")}`;
      assert.equal(await call<string>(target, "openNew", name, true), "browser_storage_unavailable");
      assert.equal(await call<string>(target, "openNew", name, false), "ok");
      await call(target, "destroy", name);
    } finally {
      await context.close();
    }
  });

  test("a second tab is refused while the first commits; the first closed abruptly, the second has every acknowledged round", async (t) => {
    if (!bundled.available) return t.skip("Chromium is missing");
    const context: BrowserContext = await bundled.browser.newContext();
    const name = `tabs-${randomBytes(6).toString("hex")}`;
    const keyHex = randomBytes(32).toString("hex");
    try {
      const first = await context.newPage();
      const second = await context.newPage();
      await bundled.ready(first);
      await bundled.ready(second);
      await startLoop(first, name, keyHex, 3);
      const refused = await call<Outcome & { rounds: number }>(second, "verifyLoop", name, keyHex);
      assert.match(refused.detail, /^local_store_busy/, "the second tab is refused while the first has it");
      const acknowledged = (await loopState(first))!.committed;
      await first.close({ runBeforeUnload: false });
      // The lock goes with the first tab's renderer, which the browser tears down on its own time.
      let found = await call<Outcome & { rounds: number }>(second, "verifyLoop", name, keyHex);
      for (let attempt = 0; attempt < 100 && found.detail.startsWith("local_store_busy"); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        found = await call<Outcome & { rounds: number }>(second, "verifyLoop", name, keyHex);
      }
      assert.ok(found.ok, found.detail);
      assert.ok(found.rounds >= acknowledged, `${found.rounds} rounds found, ${acknowledged} acknowledged`);
      t.diagnostic(`${acknowledged} acknowledged before the first tab closed, ${found.rounds} found`);
      await call(second, "destroy", name);
    } finally {
      await context.close();
    }
  });

  // Chromium fires `close` on a connection it closes by force and nothing on the transaction in flight:
  // before idb-requests.ts listened for it, the commit in flight (and every work queued behind it) hung.
  test("'Clear site data' (DevTools) mid-loop: the commit in flight and those after it are refused, none shown in memory", async (t) => {
    if (!bundled.available) return t.skip("Chromium is missing");
    const context = await bundled.browser.newContext();
    const name = `clear-${randomBytes(6).toString("hex")}`;
    const keyHex = randomBytes(32).toString("hex");
    try {
      const target = await context.newPage();
      await bundled.ready(target);
      await startLoop(target, name, keyHex, 3);
      const cdp = await context.newCDPSession(target);
      await cdp.send("Storage.clearDataForOrigin", { origin: bundled.origin, storageTypes: "indexeddb" });
      await target.waitForFunction(() => (globalThis as { loop?: LoopState }).loop?.ended != null, null, {
        timeout: 30_000,
      });
      const state = (await loopState(target))!;
      assert.equal(state.ended, "browser_storage_unavailable");
      assert.equal(state.memory, state.committed, "the open store shows the last acknowledged round");
      const reopened = await call<Outcome & { rounds: number }>(target, "verifyLoop", name, keyHex);
      assert.ok(reopened.ok, reopened.detail);
      assert.equal(reopened.rounds, 0, "cleared: the store starts empty (docs/web.md: Clear site data)");
      t.diagnostic(`${state.committed} acknowledged before the clear`);
    } finally {
      await context.close();
    }
  });
});
