// The app's screens in Chromium over the REAL client, which runs in Node for now (the page's calls
// cross a bridge: pages/app-bridged/bridged-messenger.ts; ClientMessenger over NanoClient), against a
// real relay process and CLI users: in each of the three modes, a user of the app creates an identity
// and claims a name through the screens, then talks both ways with a CLI user and with a second app
// user; in hybrid, a file both ways, the safety number (digits and a QR code decoded back) equal to
// the CLI's, the peer replacing their identity (sending blocked until accepted in the screen), and a
// message sent while the relay is SIGKILLed kept in the outbox and delivered when it is back. What this
// does NOT prove is the client running in the page: that waits for src/protocol on the browser's
// crypto provider (docs/web.md "Limits"); the crypto and the relay here are real.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import decodeQR from "qr/decode.js";
import { toHex } from "../../src/crypto/bytes.ts";
import type { SuiteName } from "../../src/crypto/suite-ids.ts";
import { WEB_SECURITY_HEADERS } from "../../src/web/security-policy.ts";
import { Relay, setUpUsers, type User, withTempDir } from "../e2e/_harness.ts";
import { type NodeMessenger, nodeMessenger } from "../support/node-messenger.ts";
import { type BuiltPage, bundlePage } from "./_bundle.ts";
import { launchChromium, needChromium } from "./_chromium.ts";
import { type StaticServer, serveStatic } from "./_static-server.ts";

const PAGE = new URL("./pages/app-bridged/", import.meta.url).pathname;
const MODES: readonly SuiteName[] = ["classical", "hybrid", "quantum"];

interface AppUser {
  readonly name: string;
  readonly page: Page;
  readonly client: NodeMessenger;
}

/** Waits (bounded) for `check` in Node. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe("the app's screens over the real client (in Node), a real relay and CLI users", () => {
  let dir: string;
  let finish: () => void = () => {};
  let finished: Promise<unknown> = Promise.resolve();
  let relay: Relay;
  let built: BuiltPage | undefined;
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  const users: AppUser[] = [];
  const cli = new Map<SuiteName, User>();
  let available = false;

  before(async (t) => {
    if (!needChromium(t as unknown as Parameters<typeof needChromium>[0])) return;
    // One temporary folder for the whole suite, removed when `after` lets withTempDir return.
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
    relay = new Relay(dir);
    await relay.start();
    const peers = await Promise.all(MODES.map((mode) => setUpUsers(relay, dir, mode, `cli-${mode}`)));
    for (const [i, mode] of MODES.entries()) cli.set(mode, peers[i]![0]!);
    built = await bundlePage(PAGE);
    server = await serveStatic(built.dir, WEB_SECURITY_HEADERS);
    browser = await launchChromium();
    available = true;
  });

  after(async () => {
    for (const user of users) await user.client.close();
    await browser?.close();
    await server?.close();
    await built?.remove();
    await relay?.stop();
    finish();
    await finished;
  });

  /** A new browser context on the app, its Messenger bridged to a real client in Node. */
  async function openApp(name: string): Promise<AppUser> {
    const context = await browser!.newContext({
      viewport: { width: 1000, height: 760 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    const client = nodeMessenger(relay.url, join(dir, name));
    const { messenger } = client;
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    await page.exposeFunction("nanoBridgeCall", async (method: string, args: unknown[]) => {
      try {
        let value: unknown;
        switch (method) {
          case "sendFile": {
            const [peer, file, call] = args as [string, { name: string; bytes: string }, number];
            value = await messenger.sendFile(
              peer,
              { name: file.name, bytes: new Uint8Array(Buffer.from(file.bytes, "base64")) },
              (sent, total) =>
                void page
                  .evaluate(
                    (event) =>
                      (globalThis as unknown as { nanoBridgeEvent(e: unknown): void }).nanoBridgeEvent(event),
                    {
                      kind: "progress",
                      call,
                      sent,
                      total,
                    },
                  )
                  .catch(() => {}),
            );
            break;
          }
          case "openFile":
          case "exportData": {
            const file =
              method === "openFile"
                ? await messenger.openFile(args[0] as string, args[1] as string)
                : await messenger.exportData();
            value = { name: file.name, bytes: b64(file.bytes) };
            break;
          }
          default: {
            const target = messenger as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
            value = await target[method]!.apply(messenger, args);
          }
        }
        return { ok: true, value: value ?? null };
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        return {
          ok: false,
          code: typeof code === "string" ? code : "unknown",
          message: (error as Error).message,
        };
      }
    });
    messenger.subscribe((event) => {
      void page
        .evaluate(
          (e) => (globalThis as unknown as { nanoBridgeEvent(e: unknown): void }).nanoBridgeEvent(e),
          event,
        )
        .catch(() => {});
    });
    await page.goto(`${server!.origin}/`);
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    const user = { name, page, client };
    users.push(user);
    return user;
  }

  const waitScreen = (page: Page, name: string) =>
    page.waitForFunction((wanted) => document.body.dataset.screen === wanted, name, { timeout: 30_000 });

  /** Through the screens: the mode, then the name. */
  async function register(user: AppUser, mode: SuiteName): Promise<void> {
    await waitScreen(user.page, "create-identity");
    await user.page.check(`#mode-${mode}`);
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
      { timeout: 30_000 },
    );
  }

  const tickOf = (user: AppUser, text: string) =>
    user.page.evaluate((wanted) => {
      const item = [...document.querySelectorAll("li.out")].find(
        (li) => li.querySelector(".text")?.textContent === wanted,
      );
      return item?.querySelector(".delivery")?.getAttribute("aria-label") ?? null;
    }, text);

  const shots = process.env.NANO_WEB_SCREENSHOTS;
  async function screenshot(user: AppUser, name: string): Promise<void> {
    if (shots === undefined || shots === "") return;
    await user.page.screenshot({ path: join(shots, `web-real-${name}-desktop.png`), fullPage: true });
    await user.page.setViewportSize({ width: 390, height: 844 });
    await user.page.screenshot({ path: join(shots, `web-real-${name}-phone.png`), fullPage: true });
    await user.page.setViewportSize({ width: 1000, height: 760 });
  }

  for (const mode of MODES) {
    it(`${mode}: an app user registers in the screens and talks both ways with a CLI user and another app user`, async (t) => {
      if (!available) return t.skip("Chromium is missing");
      const web = await openApp(`web-${mode}`);
      await register(web, mode);
      const peer = cli.get(mode)!;

      // The CLI user writes first: the conversation appears with one unread, then is read.
      await peer.send(web.name, `hello ${web.name}`);
      await web.page.waitForSelector(`li[data-peer=cli-${mode}] .badge`, { timeout: 30_000 });
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
      // The CLI's receipt turns the tick to delivered in the screen.
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
      await web.page.waitForSelector(`li[data-peer=${other.name}] .badge`, { timeout: 30_000 });
      await openConversation(web, other.name);
      await web.page.waitForSelector(`li.in >> text=hi from ${other.name}`);
      await sendInScreen(web, `welcome ${other.name}`);
      await other.page.waitForSelector(`li.in >> text=welcome ${other.name}`, { timeout: 30_000 });
      await until(
        "the other's delivered tick",
        async () => (await tickOf(other, `hi from ${other.name}`)) === "delivered",
      );
      if (mode === "hybrid") await screenshot(web, "conversations-list");
    });
  }

  it("hybrid: a file both ways, the safety number and its QR equal to the CLI's, an identity change, a relay SIGKILL", async (t) => {
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
    await web.page.waitForSelector("li.out .file >> text=photo.bin", { timeout: 30_000 });
    const lines = (await peer.json(["receive", "--save-dir", join(dir, "cli-files")])) as {
      attachment?: { path: string };
    }[];
    const saved = lines.find((line) => line.attachment !== undefined)?.attachment?.path;
    assert.ok(saved !== undefined, JSON.stringify(lines));
    assert.deepEqual(readFileSync(saved), bytes);
    // ...and one from the CLI saves from the screen with the same bytes.
    const back = join(dir, "from-cli.bin");
    writeFileSync(back, bytes.subarray(0, 70_000));
    await peer.json(["send", web.name, "--file", back]);
    await web.page.waitForSelector("li.in .file button", { timeout: 30_000 });
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
    await web.page.waitForSelector(".banner.warn[role=alert]:not([hidden])", { timeout: 30_000 });
    assert.equal(await web.page.isDisabled("#compose-text"), true);
    assert.equal(await web.page.isDisabled(".composer button[type=submit]"), true);
    await screenshot(web, "identity-changed");
    await web.page.click("text=Accept the new identity");
    await web.page.waitForFunction(
      () => !document.querySelector<HTMLTextAreaElement>("#compose-text")!.disabled,
    );
    await web.page.waitForSelector("li.in >> text=new keys, same person", { timeout: 30_000 });
    await sendInScreen(web, "accepted");
    assert.ok((await peer.receive()).some((m) => m.text === "accepted"));

    // The relay dies: the message waits in the outbox (the screen says so), and goes when it is back.
    await relay.kill();
    await sendInScreen(web, "sent while the relay was down");
    assert.equal(await tickOf(web, "sent while the relay was down"), "waiting to be sent");
    await web.page.click("nav >> text=Outbox");
    await waitScreen(web.page, "outbox");
    await web.page.waitForSelector("ul.pending li >> text=sent while the relay was down");
    await screenshot(web, "outbox");
    await relay.start();
    await web.page.waitForFunction(() => document.querySelectorAll("ul.pending li").length === 0, undefined, {
      timeout: 60_000,
    });
    assert.ok((await peer.receive()).some((m) => m.text === "sent while the relay was down"));
  });
});
