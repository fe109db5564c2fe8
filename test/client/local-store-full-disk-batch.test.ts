import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { runFixtureOnSmallTmpfs, tmpfsUnavailable } from "../support/tmpfs.ts";
import { REPO_ROOT, withTempDir } from "./_helpers.ts";

/**
 * Group commit on a full disk (docs/client.md "Group commit", "Sessions once per batch", "Long message
 * bodies"): batches whose every work advances bob's session and writes an outbox entry and a long sent
 * body run until the file system is full. A batch whose COMMIT (or a write in it) fails must leave
 * nothing — not the session's held state, not a raised state counter in memory that later refuses the
 * real one — so that once space is freed the store goes on from the last committed position and every
 * chain position is used by exactly one committed entry, whose long body is its own. A real full file
 * system: a small tmpfs in the child's own mount namespace (as disappearing-full-disk.test.ts).
 */

interface Step {
  readonly step: string;
  readonly committed?: number[];
  readonly errors?: string[];
  readonly position?: number;
  readonly outbox?: string[];
  readonly sent?: { id: string; ok: boolean }[];
}

test(
  "batches of session-advancing works with long bodies until the disk is full: nothing of a failed batch is kept, the store goes on once there is space",
  { skip: tmpfsUnavailable() },
  () =>
    withTempDir(async (dir) => {
      const mount = join(dir, "small");
      const fixture = join(REPO_ROOT, "test/client/fixtures/full-disk-batch.ts");
      const steps = runFixtureOnSmallTmpfs(fixture, mount, 4, 120_000) as Step[];
      const rounds = steps.filter((step) => step.step === "round" || step.step === "freed");
      assert.ok(
        rounds.some((round) => (round.errors ?? []).length > 0),
        "the disk never filled up: the test can fail only if it does",
      );
      const freed = steps.find((step) => step.step === "freed");
      assert.equal(freed?.errors?.length, 0, `after space was freed: ${freed?.errors?.join("; ")}`);
      // Each batch's works ran back to back on the state the one before left: positions are n+1..n+8
      // when all committed; a failed batch commits none of them and the next batch starts where it did.
      const committed = rounds.flatMap((round) => round.committed ?? []);
      const last = committed.length;
      assert.deepEqual(
        committed,
        Array.from({ length: last }, (_, index) => index + 1),
        "every chain position committed exactly once, in order",
      );
      const reopened = steps.find((step) => step.step === "reopened");
      assert.equal(reopened?.position, last, "the session on disk is the last committed position");
      assert.deepEqual(
        reopened.outbox,
        committed.map((position) => `m-${position}`),
      );
      assert.deepEqual(
        reopened.sent?.map((row) => row.id).sort(),
        committed.map((position) => `m-${position}`).sort(),
      );
      assert.ok(
        reopened.sent?.every((row) => row.ok),
        "every long body is its own row's",
      );
    }),
);
