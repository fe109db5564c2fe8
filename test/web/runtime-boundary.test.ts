// The browser's side of the "one protocol, two runtimes" rule (docs/web.md): the protocol, the browser
// provider, the provider interface, the web app and the browser store, and every module they import,
// have no `node:` import and no Buffer (so nothing of src/crypto's node:crypto modules either: each
// imports node:). The Vite build would fail on a `node:` import only when that code is bundled; this
// test fails at once and names the file. test/browser/protocol-session.test.ts bundles src/protocol.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..", "..");
const BROWSER_ROOTS = [
  "src/protocol",
  "src/crypto/provider",
  "src/crypto/web",
  "src/web",
  "src/client/browser-store",
  // The protocol's store over the local tables: what a browser client decides through, as the CLI does.
  "src/client/local-store/protocol-stores.ts",
  // The key-transparency verifier (docs/audit.md "Two runtimes"); the log and its signer stay the relay's.
  "src/audit/kt-verifier.ts",
  "src/audit/checkpoint-tracker.ts",
  "src/audit/checkpoint.ts",
  "src/audit/log-key.ts",
  "src/audit/signed-note.ts",
  "src/audit/merkle-verify.ts",
  "src/audit/merkle-hash.ts",
  "src/audit/kt-leaf.ts",
  "src/audit/salted-commitment.ts",
  "src/audit/_leaf-codec.ts",
  // The client the page runs (src/web/browser-runtime.ts opens it): the SDK's operations over any home.
  "src/client/client-core.ts",
  "src/client/messenger",
];

function tsFiles(folder: string): string[] {
  if (folder.endsWith(".ts")) return [join(ROOT, folder)];
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
  // Node's alone: in a page it throws (src/client/next-turn.ts asks globalThis first).
  if (/(?<!globalThis\.)\bsetImmediate\b/.test(text)) found.push("uses setImmediate");
  return found;
}

/** Every problem of every module reachable from `roots`, and how many modules were walked. */
function walk(roots: readonly string[]): { findings: string[]; walked: number } {
  const seen = new Set<string>();
  const queue = [...roots];
  const findings: string[] = [];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    assert.ok(existsSync(file), `${relative(ROOT, file)} is imported but does not exist`);
    for (const problem of problems(file)) findings.push(`${relative(ROOT, file)}: ${problem}`);
    queue.push(...relativeImports(file));
  }
  return { findings, walked: seen.size };
}

test("the protocol, the browser provider, the provider interface, the web app, the browser store and the key-transparency verifier reach no node: module and no Buffer", () => {
  const roots = BROWSER_ROOTS.flatMap(tsFiles);
  assert.ok(roots.length > 50, "the roots hold the protocol, the provider and the app");
  const { findings, walked } = walk(roots);
  assert.deepEqual(findings, []);
  assert.ok(walked > 70, `walked ${walked} modules`);
});

test("the walk finds a node: import behind a re-export (the guard can fail)", () => {
  // src/crypto/index.ts is the node:crypto core: its modules must be found through its re-exports.
  const { findings } = walk([join(ROOT, "src/crypto/index.ts")]);
  assert.ok(
    findings.some((finding) => finding.startsWith("src/crypto/hash.ts: imports node:")),
    findings.join("; "),
  );
  assert.ok(findings.some((finding) => finding.includes("uses Buffer") || finding.includes("imports node:")));
});

/**
 * Client modules already cleared for the page (docs/web.md "Plan for the browser client",
 * steps 1, 3 and 4): each must stay free of node:, Buffer and process itself. What they import is
 * reported by the next test until the whole client path is clear and joins BROWSER_ROOTS.
 */
const CLEARED_FOR_THE_PAGE = [
  "src/client/context.ts",
  "src/client/client-runtime.ts",
  "src/client/home/open-home.ts",
  "src/client/home/client-config.ts",
  "src/client/operations/history.ts",
  "src/client/operations/claim-username.ts",
  "src/client/home/local-identity.ts",
  "src/client/transport/relay-link.ts",
  "src/client/transport/relay-api.ts",
  "src/client/transport/relay-channel.ts",
  "src/client/transport/relay-fetch.ts",
  "src/client/operations/send.ts",
  "src/client/operations/receive.ts",
  "src/client/operations/quarantine.ts",
  "src/client/attachments/attachment-stream.ts",
  "src/client/messaging/attachments.ts",
  "src/client/messaging/attachment-sink.ts",
  "src/client/messaging/delivery-receipts.ts",
  "src/client/operations/pending.ts",
  "src/client/operations/contacts.ts",
  "src/client/operations/contact-blocks.ts",
  "src/client/operations/verify.ts",
  "src/client/outbox/outbox.ts",
  "src/client/trust/kt-client.ts",
  "src/client/trust/peer-checks.ts",
  "src/client/trust/peer-identity.ts",
  "src/client/home/identity-seeds.ts",
  "src/client/home/fingerprints.ts",
  "src/client/operations/status.ts",
  "src/client/operations/export-document.ts",
  "src/client/client-core.ts",
  "src/text/base64.ts",
  "src/text/utf8-length.ts",
];

/** Relative value imports (a type-only import is erased from the bundle). */
function valueImports(file: string): string[] {
  return [...code(file).matchAll(/^import\s+(?!type\s)[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gm)].map((match) =>
    resolve(dirname(file), match[1]!),
  );
}

test("the client modules cleared for the page use no node:, Buffer or process, nor import src/crypto's node modules", () => {
  const findings = CLEARED_FOR_THE_PAGE.flatMap((path) => {
    const file = join(ROOT, path);
    const own = problems(file).map((problem) => `${path}: ${problem}`);
    // src/crypto/index.ts re-exports the node:crypto core: `utf8` from there pulls it into the page.
    const crypto = valueImports(file)
      .map((target) => relative(ROOT, target))
      .filter((target) => target.startsWith("src/crypto/") && !target.startsWith("src/crypto/provider/"))
      .filter((target) => walk([join(ROOT, target)]).findings.length > 0)
      .map((target) => `${path}: imports ${target}`);
    return [...own, ...crypto];
  });
  assert.deepEqual(findings, []);
});

/**
 * Operations of the Node home alone: the page creates, exports and replaces its identity through its
 * own runtime (docs/web.md "Plan for the browser client", step 5), so these are not on its path.
 */
const NODE_ONLY_OPERATIONS = new Set(["init.ts", "export-home.ts", "replace-identity.ts"]);

/**
 * Every operation the page may run, whether ClientCore reaches it today or not (the roots above walk
 * only what is imported): its value imports reach no node: module, Buffer, process or setImmediate.
 */
test("every operation of the SDK but the Node home's own runs in the page", () => {
  const seen = new Set<string>();
  const operations = tsFiles("src/client/operations").filter(
    (file) => !NODE_ONLY_OPERATIONS.has(file.slice(file.lastIndexOf("/") + 1)),
  );
  assert.ok(operations.length > 10, "the operations the page runs are walked");
  const queue = [join(ROOT, "src/client/messenger/client-messenger.ts"), ...operations];
  const left: string[] = [];
  while (queue.length > 0) {
    const file = queue.pop()!;
    const path = relative(ROOT, file);
    // src/protocol and the browser provider are guarded above; src/crypto's node:crypto core is not,
    // and a client module importing it (for utf8 or toHex too) would pull node:crypto into the page.
    if (seen.has(file) || path.startsWith("src/protocol") || path.startsWith("src/crypto/provider")) continue;
    seen.add(file);
    for (const problem of problems(file)) left.push(`${path}: ${problem}`);
    queue.push(...valueImports(file));
  }
  assert.deepEqual(left.sort(), []);
});
