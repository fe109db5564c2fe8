// The web app end to end with the client IN THE PAGE (issue 16): the production build served by a real
// relay process with `[web] enabled = true`, each browser user in its own Chromium context (its own
// IndexedDB: keystore, store, quarantine), real `nano-client` processes as CLI users. In each of the
// three modes an app user picks the mode and claims a name through the screens, gets a CLI user's
// message (one unread), answers it (the CLI receives it in that mode; the tick turns to delivered on
// the CLI's receipt), and a second app user starts a conversation from the list and they talk both
// ways. In hybrid: a 150 KB file from the screen received whole by the CLI, and one from the CLI saved
// from the screen byte for byte; the safety number's digits and QR code (rasterized and decoded) equal
// to the CLI's `verify`; the CLI user replacing their identity (the warning, the composer disabled,
// then accepted and the held message shown); the relay SIGKILLed, a message shown waiting and listed in
// the outbox, delivered after the restart; the page reloaded and the history still there. Then an
// identity behind a passphrase: reloaded, only the unlock screen; a wrong passphrase refused; the right
// one opens the same history; its export downloaded with that history; the account deleted at the relay
// and every database of it gone from the browser. No CSP violation and no page error all along.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import decodeQR from "qr/decode.js";
import { toHex } from "../../src/crypto/bytes.ts";
import type { SuiteName } from "../../src/crypto/suite-ids.ts";
import { MIN_KDF, Relay, setUpUsers, User, withTempDir } from "../e2e/_harness.ts";
import { temporaryWebBuild } from "../support/web-build.ts";
import { launchChromium, needChromium } from "./_chromium.ts";

const MODES: readonly SuiteName[] = ["classical", "hybrid", "quantum"];
/** Bounded waits: the page's argon2id and first contacts are slow on the shared 2-core machine. */
const WAIT_MS = 60_000;

interface AppUser {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** CSP violations and uncaught page errors seen so far: none is expected. */
  readonly problems: string[];
}

/** Waits (bounded) for `check` in Node. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline; ) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe("the web app with the client in the page, a real relay serving it, and CLI users", () => {
  let finish: () => void = () => {};
  let finished: Promise<unknown> = Promise.resolve();
  let dir: string;
  let relay: Relay;
  let build: Awaited<ReturnType<typeof temporaryWebBuild>> | undefined;
  let browser: Browser | undefined;
  const users: AppUser[] = [];
  const cli = new Map<SuiteName, User>();
  let available = false;

  before(async (t) => {
    if (!needChromium(t as unknown as Parameters<typeof needChromium>[0])) return;
    const ready = new Promise<string>((resolve) => {
      finished = withTempDir(
        (made) =>
          new Promise<void>((release) => {
            resolve(made);
            finish = release;
          }),
      );
    });
    dir = await ready;
    build = await temporaryWebBuild();
    relay = new Relay(dir, null, `[web]\nenabled = true\nstatic_dir = "${build.outDir}"\n`);
    await relay.start();
    const peers = await Promise.all(MODES.map((mode) => setUpUsers(relay, dir, mode, `cli-${mode}`)));
    for (const [i, mode] of MODES.entries()) cli.set(mode, peers[i]![0]!);
    browser = await launchChromium();
    available = true;
  });

  after(async () => {
    for (const user of users) await user.context.close().catch(() => {});
    await browser?.close();
    await relay?.stop();
    await build?.remove();
    finish();
    await finished;
  });

  const waitScreen = (page: Page, name: string) =>
    page.waitForFunction((wanted) => document.body.dataset.screen === wanted, name, { timeout: WAIT_MS });

  /** The app from the relay's origin, in a fresh context (a browser profile of its own). */
  async function openApp(name: string): Promise<AppUser> {
    const context = await browser!.newContext({
      viewport: { width: 1000, height: 760 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    await page.exposeFunction("nanoReportViolation", (text: string) => problems.push(`CSP: ${text}`));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        (globalThis as unknown as { nanoReportViolation(text: string): void }).nanoReportViolation(
          `${event.violatedDirective} ${event.blockedURI}`,
        );
      });
    });
    await page.goto(`${relay.url}/`);
    const user = { name, context, page, problems };
    users.push(user);
    return user;
  }

  /** Through the screens: the mode (and a passphrase, typed twice), then the name. */
  async function register(user: AppUser, mode: SuiteName, passphrase: string | null = null): Promise<void> {
    await waitScreen(user.page, "create-identity");
    await user.page.check(`#mode-${mode}`);
    if (passphrase !== null) {
      await user.page.fill("#new-passphrase", passphrase);
      await user.page.fill("#new-passphrase-again", passphrase);
    }
    await user.page.click("text=Create my identity");
    await waitScreen(user.page, "claim-username");
    await user.page.fill("#username", user.name);
    await user.page.keyboard.press("Enter");
    await waitScreen(user.page, "conversations");
  }

  async function openConversation(user: AppUser, peer: string): Promise<void> {
    await user.page.evaluate((name) => {
      location.hash = `#/chat/${encodeURIComponent(name)}`;
    }, peer);
    await waitScreen(user.page, "conversation");
  }

  async function sendInScreen(user: AppUser, text: string): Promise<void> {
    await user.page.fill("#compose-text", text);
    await user.page.keyboard.press("Enter");
    await user.page.waitForFunction(
      (wanted) => [...document.querySelectorAll("li.out .text")].some((node) => node.textContent === wanted),
      text,
      { timeout: WAIT_MS },
    );
  }

  const tickOf = (user: AppUser, text: string) =>
    user.page.evaluate((wanted) => {
      const item = [...document.querySelectorAll("li.out")].find(
        (li) => li.querySelector(".text")?.textContent === wanted,
      );
      return item?.querySelector(".delivery")?.getAttribute("aria-label") ?? null;
    }, text);

  const texts = (user: AppUser) =>
    user.page.$$eval("li .text", (nodes) => nodes.map((node) => node.textContent ?? ""));

  const shots = process.env.NANO_WEB_SCREENSHOTS;
  async function screenshot(user: AppUser, name: string): Promise<void> {
    if (shots === undefined || shots === "") return;
    await user.page.screenshot({ path: join(shots, `web-real-${name}-desktop.png`), fullPage: true });
    await user.page.setViewportSize({ width: 390, height: 844 });
    await user.page.screenshot({ path: join(shots, `web-real-${name}-phone.png`), fullPage: true });
    await user.page.setViewportSize({ width: 1000, height: 760 });
  }

  for (const mode of MODES) {
    it(`${mode}: an app user registers in the page and talks both ways with a CLI user and another app user`, async (t) => {
      if (!available) return t.skip("Chromium is missing");
      const web = await openApp(`web-${mode}`);
      await register(web, mode);
      const peer = cli.get(mode)!;

      // The CLI user writes first: the conversation appears with one unread, then is read.
      await peer.send(web.name, `hello ${web.name}`);
      await web.page.waitForSelector(`li[data-peer=cli-${mode}] .badge`, { timeout: WAIT_MS });
      assert.equal(await web.page.textContent(`li[data-peer=cli-${mode}] .badge`), "1");
      await web.page.click(`li[data-peer=cli-${mode}] a`);
      await waitScreen(web.page, "conversation");
      await web.page.waitForSelector(`li.in >> text=hello ${web.name}`);
      if (mode === "hybrid") {
        // A disappearing message (the CLI's --expire): the page shows when it goes.
        await peer.send(web.name, "this one disappears", ["--expire", "1h"]);
        await web.page.waitForSelector('li.in:has-text("this one disappears") .expires', {
          timeout: WAIT_MS,
        });
      }
      await sendInScreen(web, `hello ${peer.name}`);
      const got = await peer.receive();
      assert.deepEqual(
        got.map((m) => [m.sender, m.suite, m.text]),
        [[web.name, mode, `hello ${peer.name}`]],
      );
      await until(
        "the delivered tick",
        async () => (await tickOf(web, `hello ${peer.name}`)) === "delivered",
      );

      // A second app user starts a conversation from the list and they talk both ways.
      const other = await openApp(`app2-${mode}`);
      await register(other, mode);
      await other.page.fill("#new-peer", web.name);
      await other.page.keyboard.press("Enter");
      await waitScreen(other.page, "conversation");
      await sendInScreen(other, `hi from ${other.name}`);
      await web.page.click("text=← All conversations");
      await web.page.waitForSelector(`li[data-peer=${other.name}] .badge`, { timeout: WAIT_MS });
      await openConversation(web, other.name);
      await web.page.waitForSelector(`li.in >> text=hi from ${other.name}`);
      await sendInScreen(web, `welcome ${other.name}`);
      await other.page.waitForSelector(`li.in >> text=welcome ${other.name}`, { timeout: WAIT_MS });
      await until(
        "the other's delivered tick",
        async () => (await tickOf(other, `hi from ${other.name}`)) === "delivered",
      );
      if (mode === "hybrid") await screenshot(web, "conversations-list");
      assert.deepEqual([...web.problems, ...other.problems], []);
    });
  }

  it("hybrid: a file both ways, the safety number and its QR equal to the CLI's, an identity change, a relay SIGKILL, a reload", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const web = users.find((user) => user.name === "web-hybrid")!;
    const peer = cli.get("hybrid")!;
    await openConversation(web, peer.name);

    // A file from the screen arrives whole at the CLI's.
    const bytes = Buffer.from(new Uint8Array(150_000).map((_, i) => (i * 7) & 0xff));
    await web.page.setInputFiles("#compose-file", {
      name: "photo.bin",
      mimeType: "application/octet-stream",
      buffer: bytes,
    });
    await web.page.waitForSelector("li.out .file >> text=photo.bin", { timeout: WAIT_MS });
    const lines = (await peer.json(["receive", "--save-dir", join(dir, "cli-files")])) as {
      attachment?: { path: string };
    }[];
    const saved = lines.find((line) => line.attachment !== undefined)?.attachment?.path;
    assert.ok(saved !== undefined, JSON.stringify(lines));
    assert.deepEqual(readFileSync(saved), bytes);
    // ...and one from the CLI, kept sealed in the page's IndexedDB, saves from the screen byte for byte.
    const back = join(dir, "from-cli.bin");
    writeFileSync(back, bytes.subarray(0, 70_000));
    await peer.json(["send", web.name, "--file", back]);
    await web.page.waitForSelector("li.in .file button", { timeout: WAIT_MS });
    const download = web.page.waitForEvent("download");
    await web.page.click("li.in .file button");
    assert.deepEqual(readFileSync((await (await download).path())!), bytes.subarray(0, 70_000));
    await screenshot(web, "conversation");

    // The safety number: the digits and the QR code's payload are the CLI's.
    const [verify] = (await peer.json(["verify", web.name])) as { safetyNumber: string; qrPayload: string }[];
    await web.page.click("text=Safety number");
    await waitScreen(web.page, "verify");
    await web.page.waitForSelector("svg.qr");
    const digits = await web.page.$$eval(".digits span", (spans) =>
      spans.map((span) => span.textContent).join(" "),
    );
    assert.equal(digits, verify!.safetyNumber);
    const image = await web.page.evaluate(async () => {
      const svg = document.querySelector("svg.qr")!;
      const blob = new Blob([new XMLSerializer().serializeToString(svg)], { type: "image/svg+xml" });
      const url = URL.createObjectURL(blob);
      const picture = new Image(180, 180);
      picture.src = url;
      await picture.decode();
      const canvas = document.createElement("canvas");
      canvas.width = 180;
      canvas.height = 180;
      const context = canvas.getContext("2d")!;
      context.drawImage(picture, 0, 0, 180, 180);
      URL.revokeObjectURL(url);
      return Array.from(context.getImageData(0, 0, 180, 180).data);
    });
    let scanned = "";
    decodeQR(
      { width: 180, height: 180, data: new Uint8Array(image) },
      {
        textDecoder: (payload) => {
          scanned = toHex(payload);
          return "";
        },
      },
    );
    assert.equal(scanned, verify!.qrPayload);
    await web.page.fill("#typed-number", verify!.safetyNumber);
    await web.page.keyboard.press("Enter");
    await web.page.waitForSelector(".verified");
    await screenshot(web, "verify");

    // The CLI user replaces their identity: the screen warns and blocks until accepted.
    await peer.json(["init", "--replace", "--crypto-mode", "hybrid"]);
    await peer.send(web.name, "new keys, same person");
    await openConversation(web, peer.name);
    await web.page.waitForSelector(".banner.warn[role=alert]:not([hidden])", { timeout: WAIT_MS });
    assert.equal(await web.page.isDisabled("#compose-text"), true);
    assert.equal(await web.page.isDisabled(".composer button[type=submit]"), true);
    await screenshot(web, "identity-changed");
    await web.page.click("text=Accept the new identity");
    await web.page.waitForFunction(
      () => !document.querySelector<HTMLTextAreaElement>("#compose-text")!.disabled,
    );
    await web.page.waitForSelector("li.in >> text=new keys, same person", { timeout: WAIT_MS });
    await sendInScreen(web, "accepted");
    assert.ok((await peer.receive()).some((m) => m.text === "accepted"));

    // The relay dies: the message waits in the page's outbox (the screen says so), and goes when it is back.
    await relay.kill();
    await sendInScreen(web, "sent while the relay was down");
    assert.equal(await tickOf(web, "sent while the relay was down"), "waiting to be sent");
    await web.page.click("nav >> text=Outbox");
    await waitScreen(web.page, "outbox");
    await web.page.waitForSelector("ul.pending li >> text=sent while the relay was down");
    await screenshot(web, "outbox");
    await relay.start();
    await web.page.waitForFunction(() => document.querySelectorAll("ul.pending li").length === 0, undefined, {
      timeout: WAIT_MS,
    });
    assert.ok((await peer.receive()).some((m) => m.text === "sent while the relay was down"));

    // The page reloaded: the identity opens by itself (no passphrase) and the history is still there.
    await openConversation(web, peer.name);
    const before = await texts(web);
    await web.page.reload();
    await waitScreen(web.page, "conversation");
    await web.page.waitForSelector("li.in >> text=new keys, same person", { timeout: WAIT_MS });
    assert.deepEqual(await texts(web), before);
    assert.ok(before.includes("sent while the relay was down") && before.includes(`hello ${web.name}`));
    assert.deepEqual(web.problems, []);
  });

  it("two tabs on one identity: the second shows the busy screen, the first keeps working, closing the first lets the second start", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const web = await openApp("web-tabs");
    await register(web, "classical");
    const peer = cli.get("classical")!;
    // The same browser profile, a second tab: the store's Web Lock is held by the first.
    const second = await web.context.newPage();
    second.on("pageerror", (error) => web.problems.push(`second tab: ${error.message}`));
    await second.goto(`${relay.url}/#/chats`);
    await waitScreen(second, "store-busy");
    assert.match((await second.textContent("[role=alert]")) ?? "", /already open in another tab/);
    assert.equal(await second.isVisible("#store-busy-retry"), true);
    // Pressed while the first tab is still open: still busy, nothing else opened.
    await second.click("#store-busy-retry");
    await waitScreen(second, "store-busy");

    // The first tab is unharmed: it sends and the CLI user receives.
    await openConversation(web, peer.name);
    await sendInScreen(web, "from the first tab");
    assert.ok((await peer.receive()).some((m) => m.text === "from the first tab"));

    // The first tab closed: the second takes over, with the first's history.
    await web.page.close();
    await second.click("#store-busy-retry");
    await waitScreen(second, "conversations");
    await second.evaluate((name) => {
      location.hash = `#/chat/${encodeURIComponent(name)}`;
    }, peer.name);
    await waitScreen(second, "conversation");
    await second.waitForSelector("li.out .text >> text=from the first tab", { timeout: WAIT_MS });
    assert.deepEqual(web.problems, []);
  });

  it("storage: creating an identity asks the browser to keep the data; the settings say whether it may evict it, with the export as the advice", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const web = await openApp("web-kept");
    // Counts the page's calls to the browser's own persist() (which still answers): headless Chromium
    // grants by site engagement and refuses here, so its answer alone cannot show that the app asked.
    await web.page.addInitScript(() => {
      const asked = globalThis as unknown as { nanoPersistAsked: number };
      asked.nanoPersistAsked = 0;
      const persist = StorageManager.prototype.persist;
      StorageManager.prototype.persist = function (this: StorageManager) {
        asked.nanoPersistAsked += 1;
        return persist.call(this);
      };
    });
    await web.page.reload();
    const askedCount = () =>
      web.page.evaluate(() => (globalThis as unknown as { nanoPersistAsked: number }).nanoPersistAsked);
    // The settings built anew each time (from another screen: the same fragment would not navigate).
    const durability = async () => {
      await web.page.evaluate(() => {
        location.hash = "#/about";
      });
      await waitScreen(web.page, "about");
      await web.page.evaluate(() => {
        location.hash = "#/settings";
      });
      await waitScreen(web.page, "settings");
      await web.page.waitForSelector("#storage-durability[data-state]");
      return web.page.getAttribute("#storage-durability", "data-state");
    };
    assert.equal(await durability(), "evictable");
    assert.equal(await askedCount(), 0);
    await web.page.evaluate(() => {
      location.hash = "#/new";
    });
    await register(web, "classical");
    assert.equal(await askedCount(), 1, "creating the identity asks for persistent storage");
    // Refused: the settings say the browser may delete the data, advise the export, offer to ask again.
    assert.equal(await durability(), "evictable");
    assert.match((await web.page.textContent("#storage-durability")) ?? "", /may delete.*Export your data/);
    await web.page.click("#storage-keep");
    await until("the second ask", async () => (await askedCount()) === 2);
    // A browser that keeps the data (the permission granted, as for an installed app): the settings say so.
    const tab = await web.context.newCDPSession(web.page);
    const { targetInfo } = await tab.send("Target.getTargetInfo");
    await tab.detach();
    const chromium = await browser!.newBrowserCDPSession();
    // (The grant lasts while this session is attached.)
    await chromium.send("Browser.grantPermissions", {
      origin: relay.url,
      browserContextId: targetInfo.browserContextId,
      permissions: ["durableStorage"],
    });
    assert.equal(await durability(), "persistent");
    assert.equal(await web.page.isVisible("#storage-keep"), false);
    await chromium.detach();
    assert.deepEqual(web.problems, []);
  });

  it("a hostile peer: markup, bidirectional overrides, zero-width characters, a 10,000-character line and an HTML file are shown as text, nothing runs, the page does not widen", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const web = await openApp("web-hostile");
    await register(web, "classical");
    const peer = cli.get("classical")!;
    const hostile = [
      `<img src=x onerror="document.body.dataset.pwned='img'"><script>document.body.dataset.pwned='script'</script>`,
      "invoice\u202Egnp.exe and \u2066isolated\u2069 text",
      "zero\u200Bwidth\u200Djoin\uFEFFbom",
      "W".repeat(10_000),
    ];
    for (const text of hostile) await peer.send(web.name, text);
    const html = join(dir, "payload.html");
    writeFileSync(html, `<script>document.body.dataset.pwned='file'</script><svg onload="alert(1)"/>`);
    await peer.json(["send", web.name, "--file", html]);
    await openConversation(web, peer.name);
    await web.page.waitForSelector("li.in .file button", { timeout: WAIT_MS });
    await until("every hostile text", async () => (await texts(web)).length >= hostile.length);
    // Each text exactly as sent, as text: no element was made from it, nothing ran.
    assert.deepEqual(
      (await texts(web)).filter((text) => hostile.includes(text)),
      hostile,
    );
    assert.equal(
      await web.page.$$eval("main img, main script, main svg:not(.qr)", (nodes) => nodes.length),
      0,
    );
    assert.equal(await web.page.evaluate(() => document.body.dataset.pwned ?? null), null);
    // A phone-width screen: the 10,000-character line wraps, the page never scrolls sideways.
    await web.page.setViewportSize({ width: 390, height: 844 });
    assert.equal(
      await web.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
      true,
      "the page scrolls sideways",
    );
    await web.page.setViewportSize({ width: 1000, height: 760 });
    // The HTML file is a download under its own name, never a page of this origin.
    const at = web.page.url();
    const download = web.page.waitForEvent("download");
    await web.page.click("li.in .file button");
    const file = await download;
    assert.equal(file.suggestedFilename(), "payload.html");
    assert.equal(web.page.url(), at);
    assert.equal(web.context.pages().length, 1);
    assert.equal(await web.page.evaluate(() => document.body.dataset.pwned ?? null), null);
    assert.deepEqual(web.problems, []);
  });

  it("the tab closed while a message waits in the outbox (the relay down), twice: each is delivered exactly once from the reopened tab", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const web = await openApp("web-crash");
    await register(web, "classical");
    const peer = cli.get("classical")!;
    await openConversation(web, peer.name);
    // A session with the peer first (a first message needs the relay for the peer's keys).
    await sendInScreen(web, "before the relay went down");
    assert.ok((await peer.receive()).some((m) => m.text === "before the relay went down"));
    let page = web.page;
    const crashed: string[] = [];
    for (const text of ["sent, then the tab closed", "sent, then the tab closed again"]) {
      // The relay down, Send pressed, then the tab closed without its unload handlers while the
      // message waits in the page's outbox; the relay back, the app reopened (the relay serves it).
      await relay.kill();
      await page.fill("#compose-text", text);
      await page.keyboard.press("Enter");
      await page.waitForSelector(`li.out .text >> text=${text}`, { timeout: WAIT_MS });
      assert.equal(await tickOf({ ...web, page }, text), "waiting to be sent");
      crashed.push(text);
      await page.close({ runBeforeUnload: false });
      await relay.start();
      page = await web.context.newPage();
      page.on("pageerror", (error) => web.problems.push(`reopened: ${error.message}`));
      await page.goto(`${relay.url}/#/chat/${peer.name}`);
      await waitScreen(page, "conversation");
    }
    // The reopened tab sends what the closed one left in the outbox: the peer has each message once.
    const got: string[] = [];
    await until("both messages at the peer", async () => {
      got.push(...(await peer.receive()).filter((m) => m.sender === web.name).map((m) => m.text));
      return crashed.every((text) => got.includes(text));
    });
    got.push(...(await peer.receive()).filter((m) => m.sender === web.name).map((m) => m.text));
    assert.deepEqual(got.toSorted(), crashed.toSorted());
    // The outbox screen learns they went (the reopened tab's watch flushed them silently: the
    // messenger looks at the outbox from its start), and a fresh look finds it empty too.
    await page.click("nav >> text=Outbox");
    await waitScreen(page, "outbox");
    await page.waitForFunction(() => document.querySelectorAll("ul.pending li").length === 0, undefined, {
      timeout: WAIT_MS,
    });
    await page.reload();
    await page.click("nav >> text=Outbox");
    await waitScreen(page, "outbox");
    assert.equal(await page.locator("ul.pending li").count(), 0, "no row of a delivered message stays");
    // ...and the history shows each once.
    await page.goto(`${relay.url}/#/chat/${peer.name}`);
    await waitScreen(page, "conversation");
    await page.waitForSelector(`li.out .text >> text=${crashed[1]}`, { timeout: WAIT_MS });
    const shown = await page.$$eval("li.out .text", (nodes) => nodes.map((node) => node.textContent ?? ""));
    assert.deepEqual(
      shown.filter((text) => crashed.includes(text)),
      crashed,
    );
    assert.deepEqual(web.problems, []);
  });

  it("behind a passphrase: after a reload only the unlock screen; a wrong passphrase refused; the right one opens the same history; exported; deleted", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const web = await openApp("web-locked");
    await register(web, "hybrid", "correct horse battery staple");
    const peer = cli.get("hybrid")!;
    await peer.send(web.name, "kept behind a passphrase");
    await web.page.waitForSelector("li[data-peer=cli-hybrid] .badge", { timeout: WAIT_MS });
    await web.page.reload();
    await waitScreen(web.page, "unlock");
    await web.page.evaluate(() => {
      location.hash = "#/chats";
    });
    await waitScreen(web.page, "unlock");
    await web.page.fill("#unlock-passphrase", "wrong horse");
    await web.page.keyboard.press("Enter");
    await web.page.waitForSelector("text=wrong_passphrase", { timeout: WAIT_MS });
    await web.page.fill("#unlock-passphrase", "correct horse battery staple");
    await web.page.keyboard.press("Enter");
    await waitScreen(web.page, "conversations");
    await openConversation(web, peer.name);
    await web.page.waitForSelector("li.in >> text=kept behind a passphrase", { timeout: WAIT_MS });

    // Export: the SDK's export document, as a download, with the decrypted history in it.
    await web.page.click("nav >> text=Settings");
    await waitScreen(web.page, "settings");
    const download = web.page.waitForEvent("download");
    await web.page.click("text=Export my data");
    const exported = JSON.parse(readFileSync((await (await download).path())!, "utf8")) as {
      format: string;
      account: { username: string };
      messages: { from: string; text?: string }[];
    };
    assert.equal(exported.format, "nano-client-export/v1");
    assert.equal(exported.account.username, web.name);
    assert.deepEqual(
      exported.messages.map((m) => [m.from, m.text]),
      [[peer.name, "kept behind a passphrase"]],
    );

    // Deleting the account: gone at the relay, and every database of it gone from this browser.
    await web.page.fill("#delete-confirm", web.name);
    await web.page.click("text=Delete my account");
    await waitScreen(web.page, "create-identity");
    await web.page.reload();
    await waitScreen(web.page, "create-identity");
    const left = await web.page.evaluate(async () =>
      (await indexedDB.databases()).map((db) => db.name ?? "").filter((name) => name.startsWith("nano-")),
    );
    assert.deepEqual(left, []);
    // At the relay the name is now in its cooling-off period: the account is gone, not just forgotten here.
    const newcomer = new User(dir, "newcomer");
    await newcomer.json(["--relay", relay.url, "init", "--crypto-mode", "hybrid", ...MIN_KDF]);
    const claim = await newcomer.run(["claim-username", web.name]);
    assert.notEqual(claim.code, 0);
    assert.match(claim.stdout + claim.stderr, /username_cooling_off/);
    assert.deepEqual(web.problems, []);
  });
});
