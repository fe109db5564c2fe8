// The web app end to end in Chromium: a real relay process with `[web] enabled = true` serves the
// build from its origin and the page's self-test passes under the strict CSP with no violation. Then
// the attacks the build's defences exist for, each in the real browser: a changed script file (SRI
// blocks it, nothing runs), an injected inline script and event handler (CSP blocks them), a
// connection to another origin (connect-src blocks it), and a string written to an HTML sink
// (Trusted Types refuses it).
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { buildWebApp } from "../../scripts/web/build.ts";
import { tempDir, testConfig } from "../relay/fixtures/harness.ts";
import { RelayProcess } from "../relay/fixtures/processes.ts";
import { temporaryWebBuild } from "../support/web-build.ts";
import { launchChromium, needChromium } from "./_chromium.ts";
import { type StaticServer, serveStatic } from "./_static-server.ts";

type Build = Awaited<ReturnType<typeof temporaryWebBuild>>;

interface Watched {
  readonly page: Page;
  readonly console: string[];
  readonly violations: string[];
}

async function open(browser: Browser, url: string): Promise<Watched> {
  const page = await browser.newPage();
  const watched: Watched = { page, console: [], violations: [] };
  page.on("console", (message) => watched.console.push(`${message.type()}: ${message.text()}`));
  await page.exposeFunction("nanoReportViolation", (text: string) => watched.violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      (globalThis as unknown as { nanoReportViolation(text: string): void }).nanoReportViolation(
        `${event.violatedDirective} ${event.blockedURI}`,
      );
    });
  });
  await page.goto(url);
  return watched;
}

/** The page's outcome: "passed"/"failed" from the self-test, or "none" when no script ran. */
async function selfTestOutcome(page: Page): Promise<string> {
  try {
    await page.waitForFunction("document.body.dataset.selfTest !== undefined", undefined, {
      timeout: 20_000,
    });
  } catch {
    return "none";
  }
  return page.evaluate("document.body.dataset.selfTest") as Promise<string>;
}

describe("the web app in Chromium, served by a real relay", () => {
  let build: Build;
  let relay: RelayProcess | undefined;
  let browser: Browser | undefined;
  const servers: StaticServer[] = [];
  let copyDir: string;
  let copy: StaticServer;
  let available = false;

  before(async (t) => {
    if (!needChromium(t as unknown as Parameters<typeof needChromium>[0])) return;
    build = await temporaryWebBuild();
    // A local copy's server first: the relay must list its origin, and the copy is built for the relay.
    copyDir = join(tempDir("web-local-copy"), "web");
    copy = await serveStatic(copyDir);
    servers.push(copy);
    const dir = tempDir("web-relay");
    relay = new RelayProcess(
      testConfig({ web: { enabled: true, static_dir: build.outDir, allowed_origins: [copy.origin] } }, dir),
      dir,
    );
    await relay.start();
    await buildWebApp(copyDir, { relays: [relay.url] });
    browser = await launchChromium();
    available = true;
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
    for (const server of servers) await server.close();
    await build?.remove();
  });

  async function tamperedCopy(change: (dir: string) => void): Promise<string> {
    const dir = join(tempDir("web-tampered"), "web");
    await cp(build.outDir, dir, { recursive: true });
    change(dir);
    const server = await serveStatic(dir);
    servers.push(server);
    return server.origin;
  }

  const scriptOf = (dir: string): string =>
    join(dir, /src="\.\/(assets\/[^"]+\.js)"/.exec(readFileSync(join(dir, "index.html"), "utf8"))![1]!);

  it("loads from the relay's origin; the self-test passes with WebCrypto and no CSP violation", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const { page, console, violations } = await open(browser!, `${relay!.url}/#/about`);
    assert.equal(await selfTestOutcome(page), "passed", console.join("\n"));
    await page.waitForSelector("#summary");
    const summary = await page.textContent("#summary");
    assert.match(summary ?? "", /Self-test passed/);
    const sources = await page.$$eval("#implementations tr", (rows) =>
      rows.map((row) => row.textContent ?? ""),
    );
    assert.ok(
      sources.some((text) => /ml-kem-768\s*webcrypto/.test(text)),
      sources.join("|"),
    );
    assert.deepEqual(violations, []);
    // NANO_WEB_SCREENSHOTS=docs/screenshots writes the screenshots docs/web.md shows (desktop, phone).
    const shots = process.env.NANO_WEB_SCREENSHOTS;
    if (shots !== undefined && shots !== "") {
      await page.setViewportSize({ width: 1000, height: 760 });
      await page.screenshot({ path: join(shots, "web-self-test-desktop.png"), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(shots, "web-self-test-phone.png"), fullPage: true });
    }
    assert.deepEqual(
      console.filter((line) => line.startsWith("error")),
      [],
    );
    await page.close();
  });

  it("a changed script file is refused by SRI: nothing of it runs", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const origin = await tamperedCopy((dir) =>
      appendFileSync(scriptOf(dir), "\ndocument.title = 'tampered';"),
    );
    const { page, console } = await open(browser!, `${origin}/`);
    assert.equal(await selfTestOutcome(page), "none");
    assert.notEqual(await page.title(), "tampered");
    assert.ok(
      console.some((line) => /integrity/i.test(line)),
      `no integrity error reported: ${console.join("\n")}`,
    );
    await page.close();
  });

  it("an injected inline script and event handler are blocked by the CSP", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const origin = await tamperedCopy((dir) => {
      const index = join(dir, "index.html");
      const html = readFileSync(index, "utf8").replace(
        `<div id="app">`,
        `<div id="app"><script>document.title = "inline ran"</script><img src="/nothing.png" onerror="document.title = 'handler ran'">`,
      );
      writeFileSync(index, html);
    });
    const { page, violations } = await open(browser!, `${origin}/`);
    assert.equal(await selfTestOutcome(page), "passed", "the app itself still runs");
    const title = await page.title();
    assert.ok(title !== "inline ran" && title !== "handler ran", title);
    assert.ok(
      violations.some((text) => text.startsWith("script-src")),
      `no script-src violation: ${violations.join("|")}`,
    );
    await page.close();
  });

  it("connections to another origin and strings written to HTML sinks are refused", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const other = await serveStatic(tempDir("web-other"));
    servers.push(other);
    const { page, violations } = await open(browser!, `${relay!.url}/`);
    assert.equal(await selfTestOutcome(page), "passed");
    // no-cors: without the CSP this resolves (an opaque response), so a rejection is the CSP's.
    const fetched = await page.evaluate(
      (url) =>
        fetch(url, { mode: "no-cors" }).then(
          () => "allowed",
          () => "blocked",
        ),
      `${other.origin}/exfiltrate`,
    );
    assert.equal(fetched, "blocked");
    // The violation event reaches the test through an exposed function, after the rejection.
    for (let i = 0; i < 100 && !violations.some((text) => text.startsWith("connect-src")); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(
      violations.some((text) => text.startsWith("connect-src")),
      violations.join("|"),
    );
    const sink = await page.evaluate(() => {
      try {
        document.body.innerHTML = "<img src=x>";
        return "assigned";
      } catch (error) {
        return error instanceof TypeError ? "refused" : String(error);
      }
    });
    assert.equal(sink, "refused");
    await page.close();
  });

  /** Settings → "Test the connection": the page's own fetch to its relay, and what it said. */
  async function testConnection(page: Page): Promise<string> {
    await page.waitForFunction(() => document.body.dataset.screen === "settings");
    await page.click("text=Test the connection");
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>(".status")?.dataset.relay !== undefined,
    );
    return (await page.getAttribute(".status", "data-relay")) ?? "";
  }

  /** Opens a WebSocket from the page: "open", or how it failed (the CSP throws or errors it). */
  const socketOutcome = (page: Page, url: string): Promise<string> =>
    page.evaluate(
      (target) =>
        new Promise<string>((resolve) => {
          try {
            const socket = new WebSocket(target);
            socket.onopen = () => {
              socket.close();
              resolve("open");
            };
            socket.onerror = () => resolve("error");
          } catch (error) {
            resolve(`thrown ${(error as Error).name}`);
          }
        }),
      url,
    );

  it("the relay-served app reaches its relay at its own origin", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const { page, violations } = await open(browser!, `${relay!.url}/#/settings`);
    assert.equal(await page.inputValue("#relay-url"), new URL(relay!.url).origin);
    assert.equal(await testConnection(page), "reachable");
    assert.deepEqual(violations, []);
    await page.close();
  });

  it("a local copy built for the relay talks to it across origins; the relay's CORS list and the CSP bound it", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    // Listed at the relay and named in the copy's CSP: reachable, and the relay is the copy's default.
    const listed = await open(browser!, `${copy.origin}/#/settings`);
    assert.equal(await listed.page.inputValue("#relay-url"), new URL(relay!.url).origin);
    assert.equal(await testConnection(listed.page), "reachable");
    // The relay's WebSocket origin is in the copy's CSP too: the socket opens.
    const wsUrl = `${relay!.url.replace(/^http/, "ws")}/v1/ws`;
    assert.equal(await socketOutcome(listed.page, wsUrl), "open");
    assert.deepEqual(listed.violations, []);
    await listed.page.close();

    // The same files from an origin the relay does not list: CORS withholds the answer.
    const unlisted = await serveStatic(copyDir);
    servers.push(unlisted);
    const refused = await open(browser!, `${unlisted.origin}/#/settings`);
    assert.equal(await testConnection(refused.page), "relay_unreachable");
    await refused.page.close();

    // The relay-served build (no relay in its CSP) run from a folder and pointed at the relay by the
    // settings: the CSP refuses the connection, so the setting cannot widen what the page may reach.
    const plainCopy = await serveStatic(build.outDir);
    servers.push(plainCopy);
    const blocked = await open(browser!, `${plainCopy.origin}/#/settings`);
    await blocked.page.waitForFunction(() => document.body.dataset.screen === "settings");
    await blocked.page.fill("#relay-url", relay!.url);
    await blocked.page.click("text=Save relay");
    assert.equal(await testConnection(blocked.page), "relay_unreachable");
    assert.notEqual(await socketOutcome(blocked.page, wsUrl), "open");
    assert.ok(
      blocked.violations.some((text) => text.startsWith("connect-src")),
      blocked.violations.join("|"),
    );
    await blocked.page.close();
  });
});
