// `npm test`: the whole suite through Node's own test runner. Extra arguments narrow it to files or
// folders (`npm test -- test/crypto`). Plain JavaScript so the Node version check runs on any Node.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { requireNode } from "../bin/_require-node.js";

requireNode("npm test");

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

const roots = process.argv.slice(2);
const files = (roots.length > 0 ? roots : ["test"]).flatMap(testFiles);
if (files.length === 0) {
  process.stderr.write("npm test: no test files found\n");
  process.exit(1);
}
const reporter = "spec";
const result = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=2", `--test-reporter=${reporter}`, "--test-timeout=600000", ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
