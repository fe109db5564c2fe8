// `npm test`: the whole suite through Node's own test runner. Extra arguments narrow it to files or
// folders (`npm test -- test/crypto`). `--fast` (npm run test:fast) keeps the fast tier only: tests
// that start no processes (scripts/_test-tiers.js). Plain JavaScript so the Node version check runs
// on any Node.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { requireNode } from "../bin/_require-node.js";
import { testTier } from "./_test-tiers.js";

requireNode("npm test", undefined, { rerun: false });

/** A private (0700) folder for the test run's caches, under the user's own cache folder. */
function tmpdirFor() {
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "nano-messenger", "test");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** @param {string} path @returns {string[]} */
function testFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .flatMap((entry) => {
      const child = join(path, entry.name);
      if (entry.isDirectory()) return testFiles(child);
      return entry.name.endsWith(".test.ts") ? [child] : [];
    })
    .sort();
}

const args = process.argv.slice(2);
const fast = args.includes("--fast");
const roots = args.filter((arg) => arg !== "--fast");
const files = (roots.length > 0 ? roots : ["test"])
  .flatMap(testFiles)
  .filter((file) => !fast || testTier(file) === "fast");
if (files.length === 0) {
  process.stderr.write("npm test: no test files found\n");
  process.exit(1);
}
const reporter = "spec";
// The test processes share one compile cache (bin/_compile-cache.js): each test file and each CLI it
// starts then skips most of compiling and type-stripping the same modules again.
const env = { ...process.env };
if (!env.NODE_DISABLE_COMPILE_CACHE && !env.NODE_COMPILE_CACHE)
  env.NODE_COMPILE_CACHE = join(tmpdirFor(), "node-compile-cache");
const result = spawnSync(
  process.execPath,
  [
    ...(fast ? ["--import", new URL("./_fast-tier-guard.js", import.meta.url).href] : []),
    "--test",
    "--test-concurrency=2",
    `--test-reporter=${reporter}`,
    "--test-timeout=600000",
    ...files,
  ],
  { stdio: "inherit", env },
);
process.exit(result.status ?? 1);
