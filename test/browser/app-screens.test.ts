// The app's screens in Chromium under the app's own CSP and Trusted Types, over a scripted Messenger
// (pages/app-screens/scripted-messenger.ts): the view's promises, step by step as a user goes — keyboard
// only where a user can, every control labelled, no horizontal scrolling at 390px, hostile peer text
// staying text, the changed-identity block, ticks, progress, offline outbox, a QR code that a decoder
// reads back as the safety number's payload. The crypto and the relay are not in these tests (the
// scripted Messenger has none); relay-fetch.test.ts and the end-to-end tests prove those for real.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import decodeQR from "qr/decode.js";
import { toHex } from "../../src/crypto/bytes.ts";
import { WEB_SECURITY_HEADERS } from "../../src/web/security-policy.ts";
import { type BuiltPage, bundlePage } from "./_bundle.ts";
import { launchChromium, needChromium } from "./_chromium.ts";
import { type StaticServer, serveStatic } from "./_static-server.ts";

const PAGE = new URL("./pages/app-screens/", import.meta.url).pathname;
const SAFETY_DIGITS = Array.from({ length: 12 }, (_, i) => String(10000 + i * 7919).slice(0, 5)).join(" ");
const QR_PAYLOAD = toHex(new Uint8Array(68).map((_, i) => (i * 37 + 11) & 0xff));

interface Script {
  calls: string[];
  lock(): void;
  safety: { digits: string; qrPayload: string };
  receive(peer: string, text: string): void;
  receiveFile(peer: string, name: string, size: number): void;
  deliver(peer: string, state: "delivered" | "read"): void;
  changeIdentity(peer: string): void;
  setOnline(online: boolean): void;
}
const script = "(globalThis.nanoScript)";

describe("the app's screens in Chromium (scripted client)", () => {
  let built: BuiltPage | undefined;
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const violations: string[] = [];
  const errors: string[] = [];
  let available = false;

  before(async (t) => {
    if (!needChromium(t as unknown as Parameters<typeof needChromium>[0])) return;
    built = await bundlePage(PAGE);
    server = await serveStatic(built.dir, WEB_SECURITY_HEADERS);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1000, height: 760 }, acceptDownloads: true });
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.exposeFunction("nanoReportViolation", (text: string) => violations.push(text));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) =>
        (globalThis as unknown as { nanoReportViolation(text: string): void }).nanoReportViolation(
          `${event.violatedDirective} ${event.blockedURI}`,
        ),
      );
    });
    await page.goto(`${server.origin}/`);
    await page.waitForFunction("document.body.dataset.ready === 'true'");
    available = true;
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await built?.remove();
  });

  const drive = <T>(body: string): Promise<T> => page.evaluate(`${script}.${body}`) as Promise<T>;
  const calls = () => drive<string[]>("calls");
  const screen = () => page.evaluate(() => document.body.dataset.screen);
  const waitScreen = (name: string) =>
    page.waitForFunction((wanted) => document.body.dataset.screen === wanted, name, { timeout: 5000 });

  /** Every control has an accessible name, and nothing scrolls sideways at phone width. */
  async function checkScreen(name: string): Promise<void> {
    const unlabelled = await page.$$eval("#app input, #app textarea, #app select, #app button", (controls) =>
      controls
        .filter((control) => {
          const labelled = (control as HTMLInputElement).labels?.length ?? 0;
          const aria = control.getAttribute("aria-label") ?? control.getAttribute("aria-labelledby");
          const text = control.tagName === "BUTTON" ? (control.textContent ?? "").trim() : "";
          return labelled === 0 && !aria && text === "";
        })
        .map((control) => control.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unlabelled, [], `${name}: controls without a name`);
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const shots = process.env.NANO_WEB_SCREENSHOTS;
    if (shots !== undefined && shots !== "")
      await page.screenshot({ path: join(shots, `web-${name}-phone.png`), fullPage: true });
    await page.setViewportSize({ width: 1000, height: 760 });
    if (shots !== undefined && shots !== "")
      await page.screenshot({ path: join(shots, `web-${name}-desktop.png`), fullPage: true });
    assert.ok(overflow <= 0, `${name}: ${overflow}px of horizontal scrolling at 390px`);
  }

  it("create an identity by keyboard: three modes explained, hybrid by default, focus on the heading", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    assert.equal(await screen(), "create-identity");
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1");
    const modes = await page.$$eval("input[name=mode]", (radios) =>
      radios.map((radio) => ({
        mode: (radio as HTMLInputElement).value,
        checked: (radio as HTMLInputElement).checked,
        label: (radio as HTMLInputElement).labels?.[0]?.textContent ?? "",
      })),
    );
    assert.deepEqual(
      modes.map(({ mode, checked }) => [mode, checked]),
      [
        ["hybrid", true],
        ["quantum", false],
        ["classical", false],
      ],
    );
    for (const { label } of modes) assert.ok(label.length > 80, `a plain explanation: ${label}`);
    await checkScreen("create-identity");
    await page.focus("#mode-hybrid");
    await page.keyboard.press("ArrowDown");
    // Two passphrases that differ are caught before anything is made.
    await page.keyboard.press("Tab");
    await page.keyboard.type("correct horse");
    await page.keyboard.press("Tab");
    await page.keyboard.type("correct hose");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /differ/.test(document.querySelector(".status")?.textContent ?? ""));
    assert.equal(await page.evaluate(() => document.activeElement?.id), "new-passphrase-again");
    assert.deepEqual(await calls(), []);
    await page.fill("#new-passphrase-again", "correct horse");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await waitScreen("claim-username");
    assert.deepEqual(await calls(), ["createIdentity quantum correct horse"]);
  });

  it("claim a username: the relay's refusal is shown with its code, then the name is claimed", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await page.fill("#username", "taken");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() =>
      /username_taken/.test(document.querySelector("[role=status].status")?.textContent ?? ""),
    );
    assert.equal(await page.evaluate(() => document.activeElement?.id), "username");
    await checkScreen("claim-username");
    await page.fill("#username", "alice");
    await page.keyboard.press("Enter");
    await waitScreen("conversations");
    assert.equal(await page.isVisible("nav[aria-label=Main]"), true);
  });

  it("a locked identity shows only the unlock screen; a wrong passphrase is refused, the right one opens", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await drive("lock()");
    await page.evaluate(() => {
      location.hash = "#/settings";
    });
    await waitScreen("unlock");
    await checkScreen("unlock");
    await page.fill("#unlock-passphrase", "wrong");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /wrong_passphrase/.test(document.body.textContent ?? ""));
    assert.equal(await page.evaluate(() => document.activeElement?.id), "unlock-passphrase");
    await page.fill("#unlock-passphrase", "correct horse");
    await page.keyboard.press("Enter");
    await waitScreen("conversations");
  });

  it("conversations: unread counts, hostile peer text stays text, reading clears the count", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await drive(`receive("bob", "<img src=x onerror=\\"document.title='pwned'\\">hi")`);
    await drive(`receive("bob", "second")`);
    await drive(`receive("carol", "hello from carol")`);
    await page.waitForSelector("li[data-peer=bob] .badge");
    assert.equal(await page.textContent("li[data-peer=bob] .badge"), "2");
    assert.equal(await page.getAttribute("li[data-peer=bob] .badge", "aria-label"), "2 unread");
    assert.equal(await page.$$eval("#app img", (images) => images.length), 0);
    await checkScreen("conversations");
    await page.click("li[data-peer=bob] a");
    await waitScreen("conversation");
    await page.waitForSelector("ol.messages li.in");
    assert.match((await page.textContent("ol.messages")) ?? "", /<img src=x onerror=/);
    assert.equal(await page.$$eval("#app img", (images) => images.length), 0);
    assert.notEqual(await page.title(), "pwned");
    await page.click("text=← All conversations");
    await waitScreen("conversations");
    await page.waitForSelector("li[data-peer=carol] .badge");
    assert.equal(
      await page.$$eval("li[data-peer=bob] .badge", (badges) => badges.length),
      0,
      "bob's were read",
    );
    await page.click("li[data-peer=bob] a");
    await waitScreen("conversation");
    await page.waitForSelector("ol.messages li.in");
  });

  it("a conversation: Enter sends, ticks follow receipts, a file goes with progress, a received file saves", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await page.focus("#compose-text");
    await page.keyboard.type("hello bob");
    await page.keyboard.press("Enter");
    await page.waitForSelector("li.out .delivery.sent");
    assert.ok((await calls()).includes("sendText bob hello bob"));
    assert.equal(await page.getAttribute("li.out .delivery", "aria-label"), "sent");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "compose-text");
    // The log changes by its differences: the sent message's element stays, its tick changes in place.
    await page.evaluate(() => {
      (globalThis as unknown as { sentItem: Element }).sentItem = document.querySelector("li.out")!;
    });
    await drive(`deliver("bob", "delivered")`);
    await page.waitForSelector("li.out .delivery.delivered");
    assert.equal(await page.getAttribute("li.out .delivery", "aria-label"), "delivered");
    assert.equal(
      await page.evaluate(() => {
        const item = (globalThis as unknown as { sentItem: Element }).sentItem;
        return item.isConnected && item.querySelector(".delivery")?.classList.contains("delivered");
      }),
      true,
      "the same list item, updated in place",
    );

    await page.evaluate(() => {
      const seen: string[] = [];
      (globalThis as unknown as { progressSeen: string[] }).progressSeen = seen;
      const progress = document.querySelector("progress")!;
      new MutationObserver(() =>
        seen.push(`${progress.hidden ? "hidden" : "shown"}:${progress.value}`),
      ).observe(progress, { attributes: true });
    });
    await page.setInputFiles("#compose-file", {
      name: "notes.txt",
      mimeType: "text/plain",
      buffer: Buffer.alloc(4000, 0x61),
    });
    await page.waitForSelector("li.out .file");
    const seen = await page.evaluate(
      () => (globalThis as unknown as { progressSeen: string[] }).progressSeen,
    );
    assert.ok(seen.includes("shown:1"), `progress reached the end: ${seen.join(",")}`);
    assert.ok(
      seen.some((entry) => /^shown:0\.\d/.test(entry)),
      `progress in between: ${seen.join(",")}`,
    );
    assert.equal(seen.at(-1)?.startsWith("hidden"), true);
    assert.ok((await calls()).includes("sendFile bob notes.txt 4000"));

    // A file over the client's limit is refused before it is read or sent.
    const sends = (await calls()).length;
    await page.setInputFiles("#compose-file", {
      name: "huge.bin",
      mimeType: "application/octet-stream",
      buffer: Buffer.alloc(20_000),
    });
    await page.waitForFunction(() => /huge\.bin is too large/.test(document.body.textContent ?? ""));
    assert.equal((await calls()).length, sends);

    await drive(`receiveFile("bob", "photo.jpg", 123456)`);
    await page.waitForSelector("li.in .file button");
    const download = page.waitForEvent("download");
    await page.click("li.in .file button");
    assert.equal((await download).suggestedFilename(), "received.txt");
    await checkScreen("conversation");
  });

  it("a changed identity blocks sending until the user accepts it", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await drive(`changeIdentity("bob")`);
    await page.waitForSelector(".banner.warn[role=alert]:not([hidden])");
    assert.match((await page.textContent(".banner.warn")) ?? "", /bob's identity has changed/);
    assert.equal(await page.isDisabled("#compose-text"), true);
    assert.equal(await page.isDisabled(".composer button[type=submit]"), true);
    assert.equal(await page.isDisabled("#compose-file"), true);
    const before = (await calls()).length;
    await page.evaluate(() => document.querySelector<HTMLFormElement>(".composer")!.requestSubmit());
    assert.equal((await calls()).length, before, "nothing was sent while blocked");
    // Another event while blocked does not build the alert again (it would be announced again).
    await page.evaluate(() => {
      (globalThis as unknown as { alertText: Node }).alertText =
        document.querySelector(".banner.warn strong")!;
    });
    await drive(`receive("bob", "still here")`);
    await page.waitForSelector("li.in >> text=still here");
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { alertText: Node }).alertText.isConnected),
      true,
    );
    await checkScreen("identity-changed");
    await page.click("text=Accept the new identity");
    await page.waitForFunction(() => !document.querySelector<HTMLTextAreaElement>("#compose-text")!.disabled);
    assert.ok((await calls()).includes("acceptIdentity bob"));
    assert.equal(await page.isHidden(".banner.warn"), true);
  });

  it("the safety number: 60 digits and a QR code that decodes to the payload; a typed mismatch is refused", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await page.evaluate(
      ([digits, qrPayload]) => {
        (globalThis as unknown as { nanoScript: Script }).nanoScript.safety = {
          digits: digits!,
          qrPayload: qrPayload!,
        };
      },
      [SAFETY_DIGITS, QR_PAYLOAD],
    );
    await page.click("text=Safety number");
    await waitScreen("verify");
    await page.waitForSelector("svg.qr");
    assert.equal(await page.$$eval(".digits span", (spans) => spans.length), 12);
    // Rasterize the SVG the page drew, as a camera would see it, and decode it.
    const image = await page.evaluate(async () => {
      const svg = document.querySelector("svg.qr")!;
      const size = 180;
      const blob = new Blob([new XMLSerializer().serializeToString(svg)], { type: "image/svg+xml" });
      const url = URL.createObjectURL(blob);
      const picture = new Image(size, size);
      picture.src = url;
      await picture.decode();
      const canvas = document.createElement("canvas");
      canvas.width = size;
      canvas.height = size;
      const context = canvas.getContext("2d")!;
      context.drawImage(picture, 0, 0, size, size);
      URL.revokeObjectURL(url);
      return Array.from(context.getImageData(0, 0, size, size).data);
    });
    let decoded = "";
    decodeQR(
      { width: 180, height: 180, data: new Uint8Array(image) },
      {
        textDecoder: (bytes) => {
          decoded = toHex(bytes);
          return "";
        },
      },
    );
    assert.equal(decoded, QR_PAYLOAD);
    await checkScreen("verify");
    await page.fill("#typed-number", "00000 ".repeat(12));
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /safety_number_mismatch/.test(document.body.textContent ?? ""));
    await page.fill("#typed-number", SAFETY_DIGITS.replaceAll(" ", ""));
    await page.keyboard.press("Enter");
    await page.waitForSelector(".verified");
    assert.ok((await calls()).some((call) => call.startsWith("markVerified bob 1")));
  });

  it("offline: a message waits in the outbox and goes when the relay is back", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await page.click("text=← Back to bob");
    await waitScreen("conversation");
    await drive("setOnline(false)");
    await page.waitForSelector(".connection[data-online=false]");
    await page.fill("#compose-text", "sent while offline");
    await page.keyboard.press("Enter");
    await page.waitForSelector("li.out .delivery.pending");
    assert.match((await page.textContent(".conversation [role=status]")) ?? "", /outbox/);
    await page.click("nav >> text=Outbox");
    await waitScreen("outbox");
    await page.waitForSelector("ul.pending li");
    assert.match((await page.textContent("ul.pending")) ?? "", /sent while offline[\s\S]*relay_unreachable/);
    await checkScreen("outbox");
    await drive("setOnline(true)");
    await page.waitForFunction(() => document.querySelectorAll("ul.pending li").length === 0);
    assert.equal(await page.getAttribute(".connection", "data-online"), "true");
  });

  it("settings: export downloads a file, deletion needs the username, then the app starts over", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await page.click("nav >> text=Settings");
    await waitScreen("settings");
    await checkScreen("settings");
    const download = page.waitForEvent("download");
    await page.click("text=Export my data");
    assert.equal((await download).suggestedFilename(), "nano-export.json");
    await page.fill("#relay-url", "javascript:alert(1)");
    await page.click("text=Save relay");
    assert.match((await page.textContent(".status")) ?? "", /Relay not saved/);
    await page.fill("#delete-confirm", "bob");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /Not deleted/.test(document.body.textContent ?? ""));
    await page.fill("#delete-confirm", "alice");
    await page.keyboard.press("Enter");
    await waitScreen("create-identity");
  });

  it("hostile fragments land on a screen, never an error; no CSP violation or page error all along", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    for (const hash of [
      "#/chat/%E0%A4%A",
      `#/chat/${"a".repeat(300)}`,
      "#/verify/a/b",
      "#/__proto__",
      "#/constructor",
    ]) {
      await page.evaluate((fragment) => {
        location.hash = fragment;
      }, hash);
      await page.waitForFunction(() => document.body.dataset.screen === "create-identity");
    }
    assert.deepEqual(violations, []);
    assert.deepEqual(errors, []);
  });
});
