// The browser store is bundled into the web app: nothing it imports, transitively, may import `node:`
// or call Buffer (Vite would only warn and leave a module that fails when the page runs it). This
// walks the static import graph from src/client/browser-store/index.ts and refuses either.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { test } from "node:test";

const ENTRY = new URL("../../src/client/browser-store/index.ts", import.meta.url).pathname;
const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms;

/** The source without comments, so a comment that names Buffer or node: is not a finding. */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

export function importGraphFindings(entry: string): { files: number; findings: string[] } {
  const seen = new Set<string>();
  const findings: string[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = code(readFileSync(file, "utf8"));
    if (/\bBuffer\s*\.\s*(from|alloc|allocUnsafe|allocUnsafeSlow|byteLength|concat|isBuffer)\b/.test(source))
      findings.push(`${file}: calls Buffer`);
    for (const [, specifier] of source.matchAll(IMPORT)) {
      if (specifier === undefined) continue;
      if (specifier.startsWith("node:")) findings.push(`${file}: imports ${specifier}`);
      else if (specifier.startsWith(".")) queue.push(resolve(dirname(file), specifier));
    }
  }
  return { files: seen.size, findings };
}

test("the browser store's import graph has no node: import and no Buffer call", () => {
  const { files, findings } = importGraphFindings(ENTRY);
  assert.ok(files > 10, `walked ${files} files`);
  assert.deepEqual(findings, []);
});

test("the guard can fail: the SQLite store's graph is refused", () => {
  const sqlite = new URL("../../src/client/local-store/local-store.ts", import.meta.url).pathname;
  const { findings } = importGraphFindings(sqlite);
  assert.ok(
    findings.some((finding) => finding.includes("imports node:sqlite")),
    findings.join("\n"),
  );
});
