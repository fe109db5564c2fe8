// The browser's relay transport (src/client/transport/relay-fetch.ts) in Chromium against a real relay
// process that serves the test page from its own origin (as it serves the app): every answer and every
// typed failure must be what the Node transport gets for the same request — success bodies, the
// relay's error codes, the size limit, an unreachable relay — plus what only the browser path has:
// upload progress over XHR, a streamed download verified byte for byte, a download abandoned early,
// a private CA refused, and a connection the CSP blocks surfacing as relay_unreachable, not a crash.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { z } from "zod";
import { writeChecksums } from "../../scripts/web/checksums.ts";
import { endpointFromUrl, requestJson } from "../../src/client/transport/relay-http.ts";
import { MessagesAnswer, SendAnswer } from "../../src/wire/index.ts";
import { tempDir, testConfig } from "../relay/fixtures/harness.ts";
import { testEnvelope } from "../relay/fixtures/identities.ts";
import { RelayProcess, signUpOver } from "../relay/fixtures/processes.ts";
import { type BuiltPage, bundlePage } from "./_bundle.ts";
import { launchChromium, needChromium } from "./_chromium.ts";
import type { Outcome } from "./pages/relay-fetch/main.ts";

const PAGE = new URL("./pages/relay-fetch/", import.meta.url).pathname;

/** The page's pattern bytes (main.ts), made here to hash them. */
const pattern = (size: number) => new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);

type Api = Record<string, (...args: unknown[]) => Promise<Outcome<unknown>>>;

describe("the fetch transport in Chromium, against a real relay", () => {
  let built: BuiltPage | undefined;
  let relay: RelayProcess | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let available = false;
  /** Content-Security-Policy violations the page reported (none expected: zod runs jitless). */
  const violations: string[] = [];

  before(async (t) => {
    if (!needChromium(t as unknown as Parameters<typeof needChromium>[0])) return;
    built = await bundlePage(PAGE);
    await writeChecksums(built.dir);
    const dir = tempDir("web-fetch");
    relay = new RelayProcess(testConfig({ web: { enabled: true, static_dir: built.dir } }, dir), dir);
    await relay.start();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on("pageerror", (error) => process.stderr.write(`page error: ${error.message}\n`));
    await page.exposeFunction("nanoReportViolation", (text: string) => violations.push(text));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        (globalThis as unknown as { nanoReportViolation(text: string): void }).nanoReportViolation(
          `${event.violatedDirective} ${event.blockedURI}`,
        );
      });
    });
    await page.goto(`${relay.url}/`);
    await page.waitForFunction("document.getElementById('status')?.textContent === 'ready'");
    available = true;
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
    await built?.remove();
  });

  const call = <T>(name: string, ...args: unknown[]): Promise<Outcome<T>> =>
    page!.evaluate(
      ([n, a]) =>
        (globalThis as unknown as { nanoRelayFetch: Api }).nanoRelayFetch[n as string]!(...(a as unknown[])),
      [name, args] as const,
    ) as Promise<Outcome<T>>;

  /** The Node transport's outcome for the same JSON request. */
  const viaNode = async (method: "GET" | "POST", path: string, body?: unknown, token?: string) => {
    try {
      const value = await requestJson(
        endpointFromUrl(relay!.url, null),
        {
          method,
          path,
          ...(body === undefined ? {} : { body }),
          ...(token === undefined ? {} : { token }),
        },
        z.unknown(),
      );
      return { ok: true as const, value };
    } catch (error) {
      return { ok: false as const, code: (error as { code: string }).code };
    }
  };

  it("JSON answers and the relay's typed errors are the Node transport's, request for request", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const { token } = await signUpOver(relay!.url, "fetchcarol");
    const cases: [string, "GET" | "POST", string, unknown, string | undefined][] = [
      ["a challenge", "POST", "/v1/challenges", { purpose: "auth", username: "fetchcarol" }, undefined],
      ["a malformed body", "POST", "/v1/challenges", { purpose: "nonsense" }, undefined],
      ["an unknown route", "GET", "/v1/nothing-here", undefined, undefined],
      ["no token", "GET", "/v1/prekeys", undefined, undefined],
      ["a forged token", "GET", "/v1/prekeys", undefined, "forged"],
      ["an authenticated read", "GET", "/v1/prekeys", undefined, token],
      ["an unknown account", "GET", "/v1/accounts/nobody-here", undefined, token],
    ];
    for (const [name, method, path, body, bearer] of cases) {
      const browserSide = await call<unknown>("json", relay!.url, method, path, body, bearer);
      const nodeSide = await viaNode(method, path, body, bearer);
      assert.equal(browserSide.ok, nodeSide.ok, `${name}: ${JSON.stringify(browserSide)}`);
      if (!browserSide.ok && !nodeSide.ok) {
        assert.equal(browserSide.code, nodeSide.code, name);
        assert.doesNotMatch(browserSide.code, /^uncaught/, name);
      } else if (browserSide.ok && nodeSide.ok && name !== "a challenge") {
        assert.deepEqual(browserSide.value, nodeSide.value, name);
      }
    }
  });

  it("a 2xx answer the wire contract refuses is relay_answer_malformed in the page too, with no CSP violation", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const real = await call<{ challenge: string }>("challenge", relay!.url, "fetchcarol");
    assert.ok(real.ok && real.value.challenge.length > 0, JSON.stringify(real));
    // The relay's answer replaced on the way: a hostile or broken relay (or a proxy) answering 200.
    const hostile: [string, string][] = [
      ["a mistyped field", JSON.stringify({ challenge: 5, expires_at: Date.now() + 60_000 })],
      ["a missing field", JSON.stringify({ expires_at: Date.now() + 60_000 })],
      ["a body that is not JSON", "<html>maintenance</html>"],
      ["null", "null"],
    ];
    try {
      for (const [name, body] of hostile) {
        await page!.route("**/v1/challenges", (route) =>
          route.fulfill({ status: 200, contentType: "application/json", body }),
        );
        const refused = await call("challenge", relay!.url, "fetchcarol");
        assert.equal(
          !refused.ok && refused.code,
          "relay_answer_malformed",
          `${name}: ${JSON.stringify(refused)}`,
        );
        await page!.unroute("**/v1/challenges");
      }
    } finally {
      await page!.unroute("**/v1/challenges");
    }
    // The schemas ran (here and in every test before) under the relay's strict CSP without asking
    // for code generation: jitless-parsing.ts is the page's first import.
    assert.deepEqual(violations, []);
  });

  it("an answer over the size limit is relay_rejected; the relay's clock is read from its Date header", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    assert.deepEqual(await call("limited", relay!.url, "/healthz", 1 << 20), { ok: true, value: 200 });
    const limited = await call("limited", relay!.url, "/healthz", 4);
    assert.equal(limited.ok, false);
    assert.equal(!limited.ok && limited.code, "relay_rejected");
    const time = await call<number>("relayTime", relay!.url);
    assert.ok(time.ok && Math.abs(time.value - Date.now()) < 60_000, JSON.stringify(time));
    const ca = await call("withCa", relay!.url);
    assert.equal(!ca.ok && ca.code, "invalid_argument");
  });

  it("an attachment goes up with progress in pieces and comes down streamed, byte for byte", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const alice = await signUpOver(relay!.url, "fetchalice");
    const bob = await signUpOver(relay!.url, "fetchbob");
    const size = 3 * 1024 * 1024 + 17;
    const hash = createHash("blake2b512").update(pattern(size)).digest("hex");
    const up = await call<{ status: number; progress: [number, number][] }>(
      "upload",
      relay!.url,
      alice.token,
      hash,
      "fetchbob",
      size,
      5,
    );
    assert.ok(up.ok, JSON.stringify(up));
    assert.equal(up.value.status, 201);
    const sent = up.value.progress.map(([done]) => done);
    assert.ok(sent.length >= 1 && sent.at(-1) === size, `progress ends at the size: ${sent.join(",")}`);
    assert.ok(
      sent.every((done, i) => i === 0 || done >= sent[i - 1]!),
      "progress never goes back",
    );
    assert.ok(up.value.progress.every(([, total]) => total === size));

    const down = await call<{
      length: number;
      announced: number;
      same: boolean;
      pieces: number;
      last: [number, number];
    }>("download", relay!.url, bob.token, hash);
    assert.ok(down.ok, JSON.stringify(down));
    assert.equal(down.value.length, size);
    assert.equal(down.value.announced, size);
    assert.equal(down.value.same, true);
    assert.deepEqual(down.value.last, [size, size]);
    assert.ok(down.value.pieces >= 2, "streamed in pieces, not held whole");

    // Leaving the loop early cancels the rest (a chunk that failed to verify): no hang, no error.
    const early = await call<{ pieces: number }>("download", relay!.url, bob.token, hash, 1);
    assert.ok(early.ok && early.value.pieces === 1, JSON.stringify(early));
    // Not a recipient, and a hash that is nowhere: the same typed 404, as in Node.
    const carol = await signUpOver(relay!.url, "fetchdave");
    for (const [token, target] of [
      [carol.token, hash],
      [bob.token, "ab".repeat(64)],
    ] as const) {
      const missing = await call("download", relay!.url, token, target);
      assert.equal(!missing.ok && missing.code, "attachment_not_found");
    }
  });

  /** The channel page's helpers (pages/relay-fetch/main.ts `nanoChannel`). */
  const channel = (name: string, ...args: unknown[]): Promise<unknown> =>
    page!.evaluate(
      ([n, a]) =>
        (globalThis as unknown as { nanoChannel: Record<string, (...args: unknown[]) => unknown> })
          .nanoChannel[n as string]!(...(a as unknown[])),
      [name, args] as const,
    );
  const seen = (name: string) => channel("seen", name) as Promise<string[]>;
  const frames = async (name: string) =>
    (await seen(name))
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const waitSeen = async (name: string, what: string, check: (lines: string[]) => boolean) => {
    for (let i = 0; i < 200; i++) {
      if (check(await seen(name))) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.fail(`${name}: no ${what}: ${(await seen(name)).join(" | ")}`);
  };

  it("the browser's WebSocket: the token as the first frame, pushes in order across a pause, a send answered, a bad token 4401", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const alice = await signUpOver(relay!.url, "wsalice");
    const bob = await signUpOver(relay!.url, "wsbob");
    await channel("open", "alice", relay!.url, alice.token);
    await waitSeen("alice", "ready", (lines) => lines.some((line) => line.includes('"ready"')));
    assert.equal((await seen("alice"))[0], "open");
    assert.equal(await channel("ping", "alice"), false, "the browser has no ping of its own");

    // Paused: pushes are held, then handed over in the relay's order.
    await channel("pause", "alice");
    const endpoint = endpointFromUrl(relay!.url, null);
    for (const marker of ["one", "two", "three"]) {
      await requestJson(
        endpoint,
        {
          method: "POST",
          path: "/v1/messages",
          token: bob.token,
          body: {
            to: "wsalice",
            client_message_id: `ws-${marker}`,
            envelope: Buffer.from(testEnvelope(marker)).toString("base64"),
          },
        },
        SendAnswer,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(
      (await frames("alice")).filter((frame) => frame.type === "message").length,
      0,
      "held while paused",
    );
    await channel("resume", "alice");
    await waitSeen(
      "alice",
      "three pushes",
      (lines) => lines.filter((line) => line.includes('"message"')).length === 3,
    );
    const pushed = (await frames("alice")).filter((frame) => frame.type === "message");
    assert.deepEqual(
      pushed.map((frame) => frame.envelope),
      ["one", "two", "three"].map((marker) => Buffer.from(testEnvelope(marker)).toString("base64")),
    );

    // A send on the socket is answered `sent` after the relay's commit.
    await channel(
      "send",
      "alice",
      JSON.stringify({
        type: "send",
        id: "ws-from-alice",
        to: "wsbob",
        envelope: Buffer.from(testEnvelope("back")).toString("base64"),
      }),
    );
    await waitSeen("alice", "sent", (lines) => lines.some((line) => line.includes('"sent"')));
    assert.equal((await frames("alice")).find((frame) => frame.type === "sent")?.id, "ws-from-alice");

    // A forged token: closed with 4401 before any ready.
    await channel("open", "forged", relay!.url, "forged-token");
    await waitSeen("forged", "close", (lines) => lines.some((line) => line.startsWith("close:")));
    assert.ok((await seen("forged")).includes("close:4401"), (await seen("forged")).join(" | "));
    assert.ok(!(await seen("forged")).some((line) => line.includes('"ready"')));

    // A frame over the socket's limit: refused and closed (as ws does with maxPayload).
    await channel("open", "small", relay!.url, alice.token, 64);
    await waitSeen("small", "the oversized push refused", (lines) => lines.includes("error:too-large"));
    assert.ok((await seen("small")).includes("close:1009"));
    await channel("terminate", "alice");
    assert.ok((await seen("alice")).includes("close:1006"));
  });

  it("the SDK's relay channel runs in the page: pushes decoded byte for byte, acks delete, a send is stored", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const sdk = (name: string, ...args: unknown[]): Promise<unknown> =>
      page!.evaluate(
        ([n, a]) =>
          (globalThis as unknown as { nanoRelayChannel: Record<string, (...args: unknown[]) => unknown> })
            .nanoRelayChannel[n as string]!(...(a as unknown[])),
        [name, args] as const,
      );
    const carol = await signUpOver(relay!.url, "chcarol");
    const dave = await signUpOver(relay!.url, "chdave");
    const endpoint = endpointFromUrl(relay!.url, null);
    await sdk("open", "carol", relay!.url, carol.token);
    const envelopes = ["first", "second"].map((marker) => testEnvelope(marker));
    for (const [i, envelope] of envelopes.entries()) {
      await requestJson(
        endpoint,
        {
          method: "POST",
          path: "/v1/messages",
          token: dave.token,
          body: {
            to: "chcarol",
            client_message_id: `ch-${i}`,
            envelope: Buffer.from(envelope).toString("base64"),
          },
        },
        SendAnswer,
      );
    }
    let state = { pushed: [] as string[], ready: 0 };
    for (let i = 0; i < 200 && state.pushed.length < 2; i++) {
      state = (await sdk("state", "carol")) as typeof state;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.ok(state.ready >= 1);
    assert.deepEqual(
      state.pushed.map((line) => line.split(":").slice(1)),
      envelopes.map((envelope) => ["chdave", Buffer.from(envelope).toString("hex")]),
    );
    const ids = state.pushed.map((line) => Number(line.split(":")[0]));
    assert.equal(((await sdk("ack", "carol", ids)) as { ok: boolean }).ok, true);
    const left = await requestJson(
      endpoint,
      {
        method: "GET",
        path: "/v1/messages?after=0",
        token: carol.token,
      },
      MessagesAnswer,
    );
    assert.deepEqual(left.messages, [], "acknowledged from the page: deleted at the relay");

    const reply = testEnvelope("reply from the page");
    const sent = (await sdk("send", "carol", "chdave", "ch-reply", Buffer.from(reply).toString("hex"))) as {
      ok: boolean;
      value: { serverId: number };
    };
    assert.ok(sent.ok && sent.value.serverId > 0, JSON.stringify(sent));
    const inbox = await requestJson(
      endpoint,
      {
        method: "GET",
        path: "/v1/messages?after=0",
        token: dave.token,
      },
      MessagesAnswer,
    );
    assert.deepEqual(
      inbox.messages.map((message) => [message.from, message.envelope]),
      [["chcarol", Buffer.from(reply).toString("base64")]],
    );
    await sdk("close", "carol");
  });

  it("a relay the CSP does not allow, and a relay that is down, are relay_unreachable", async (t) => {
    if (!available) return t.skip("Chromium is missing");
    const elsewhere = await call("json", "http://127.0.0.1:9", "GET", "/healthz");
    assert.equal(!elsewhere.ok && elsewhere.code, "relay_unreachable");
    const url = relay!.url;
    await relay!.stop();
    const down = await call("json", url, "GET", "/healthz");
    assert.equal(!down.ok && down.code, "relay_unreachable");
    relay = undefined;
  });
});
