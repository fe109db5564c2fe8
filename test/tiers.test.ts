import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { testTier } from "../scripts/_test-tiers.js";

/**
 * The test tiers (README "Testing"): `npm run test:fast` is every test that starts no process, and
 * it cannot quietly grow slow: a process-starting test is classified full by its imports, and one
 * that slips through is stopped by the guard the fast run loads into every test process.
 */
const ROOT = new URL("../", import.meta.url).pathname;
const GUARD = new URL("../scripts/_fast-tier-guard.js", import.meta.url).href;

test("tiers follow the imports: anything reaching node:child_process is full, the rest fast", () => {
  for (const file of [
    "test/e2e/modes.test.ts", // the e2e harness spawns relay and client processes
    "test/relay/crash.test.ts", // RelayProcess forks the relay
    "test/relay/transparency.test.ts", // through _kt-helpers.ts
    "test/bench/attachment-path.test.ts", // through the benchmark modules
    "test/client/cli.test.ts",
  ])
    assert.equal(testTier(join(ROOT, file)), "full", file);
  for (const file of [
    "test/crypto/kat-x-wing.test.ts",
    "test/protocol/codecs.test.ts",
    "test/relay/health.test.ts", // in-process: Fastify inject()
    "test/store/integrity.test.ts",
  ])
    assert.equal(testTier(join(ROOT, file)), "fast", file);
});

test("a '// tier: full' line puts an in-process test in the full tier", () => {
  const dir = mkdtempSync(join(tmpdir(), "nano-tiers-"));
  const marked = join(dir, "slow.test.ts");
  writeFileSync(marked, '// tier: full (an hour of property runs)\nimport { test } from "node:test";\n');
  assert.equal(testTier(marked), "full");
  const plain = join(dir, "quick.test.ts");
  writeFileSync(plain, 'import { test } from "node:test";\n// mentions tier: full only in passing\n');
  assert.equal(testTier(plain), "fast");
});

test("the fast run refuses to start a process, saying which tier the test belongs to", () => {
  for (const call of [
    'import("node:child_process").then((m) => m.spawnSync("true"))',
    'import("node:child_process").then(({ fork }) => fork("x"))',
  ]) {
    const run = spawnSync(process.execPath, ["--import", GUARD, "-e", call], { encoding: "utf8" });
    assert.notEqual(run.status, 0, call);
    assert.match(run.stderr, /the fast test tier starts no processes .* add a line "\/\/ tier: full"/);
  }
  const allowed = spawnSync(process.execPath, ["-e", 'require("node:child_process").spawnSync("true")']);
  assert.equal(allowed.status, 0, "without the guard (npm test) processes start as before");
});
