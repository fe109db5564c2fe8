import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("..", import.meta.url).pathname;

/**
 * Runs an entrypoint under a Node that reports an old version. process.versions.node is redefined
 * before the entrypoint loads, so this works whatever Node runs the tests (CI's PATH has Node 20, but
 * the tests themselves run on the pinned Node 24).
 */
function runAsOldNode(
  entry: string,
  args: string[] = [],
  pinned = "/nonexistent/node",
): { status: number | null; stdout: string; stderr: string } {
  const preload = `Object.defineProperty(process.versions, "node", { value: "20.20.2" });`;
  const result = spawnSync(
    process.execPath,
    ["--import", `data:text/javascript,${encodeURIComponent(preload)}`, entry, ...args],
    // NANO_NODE: the Node 24 a too-old Node re-runs the command under; none here, so it explains.
    { cwd: root, encoding: "utf8", timeout: 30_000, env: { ...process.env, NANO_NODE: pinned } },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("on an old Node, the commands re-run themselves under the Node 24 the package brings", () => {
  // A second path to this Node 24 stands in for node_modules/node/bin/node (the same path as the one
  // running would be refused: it cannot fix anything and would loop).
  const dir = mkdtempSync(join(tmpdir(), "nano-node-"));
  const pinned = join(dir, "node");
  symlinkSync(process.execPath, pinned);
  for (const tool of ["nano-client", "nano-relay"]) {
    const run = runAsOldNode(`bin/${tool}.js`, ["--version"], pinned);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^${tool} \\S+ \\(Node 24\\.`));
  }
  const usage = runAsOldNode("bin/nano-relay.js", ["strat"], pinned);
  assert.equal(usage.status, 64, "the exit code of the re-run is the command's");
});

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
