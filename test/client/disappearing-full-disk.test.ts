import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runFixtureOnSmallTmpfs, tmpfsUnavailable } from "../support/tmpfs.ts";
import { REPO_ROOT, withTempDir } from "./_helpers.ts";

/**
 * Disappearing messages on a full disk (docs/client.md "Disappearing messages"): the sweep when the
 * store opens cannot write, and must not lock the user out of the rest of their history: the due rows
 * stay out of view (their deadlines), and the sweep runs once there is space. A real full file system:
 * the store lives on a small tmpfs in the child's own mount namespace (as test/relay/full-disk.test.ts),
 * which vanishes with it. Needs root or user namespaces: skipped loudly where not permitted, required
 * under CI.
 */

test(
  "opening the store on a full disk: the due rows stay out of view and the rest opens; the sweep runs once there is space",
  {
    skip: tmpfsUnavailable(),
  },
  () =>
    withTempDir(async (dir) => {
      const mount = join(dir, "small");
      const fixture = join(REPO_ROOT, "test/client/fixtures/full-disk-sweep.ts");
      const steps = runFixtureOnSmallTmpfs(fixture, mount, 1, 60_000) as {
        step: string;
        opened?: boolean;
        shown?: string[];
        rows?: number;
        error?: string;
      }[];
      const full = steps.find((step) => step.step === "full");
      assert.equal(full?.opened, true, `the store did not open on a full disk: ${full?.error}`);
      assert.deepEqual(full.shown, ["live"], "the due rows are out of view");
      assert.ok(
        (full.rows ?? 0) > 1,
        "the sweep could not write: the rows are still there (the test can fail)",
      );
      const freed = steps.find((step) => step.step === "freed");
      assert.deepEqual(freed?.shown, ["live"]);
      assert.equal(freed.rows, 1, "swept once there was space");
    }),
);
