// The relay serving the web app (`[web] enabled = true`, docs/web.md): same origin, strict CSP and
// security headers on every file, one route per built file (traversal and unknown paths stay the
// API's typed 404), ETags; and at start, a missing, corrupt, padded or oversized build is refused with
// `web_app_unavailable` instead of being served.
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NanoError } from "../../src/errors/index.ts";
import { loadWebApp, WEB_APP_LIMITS } from "../../src/relay/web-app.ts";
import { CONTENT_SECURITY_POLICY_HEADER } from "../../src/web/security-policy.ts";
import { temporaryWebBuild } from "../support/web-build.ts";
import { buildTestRelay, errorCode, type TestRelay, tempDir } from "./fixtures/harness.ts";

type Build = Awaited<ReturnType<typeof temporaryWebBuild>>;

async function copyOf(build: Build): Promise<string> {
  const dir = join(tempDir("web-copy"), "web");
  await cp(build.outDir, dir, { recursive: true });
  return dir;
}

async function refused(dir: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadWebApp(dir), (error: unknown) => {
    assert.ok(NanoError.is(error, "web_app_unavailable"), String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

describe("relay web app serving", () => {
  let build: Build;
  let relay: TestRelay;
  let assetPath: string;
  before(async () => {
    build = await temporaryWebBuild();
    relay = await buildTestRelay({ web: { enabled: true, static_dir: build.outDir } });
    const html = readFileSync(join(build.outDir, "index.html"), "utf8");
    assetPath = /src="\.(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
  });
  after(async () => {
    await relay?.close();
    await build?.remove();
  });

  it("serves index.html at / with the strict CSP and the security headers", async () => {
    const response = await relay.app.inject({ method: "GET", url: "/" });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(response.headers["content-security-policy"], CONTENT_SECURITY_POLICY_HEADER);
    assert.match(CONTENT_SECURITY_POLICY_HEADER, /frame-ancestors 'none'/);
    assert.equal(response.headers["x-content-type-options"], "nosniff");
    assert.equal(response.headers["cross-origin-opener-policy"], "same-origin");
    assert.equal(response.headers["cache-control"], "no-cache");
    assert.equal(response.body, readFileSync(join(build.outDir, "index.html"), "utf8"));
  });

  it("serves hashed assets as immutable, answers HEAD and If-None-Match", async () => {
    const response = await relay.app.inject({ method: "GET", url: assetPath });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers["content-type"], "text/javascript; charset=utf-8");
    assert.match(String(response.headers["cache-control"]), /immutable/);
    const etag = String(response.headers.etag);
    const again = await relay.app.inject({
      method: "GET",
      url: assetPath,
      headers: { "if-none-match": etag },
    });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, "");
    const head = await relay.app.inject({ method: "HEAD", url: assetPath });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, "");
    const sums = await relay.app.inject({ method: "GET", url: "/SHA256SUMS" });
    assert.equal(sums.statusCode, 200);
  });

  it("unknown, traversal and encoded paths are the API's typed 404; writes are not routed", async () => {
    for (const url of [
      "/index.html/../../etc/passwd",
      "/../package.json",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/assets/..%2f..%2fpackage.json",
      "/assets/",
      "/assets/missing.js",
      "/v1/nothing",
      `${assetPath}%00`,
    ]) {
      const response = await relay.app.inject({ method: "GET", url });
      assert.equal(response.statusCode, 404, url);
      assert.equal(errorCode(response), "route_not_found", url);
    }
    const post = await relay.app.inject({ method: "POST", url: "/", payload: "x" });
    assert.equal(post.statusCode, 404);
  });

  it("is off by default: no route at /", async () => {
    const plain = await buildTestRelay();
    try {
      assert.equal((await plain.app.inject({ method: "GET", url: "/" })).statusCode, 404);
    } finally {
      await plain.close();
    }
  });

  it("refuses a missing build, a changed file, an unlisted file and a missing listed file", async () => {
    await refused(join(tempDir("web-none"), "absent"), /run npm run build:web/);
    const changed = await copyOf(build);
    appendFileSync(join(changed, "assets", assetPath.split("/").pop()!), "\n// injected");
    await refused(changed, /differs from its SHA256SUMS/);
    const padded = await copyOf(build);
    writeFileSync(join(padded, "assets", "extra.js"), "alert(1)");
    await refused(padded, /not listed/);
    const partial = await copyOf(build);
    writeFileSync(join(partial, "SHA256SUMS"), `${"0".repeat(64)}  assets/gone.js\n`, { flag: "a" });
    await refused(partial, /missing: assets\/gone\.js/);
    const noIndex = await copyOf(build);
    writeFileSync(join(noIndex, "SHA256SUMS"), "");
    await refused(noIndex, /not listed/);
  });

  it("refuses a malformed SHA256SUMS, a path escaping the build, and too many files", async () => {
    const malformed = await copyOf(build);
    writeFileSync(join(malformed, "SHA256SUMS"), "not a checksum line\n");
    await refused(malformed, /malformed SHA256SUMS/);
    const escaping = await copyOf(build);
    writeFileSync(join(escaping, "SHA256SUMS"), `${"0".repeat(64)}  ../outside.js\n`, { flag: "a" });
    await refused(escaping, /malformed SHA256SUMS/);
    const crowded = await copyOf(build);
    mkdirSync(join(crowded, "many"));
    for (let i = 0; i <= WEB_APP_LIMITS.files; i++) writeFileSync(join(crowded, "many", `${i}.txt`), "");
    await refused(crowded, /more than/);
  });

  it("does not follow a symbolic link out of the build", async () => {
    const linked = await copyOf(build);
    symlinkSync("/etc/hostname", join(linked, "assets", "hostname.txt"));
    const web = await loadWebApp(linked);
    assert.ok(web.files.every((file) => !file.path.includes("hostname")));
    assert.equal(web.treeHash, build.treeHash);
  });

  it("a relay with a broken build does not start", async () => {
    await assert.rejects(
      buildTestRelay({ web: { enabled: true, static_dir: join(tempDir("web-none"), "absent") } }),
      (error: unknown) => NanoError.is(error, "web_app_unavailable"),
    );
  });
});
