import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const root = new URL("..", import.meta.url).pathname;

/**
 * Runs an entrypoint under a Node that reports an old version. process.versions.node is redefined
 * before the entrypoint loads, so this works whatever Node runs the tests (CI's PATH has Node 20, but
 * the tests themselves run on the pinned Node 24).
 */
function runAsOldNode(entry: string, args: string[] = []): { status: number | null; stderr: string } {
  const preload = `Object.defineProperty(process.versions, "node", { value: "20.20.2" });`;
  const result = spawnSync(
    process.execPath,
    ["--import", `data:text/javascript,${encodeURIComponent(preload)}`, entry, ...args],
    { cwd: root, encoding: "utf8", timeout: 30_000 },
  );
  return { status: result.status, stderr: result.stderr };
}

for (const [entry, tool] of [
  ["bin/nano-relay.js", "nano-relay"],
  ["bin/nano-client.js", "nano-client"],
  ["bin/_run-ts.js", "nano-messenger"],
  ["scripts/test.js", "npm test"],
] as const) {
  test(`${entry} explains an old Node and exits 78 before loading any TypeScript`, () => {
    const { status, stderr } = runAsOldNode(entry, entry === "bin/_run-ts.js" ? ["bench/run.ts"] : []);
    assert.equal(status, 78);
    assert.match(
      stderr,
      new RegExp(`^${tool}: Node 24\\.12 or newer is required, but this is Node 20\\.20\\.2`),
    );
    assert.match(stderr, /hint: run it through npm/);
  });
}
