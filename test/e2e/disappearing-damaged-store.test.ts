import assert from "node:assert/strict";
import { readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { cli, errorOf, REPO_ROOT, type Run, setUpUsers, withRelay } from "./_harness.ts";

/**
 * Disappearing messages on a failing machine (docs/client.md "Disappearing messages"): the
 * `expires_at` column the sweep selects on is not authenticated. Damaged to NULL, the row is no longer
 * swept, and the sealed deadline inside the row is what keeps it out of view — of `history`, and of
 * `export`, which writes plaintext to a file that outlives the message.
 */

const HOUR = 3_600_000;

function skewed(skewMs: number, args: readonly string[]): Promise<Run> {
  return cli(args, {
    env: {
      NODE_OPTIONS: `--import=${join(REPO_ROOT, "test/e2e/fixtures/skewed-clock.ts")}`,
      NANO_TEST_CLOCK_SKEW_MS: String(skewMs),
    },
  });
}

test("an expired message whose expires_at column was damaged to NULL never reaches history or a plaintext export", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    await alice!.send("bob", "first contact");
    assert.equal((await bob!.receive()).length, 1);
    await alice!.json(["receive"]);
    await alice!.send("bob", "DAMAGED-COLUMN-MARKER", ["--expire", "1h"]);
    assert.deepEqual(
      (await bob!.receive()).map((line) => line.text),
      ["DAMAGED-COLUMN-MARKER"],
    );
    const db = new DatabaseSync(join(bob!.home, "local.db"));
    try {
      assert.equal(
        db.prepare("UPDATE received SET expires_at = NULL WHERE expires_at IS NOT NULL").run().changes,
        1,
      );
    } finally {
      db.close();
    }
    // Two hours on (bob's clock): the timer ran out, the damaged column keeps the row from the sweep.
    const history = await skewed(2 * HOUR, ["--home", bob!.home, "history", "alice"]);
    assert.equal(history.code, 0, history.stderr);
    assert.doesNotMatch(history.stdout, /DAMAGED-COLUMN-MARKER/);
    const out = join(dir, "bob-export.json");
    const exported = await skewed(2 * HOUR, ["--home", bob!.home, "export", "--output", out]);
    assert.equal(exported.code, 0, exported.stderr);
    const document = await readFile(out, "utf8");
    assert.match(document, /first contact/, "the export holds the rest");
    assert.doesNotMatch(
      document,
      /DAMAGED-COLUMN-MARKER/,
      "the expired message is not in the plaintext export",
    );
    // The export's output is never clobbered: an existing entry, a dangling symlink included.
    const dangling = join(dir, "dangling-export.json");
    await symlink(join(dir, "elsewhere.json"), dangling);
    const refused = await cli(["--home", bob!.home, "--json", "export", "--output", dangling]);
    assert.equal(errorOf(refused).code, "output_exists");
  }));
