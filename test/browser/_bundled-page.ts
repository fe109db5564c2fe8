/**
 * One Chromium with one tab on a bundled test page for a `describe` block: the page folder is built
 * (./_bundle.ts), served from loopback (./_static-server.ts), opened, and waited on until its
 * `#status` says `ready`; everything is closed after the block. Call `useBundledPage` inside the
 * `describe` callback: it registers the block's `before` and `after`.
 */
import { after, before, type TestContext } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type BuiltPage, bundlePage } from "./_bundle.ts";
import { launchChromium, needChromium } from "./_chromium.ts";
import { type StaticServer, serveStatic } from "./_static-server.ts";

export interface BundledPage {
  /** False when Chromium (or what `needs` asked for) is missing: the tests skip themselves. */
  readonly available: boolean;
  /** The tab opened at start. */
  readonly page: Page;
  readonly browser: Browser;
  /** http://127.0.0.1:PORT of the served page. */
  readonly origin: string;
  /** Opens the page in `target` (another tab or context) and waits until it says `ready`. */
  ready(target: Page): Promise<void>;
}

/** `needs` adds what else the block requires (vectors, …); false skips it as a missing Chromium does. */
export function useBundledPage(pageFolder: string, needs?: (t: TestContext) => boolean): BundledPage {
  let built: BuiltPage | undefined;
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let available = false;
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the bundled page's ${what} is not started (Chromium missing?)`);
    return value;
  };
  const fixture: BundledPage = {
    get available() {
      return available;
    },
    get page() {
      return started(page, "tab");
    },
    get browser() {
      return started(browser, "browser");
    },
    get origin() {
      return started(server, "server").origin;
    },
    async ready(target: Page) {
      await target.goto(`${fixture.origin}/`);
      await target.waitForFunction("document.getElementById('status')?.textContent === 'ready'");
    },
  };

  before(async (t) => {
    const context = t as unknown as TestContext;
    if (!needChromium(context) || (needs !== undefined && !needs(context))) return;
    built = await bundlePage(pageFolder);
    server = await serveStatic(built.dir);
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("pageerror", (error) => process.stderr.write(`page error: ${error.message}\n`));
    await fixture.ready(page);
    available = true;
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await built?.remove();
  });

  return fixture;
}
