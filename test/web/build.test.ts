// The web app's build (scripts/web/build.ts, docs/web.md "Reproducible builds"): the same source gives
// the same bytes and the same published hash; index.html has no inline script, a strict CSP <meta>,
// and an integrity hash on every script and stylesheet that matches the file; SHA256SUMS covers
// every file.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { CONTENT_SECURITY_POLICY_META } from "../../src/web/security-policy.ts";
import { temporaryWebBuild } from "../support/web-build.ts";

type Build = Awaited<ReturnType<typeof temporaryWebBuild>>;

function filesOf(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(root, path), readFileSync(path));
  }
  return out;
}

describe("web app build", () => {
  let first: Build;
  let second: Build;
  before(async () => {
    first = await temporaryWebBuild();
    second = await temporaryWebBuild();
  });
  after(async () => {
    await first?.remove();
    await second?.remove();
  });

  it("is reproducible: two builds give the same files, byte for byte, and the same hash", () => {
    const a = filesOf(first.outDir);
    const b = filesOf(second.outDir);
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${name} differs between builds`);
    assert.equal(first.treeHash, second.treeHash);
    assert.match(first.treeHash, /^[0-9a-f]{64}$/);
    assert.equal(
      first.treeHash,
      createHash("sha256")
        .update(readFileSync(join(first.outDir, "SHA256SUMS")))
        .digest("hex"),
      "the published hash is sha256(SHA256SUMS)",
    );
  });

  it("SHA256SUMS lists every other file with its SHA-256", () => {
    const files = filesOf(first.outDir);
    const sums = files.get("SHA256SUMS")!.toString("utf8").trimEnd().split("\n");
    assert.equal(sums.length, files.size - 1);
    for (const line of sums) {
      const [digest, name] = line.split("  ");
      assert.ok(digest && name, line);
      assert.equal(createHash("sha256").update(files.get(name)!).digest("hex"), digest, name);
    }
  });

  it("index.html: CSP meta first, no inline script, an integrity hash on every script and stylesheet", () => {
    const files = filesOf(first.outDir);
    const html = files.get("index.html")!.toString("utf8");
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
    assert.ok(csp, "CSP meta");
    assert.equal(csp[1]!.replaceAll("&#39;", "'"), CONTENT_SECURITY_POLICY_META);
    assert.ok(
      html.indexOf("Content-Security-Policy") < html.indexOf("<script"),
      "the CSP precedes every script",
    );
    assert.doesNotMatch(CONTENT_SECURITY_POLICY_META, /unsafe-inline|unsafe-eval|\*/);
    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((match) => match[1]!);
    const styles = [...html.matchAll(/<link\b([^>]*rel="stylesheet"[^>]*)>/g)].map((match) => match[1]!);
    assert.ok(scripts.length >= 1 && styles.length >= 1);
    for (const attributes of [...scripts, ...styles]) {
      const reference = /(?:src|href)="\.\/([^"]+)"/.exec(attributes)?.[1];
      const integrity = /integrity="sha384-([^"]+)"/.exec(attributes)?.[1];
      assert.ok(
        reference && integrity,
        `a script or stylesheet without src/href or integrity: ${attributes}`,
      );
      const expected = createHash("sha384").update(files.get(reference)!).digest("base64");
      assert.equal(integrity, expected, reference);
    }
    // Every script file of the build is referenced from index.html (nothing loads unhashed).
    for (const name of files.keys()) {
      if (name.endsWith(".js")) assert.ok(html.includes(`./${name}`), `${name} is not named in index.html`);
    }
  });
});
