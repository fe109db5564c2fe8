import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT, withRelay } from "./_harness.ts";

// docs/sdk.md promises a runnable example: run exactly that code against a real relay process.
test("the docs/sdk.md example runs against a real relay", () =>
  withRelay(async (relay, dir) => {
    const page = readFileSync(join(REPO_ROOT, "docs/sdk.md"), "utf8");
    const block = page.match(/```ts\n([\s\S]*?)```/)?.[1];
    assert.ok(block !== undefined, "docs/sdk.md has a ts example");
    const file = join(dir, "example.ts");
    writeFileSync(
      file,
      block.replace('"./src/client/index.ts"', JSON.stringify(join(REPO_ROOT, "src/client/index.ts"))),
    );
    const run = spawnSync(process.execPath, [file], {
      env: { ...process.env, NANO_RELAY_URL: relay.url },
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /sent in hybrid, \d+ bytes, queued: false/);
    assert.match(run.stdout, /alice-\w+ \(hybrid\): hello bob/);
    assert.match(run.stdout, /bob-\w+: hi alice/);
    assert.match(run.stdout, /safety numbers match: true/);
  }));
