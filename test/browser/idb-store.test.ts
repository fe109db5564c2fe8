// The IndexedDB local store in Chromium: the local store conformance suite (the same cases the SQLite
// store passes in Node, test/client/local-store-conformance.test.ts), and a fault test — the page is
// reloaded in the middle of a loop of commits; reopened, the store holds every committed transaction
// completely and none partly.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { CONFORMANCE_CASES } from "../client/local-store-conformance/_suite.ts";
import { type BuiltPage, bundlePage } from "./_bundle.ts";
import { launchChromium, needChromium } from "./_chromium.ts";
import { type StaticServer, serveStatic } from "./_static-server.ts";
import type { Outcome } from "./pages/browser-store/main.ts";

const PAGE = new URL("./pages/browser-store/", import.meta.url).pathname;

interface StorePage {
  run(index: number): Promise<Outcome>;
  commitLoop(name: string, keyHex: string): Promise<void>;
  verifyLoop(name: string, keyHex: string): Promise<Outcome & { rounds: number }>;
  destroy(name: string): Promise<void>;
}

describe("the IndexedDB local store in Chromium", () => {
  let built: BuiltPage | undefined;
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let available = false;

  const ready = async (target: Page): Promise<void> => {
    await target.goto(`${server!.origin}/`);
    await target.waitForFunction("document.getElementById('status')?.textContent === 'ready'");
  };

  before(async (t) => {
    if (!needChromium(t as unknown as Parameters<typeof needChromium>[0])) return;
    built = await bundlePage(PAGE);
    server = await serveStatic(built.dir);
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("pageerror", (error) => process.stderr.write(`page error: ${error.message}\n`));
    await ready(page);
    available = true;
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await built?.remove();
  });

  for (const [index, conformance] of CONFORMANCE_CASES.entries()) {
    test(`IndexedDB local store: ${conformance.name}`, async (t) => {
      if (!available) return t.skip("Chromium is missing");
      const outcome = await page!.evaluate(
        (i) => (globalThis as unknown as { nanoStore: StorePage }).nanoStore.run(i),
        index,
      );
      assert.ok(outcome.ok, outcome.detail);
    });
  }

  test("a page reloaded in the middle of a commit loop keeps every committed transaction whole", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const name = `fault-${randomBytes(6).toString("hex")}`;
    const keyHex = randomBytes(32).toString("hex");
    const loader = await browser!.newPage();
    try {
      for (let reload = 0; reload < 3; reload++) {
        await ready(loader);
        const before = await loader.evaluate(
          ([n, k]) => (globalThis as unknown as { nanoStore: StorePage }).nanoStore.verifyLoop(n, k),
          [name, keyHex] as const,
        );
        assert.ok(before.ok, `after reload ${reload}: ${before.detail}`);
        // Start the loop without awaiting it, let some commits land, then reload mid-commit.
        await loader.evaluate(
          ([n, k]) => {
            void (globalThis as unknown as { nanoStore: StorePage }).nanoStore.commitLoop(n, k);
          },
          [name, keyHex] as const,
        );
        await loader.waitForFunction(
          (floor) => ((globalThis as { committed?: number }).committed ?? 0) >= floor,
          5 + reload * 3,
          { timeout: 60_000 },
        );
        const committed = await loader.evaluate(() => (globalThis as { committed?: number }).committed ?? 0);
        await loader.reload();
        await loader.waitForFunction("document.getElementById('status')?.textContent === 'ready'");
        const found = await loader.evaluate(
          ([n, k]) => (globalThis as unknown as { nanoStore: StorePage }).nanoStore.verifyLoop(n, k),
          [name, keyHex] as const,
        );
        assert.ok(found.ok, `after reload ${reload + 1}: ${found.detail}`);
        // Resolved before the reload means committed: it is there. The loop went on until the page went
        // away, so more may be; verifyLoop checked that each one found is whole and none is missing.
        assert.ok(
          found.rounds >= before.rounds + committed,
          `${found.rounds} rounds, ${before.rounds + committed} were acknowledged`,
        );
        t.diagnostic(
          `reload ${reload + 1}: ${committed} acknowledged, ${found.rounds - before.rounds} found`,
        );
      }
    } finally {
      await loader
        .evaluate((n) => (globalThis as unknown as { nanoStore: StorePage }).nanoStore.destroy(n), name)
        .catch(() => {});
      await loader.close();
    }
  });
});
