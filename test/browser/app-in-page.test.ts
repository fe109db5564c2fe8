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
