// Attachments in Chromium (docs/web.md "Plan for the browser client", step 3), against a real relay
// process that serves the test page from its own origin: the codec's checks on both variants of the
// browser's provider (the golden bytes Node writes, every attack refused with Node's code); files sent
// from Node and received in the page and the other way round, through the relay; a download changed
// on the way refused with the codec's code and nothing kept; the IndexedDB sink's records sealed,
// bound to their id, deleted with their message, bounded by the size limit and by the quota.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { writeChecksums } from "../../scripts/web/checksums.ts";
import { decryptAttachment } from "../../src/client/attachments/attachment.ts";
import {
  type AttachmentLink,
  fetchAttachment,
  sendAttachment,
} from "../../src/client/messaging/attachments.ts";
import { endpointFromUrl } from "../../src/client/transport/relay-http.ts";
import { requestRaw, requestStream } from "../../src/client/transport/relay-request.ts";
import { fromHex, toHex } from "../../src/crypto/bytes.ts";
import { nodePrimitives } from "../../src/crypto/node-provider.ts";
import {
  decodeAttachmentReferenceExact,
  encodeAttachmentReference,
} from "../../src/protocol/attachment-reference.ts";
import { ATTACHMENT_CHECKS } from "../protocol/_attachment-checks.ts";
import { CHUNK, HEADER, pattern, SEALED } from "../protocol/_attachment-spec.ts";
import { tempDir, testConfig } from "../relay/fixtures/harness.ts";
import { RelayProcess, signUpOver } from "../relay/fixtures/processes.ts";
import { type BuiltPage, bundlePage } from "./_bundle.ts";
import { launchChromium, needChromium } from "./_chromium.ts";
import type { Outcome } from "./pages/attachments/main.ts";

const PAGE = new URL("./pages/attachments/", import.meta.url).pathname;
type Api = Record<string, (...args: unknown[]) => Promise<Outcome<unknown>>>;

/** Node's side of the relay: the client's attachment calls over a bearer token (the same transport). */
function tokenLink(relay: string, token: string): AttachmentLink {
  const endpoint = endpointFromUrl(relay, null);
  return {
    api: {
      async uploadAttachment(hashHex, recipients, ciphertext) {
        const answer = await requestRaw(endpoint, {
          method: "PUT",
          path: `/v1/attachments/${hashHex}?recipients=${recipients.join(",")}`,
          token,
          body: ciphertext,
        });
        assert.equal(answer.status, 201);
      },
      downloadAttachment: (hashHex) =>
        requestStream(endpoint, { method: "GET", path: `/v1/attachments/${hashHex}`, token }),
    },
  };
}

describe("attachments in Chromium, against a real relay", () => {
  let built: BuiltPage | undefined;
  let relay: RelayProcess | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let available = false;
  let alice: { token: string } | undefined;
  let bob: { token: string } | undefined;
  const sinkName = `files-${randomBytes(6).toString("hex")}`;
  const databaseKey = randomBytes(32).toString("hex");

  before(async (t) => {
    if (!needChromium(t as unknown as Parameters<typeof needChromium>[0])) return;
    built = await bundlePage(PAGE);
    await writeChecksums(built.dir);
    const dir = tempDir("web-attachments");
    relay = new RelayProcess(testConfig({ web: { enabled: true, static_dir: built.dir } }, dir), dir);
    await relay.start();
    alice = await signUpOver(relay.url, "attalice");
    bob = await signUpOver(relay.url, "attbob");
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("pageerror", (error) => process.stderr.write(`page error: ${error.message}\n`));
    await page.goto(`${relay.url}/`);
    await page.waitForFunction("document.getElementById('status')?.textContent === 'ready'");
    available = true;
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
    await built?.remove();
  });

  const callOn = <T>(target: Page, name: string, ...args: unknown[]): Promise<Outcome<T>> =>
    target.evaluate(
      ([n, a]) =>
        (globalThis as unknown as { nanoAttachments: Api }).nanoAttachments[n as string]!(
          ...(a as unknown[]),
        ),
      [name, args] as const,
    ) as Promise<Outcome<T>>;
  const call = <T>(name: string, ...args: unknown[]): Promise<Outcome<T>> => callOn<T>(page!, name, ...args);

  const value = async <T>(name: string, ...args: unknown[]): Promise<T> => {
    const answer = await call<T>(name, ...args);
    assert.ok(answer.ok, `${name}: ${JSON.stringify(answer)}`);
    return answer.value;
  };

  const code = async (name: string, ...args: unknown[]): Promise<string> => {
    const answer = await call(name, ...args);
    assert.ok(!answer.ok, `${name} should have failed: ${JSON.stringify(answer)}`);
    return answer.code;
  };

  /** Alice (Node) uploads `plaintext` for bob; the encoded reference, as hex. */
  const fromNode = async (plaintext: Uint8Array, filename: string): Promise<string> => {
    const reference = await sendAttachment(
      nodePrimitives,
      tokenLink(relay!.url, alice!.token),
      "attbob",
      plaintext,
      { contentType: "application/octet-stream", filename },
    );
    return toHex(encodeAttachmentReference(reference));
  };

  for (const variant of ["detect", "noble"] as const) {
    for (const [index, attachmentCheck] of ATTACHMENT_CHECKS.entries()) {
      it(`${variant === "detect" ? "WebCrypto+noble" : "noble only"}: ${attachmentCheck.name}`, async (t) => {
        if (!available) return t.skip("Chromium is missing");
        t.diagnostic(await value<string>("run", variant, index));
      });
    }
  }

  it("bytes sealed in the page open in Node, and Node's open in the page", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const plaintext = pattern(2 * CHUNK + 99, 4);
    const sealed = await value<{ ciphertext: string; reference: string }>("seal", "detect", toHex(plaintext));
    const reference = decodeAttachmentReferenceExact(fromHex(sealed.reference));
    const opened = await decryptAttachment(fromHex(sealed.ciphertext), reference, {
      maxBytes: plaintext.length,
    });
    assert.equal(toHex(opened), toHex(plaintext));
  });

  it("a file sent from Node is received into the page's sink and opened from it, byte for byte", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await value("openSink", sinkName, databaseKey);
    const plaintext = pattern(3 * CHUNK + 1234, 7);
    const reference = await fromNode(plaintext, "report.pdf");
    const saved = await value<{ location: string; reports: number }>(
      "save",
      relay!.url,
      bob!.token,
      reference,
      "report.pdf",
    );
    assert.match(saved.location, /^browser:[0-9a-f]{32}$/);
    assert.ok(saved.reports > 0, "download progress reported");
    const file = await value<{ name: string; contentType: string; bytes: string }>("open", saved.location);
    assert.equal(file.name, "report.pdf");
    assert.equal(file.contentType, "application/octet-stream");
    assert.equal(file.bytes, toHex(plaintext));
    // What the origin's IndexedDB holds is sealed: neither the name nor a run of the plaintext appears.
    const raw = (await value<string[]>("raw", sinkName)).join("");
    assert.ok(!raw.includes(toHex(new TextEncoder().encode("report.pdf"))), "the name is sealed");
    assert.ok(!raw.includes(toHex(plaintext.subarray(1000, 1032))), "the content is sealed");
  });

  it("a file sent from the page is received in Node, byte for byte", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const plaintext = pattern(CHUNK + 5, 9);
    const reference = await value<string>(
      "send",
      relay!.url,
      bob!.token,
      "attalice",
      toHex(plaintext),
      "photo.png",
    );
    const decoded = decodeAttachmentReferenceExact(fromHex(reference));
    assert.equal(decoded.filename, "photo.png");
    const received = await fetchAttachment(nodePrimitives, tokenLink(relay!.url, alice!.token), decoded);
    assert.equal(toHex(received), toHex(plaintext));
  });

  it("a download changed on the way is refused with the codec's code, and nothing is kept", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await value("openSink", sinkName, databaseKey);
    const before = await value<string[]>("locations");
    const size = 2 * CHUNK + 10;
    const cases: [string, (body: Buffer) => Buffer, string][] = [
      ["cut at a chunk boundary", (body) => body.subarray(0, HEADER + SEALED), "attachment_truncated"],
      ["a byte appended", (body) => Buffer.concat([body, Buffer.of(0)]), "attachment_trailing_data"],
      [
        "chunks 0 and 1 swapped",
        (body) =>
          Buffer.concat([
            body.subarray(0, HEADER),
            body.subarray(HEADER + SEALED, HEADER + 2 * SEALED),
            body.subarray(HEADER, HEADER + SEALED),
            body.subarray(HEADER + 2 * SEALED),
          ]),
        "attachment_chunk_invalid",
      ],
      [
        "a byte changed in the last chunk",
        (body) => {
          const changed = Buffer.from(body);
          changed[changed.length - 3]! ^= 0x01;
          return changed;
        },
        "attachment_chunk_invalid",
      ],
    ];
    try {
      for (const [name, change, expected] of cases) {
        const reference = await fromNode(pattern(size, 3), "changed.bin");
        await page!.route("**/v1/attachments/*", async (route) => {
          const real = await route.fetch();
          // Served as a whole answer (its own length): a relay that serves other bytes, not a broken
          // connection (which the transport reports as relay_unreachable).
          const headers = Object.fromEntries(
            Object.entries(real.headers()).filter(([name]) => name.toLowerCase() !== "content-length"),
          );
          await route.fulfill({ status: real.status(), headers, body: change(await real.body()) });
        });
        assert.equal(await code("save", relay!.url, bob!.token, reference, "changed.bin"), expected, name);
        await page!.unroute("**/v1/attachments/*");
      }
    } finally {
      await page!.unroute("**/v1/attachments/*");
    }
    assert.deepEqual(await value<string[]>("locations"), before, "nothing was kept");
  });

  it("records are bound to their id, deleted with their message, and gone afterwards", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await value("openSink", sinkName, databaseKey);
    const keep = (
      await value<{ location: string }>(
        "save",
        relay!.url,
        bob!.token,
        await fromNode(pattern(100, 1), "keep.txt"),
        "keep.txt",
      )
    ).location;
    const expiring = (
      await value<{ location: string }>(
        "save",
        relay!.url,
        bob!.token,
        await fromNode(pattern(200, 2), "expiring.txt"),
        "expiring.txt",
      )
    ).location;
    // A record moved under another id (an attacker with the origin's storage) does not open.
    const moved = `browser:${"ab".repeat(16)}`;
    await value("move", sinkName, expiring.slice("browser:".length), moved.slice("browser:".length));
    assert.equal(await code("open", moved), "local_record_tampered");
    assert.equal(await code("open", expiring), "received_file_gone");
    await value("move", sinkName, moved.slice("browser:".length), expiring.slice("browser:".length));
    assert.equal((await value<{ name: string }>("open", expiring)).name, "expiring.txt");
    // The same records read with another identity's store key (another identity's sink on this
    // database, or this one's records copied into another's) do not open either.
    await value("openSink", sinkName, randomBytes(32).toString("hex"));
    assert.equal(await code("open", expiring), "local_record_tampered");
    assert.equal(await code("open", keep), "local_record_tampered");
    await value("openSink", sinkName, databaseKey);
    assert.equal((await value<{ name: string }>("open", expiring)).name, "expiring.txt");
    // The store's sweep hands over the locations of the messages that expired (removeFiles).
    assert.equal(await value<number>("removeAll", [expiring, "/home/someone/file.txt"]), 1);
    assert.equal(await code("open", expiring), "received_file_gone");
    assert.equal(await value<boolean>("remove", expiring), false);
    // Pruning against the history's locations deletes whatever no message names any more.
    const stray = (
      await value<{ location: string }>(
        "save",
        relay!.url,
        bob!.token,
        await fromNode(pattern(300, 3), "stray.txt"),
        "stray.txt",
      )
    ).location;
    const all = await value<string[]>("locations");
    assert.ok(all.includes(stray) && all.includes(keep));
    assert.equal(await value<number>("prune", [keep]), all.length - 1);
    assert.deepEqual(await value<string[]>("locations"), [keep]);
    assert.equal((await value<{ name: string }>("open", keep)).name, "keep.txt");
    assert.equal(await code("open", "/tmp/not-a-browser-file"), "invalid_argument");
  });

  it("the local store's sweep deletes an expired message's file from the sink, and only that one", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    await value("openSink", sinkName, databaseKey);
    const save = async (name: string) =>
      (
        await value<{ location: string }>(
          "save",
          relay!.url,
          bob!.token,
          await fromNode(pattern(64, 8), name),
          name,
        )
      ).location;
    const [expires, stays] = [await save("expires.txt"), await save("stays.txt")];
    const now = Date.now() + 3_600_000;
    const swept = await value<number>(
      "sweepStore",
      `store-${randomBytes(6).toString("hex")}`,
      databaseKey,
      [
        [expires, now - 1],
        [stays, null],
      ],
      now,
    );
    assert.equal(swept, 1);
    assert.equal(await code("open", expires), "received_file_gone");
    assert.equal((await value<{ name: string }>("open", stays)).name, "stays.txt");
  });

  it("a file above the sink's limit is refused before the download; a full quota keeps nothing", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const small = `${sinkName}-small`;
    await value("openSink", small, databaseKey, 1000);
    const reference = await fromNode(pattern(1001, 5), "big.bin");
    let downloads = 0;
    await page!.route("**/v1/attachments/*", async (route) => {
      downloads += 1;
      await route.continue();
    });
    try {
      assert.equal(await code("save", relay!.url, bob!.token, reference, "big.bin"), "attachment_too_large");
    } finally {
      await page!.unroute("**/v1/attachments/*");
    }
    assert.equal(downloads, 0, "refused before anything was downloaded");

    // A tab of its own whose origin's quota is lowered through DevTools before it stores anything: a
    // real QuotaExceededError from IndexedDB (as test/browser/browser-store-attacks.test.ts does).
    const context = await browser!.newContext();
    try {
      const target = await context.newPage();
      await target.goto(`${relay!.url}/`);
      await target.waitForFunction("document.getElementById('status')?.textContent === 'ready'");
      const usage = await target.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
      const cdp = await context.newCDPSession(target);
      await cdp.send("Storage.overrideQuotaForOrigin", {
        origin: new URL(relay!.url).origin,
        quotaSize: usage + 1024 * 1024,
      });
      const opened = await callOn(target, "openSink", sinkName, databaseKey);
      assert.ok(opened.ok, JSON.stringify(opened));
      const large = await fromNode(pattern(4 * 1024 * 1024, 6), "large.bin");
      const refused = await callOn(target, "save", relay!.url, bob!.token, large, "large.bin");
      assert.equal(!refused.ok && refused.code, "no_space_left", JSON.stringify(refused));
      const left = await callOn<string[]>(target, "locations");
      assert.deepEqual(left, { ok: true, value: [] }, "nothing was kept");
      // Room again: the same file is kept.
      await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(relay!.url).origin });
      const again = await fromNode(pattern(4 * 1024 * 1024, 6), "large.bin");
      const kept = await callOn<{ location: string }>(
        target,
        "save",
        relay!.url,
        bob!.token,
        again,
        "large.bin",
      );
      assert.ok(kept.ok, JSON.stringify(kept));
    } finally {
      await context.close();
    }
  });
});
