// The browser's side of the "one protocol, two runtimes" rule (docs/web.md): the browser provider, the
// provider interface, the web app and the browser store, and every module they import, have no `node:` import and no
// Buffer. The Vite build would fail on a `node:` import only when that code is bundled; this test
// fails at once, names the file, and also lists what src/protocol still has to lose (next wave).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..", "..");
const BROWSER_ROOTS = ["src/crypto/provider", "src/crypto/web", "src/web", "src/client/browser-store"];

function tsFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(ROOT, folder, name));
}

/** Relative imports of a file, resolved to paths (type-only imports included: cheap and strict). */
function relativeImports(file: string): string[] {
  const source = readFileSync(file, "utf8");
  return [...source.matchAll(/from\s+"(\.{1,2}\/[^"]+)"/g)].map((match) => resolve(dirname(file), match[1]!));
}

/** Code without comments and string contents, so a comment that says "Buffer" is not a finding. */
function code(file: string): string {
  return readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/`(?:\\.|[^`\\])*`/g, "``");
}

function problems(file: string): string[] {
  const found: string[] = [];
  const text = code(file);
  if (/from\s+"node:/.test(text) || /import\(\s*"node:/.test(text)) found.push("imports node:");
  if (/\bBuffer\b/.test(text)) found.push("uses Buffer");
  if (/\bprocess\./.test(text)) found.push("uses process");
  return found;
}

test("the browser provider, the provider interface, the web app and the browser store reach no node: module and no Buffer", () => {
  const seen = new Set<string>();
  const queue = BROWSER_ROOTS.flatMap(tsFiles);
  assert.ok(queue.length > 10, "the browser roots hold the provider and the app");
  const findings: string[] = [];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    assert.ok(existsSync(file), `${relative(ROOT, file)} is imported but does not exist`);
    for (const problem of problems(file)) findings.push(`${relative(ROOT, file)}: ${problem}`);
    queue.push(...relativeImports(file));
  }
  assert.deepEqual(findings, []);
  assert.ok(seen.size > 30, `walked ${seen.size} modules`);
});

test("what src/protocol still has to lose before it runs in the browser (reported, not failed)", (t) => {
  const left = tsFiles("src/protocol").flatMap((file) =>
    problems(file).map((p) => `${relative(ROOT, file)}: ${p}`),
  );
  t.diagnostic(left.length === 0 ? "nothing: src/protocol is runtime-neutral" : left.join("; "));
});
