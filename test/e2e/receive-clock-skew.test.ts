import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { cli, REPO_ROOT, type Run, setUpUsers, withRelay } from "./_harness.ts";

/**
 * Issue 13, loss 3: a receiver whose clock is a day behind used to refuse a first message with
 * `prekey_expired` ("not valid now"), acknowledge it and drop it: the relay had nothing left. Now a
 * time failure is `prekey_not_yet_valid`, the message stays at the relay, and the user is told that
 * this computer's clock is behind the relay's (its Date header). The real CLI runs with its clock
 * shifted (test/e2e/fixtures/skewed-clock.ts); the relay's clock is right.
 */

const DAY = 24 * 3600 * 1000;

/** The real CLI with its clock `skewMs` off (test/e2e/fixtures/skewed-clock.ts, preloaded). */
function skewedCli(skewMs: number, args: readonly string[]): Promise<Run> {
  return cli(args, {
    env: {
      NODE_OPTIONS: `--import=${join(REPO_ROOT, "test/e2e/fixtures/skewed-clock.ts")}`,
      NANO_TEST_CLOCK_SKEW_MS: String(skewMs),
    },
  });
}

test("a receiver whose clock is a day behind keeps a first message at the relay and is told its clock is off", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    await alice!.send("bob", "sent while bob's clock is wrong");

    const behind = await skewedCli(-DAY, ["--home", bob!.home, "receive"]);
    assert.equal(behind.code, 0, behind.stderr);
    assert.doesNotMatch(behind.stdout, /sent while/, "nothing is shown");
    assert.match(
      behind.stderr,
      /a message from alice is not valid by this machine's clock \(prekey_not_yet_valid\)/,
    );
    assert.match(behind.stderr, /this computer's clock is (1 day|24 hours) behind the relay's/);
    assert.match(behind.stderr, /the message waits at the relay/);

    const json = await skewedCli(-DAY, ["--home", bob!.home, "--json", "receive"]);
    const line = json.stdout.split("\n").find((l) => l.includes("timeFailure"));
    assert.ok(line !== undefined, json.stdout);
    const failure = (JSON.parse(line) as { timeFailure: { code: string; clockSkewMs: number } }).timeFailure;
    assert.equal(failure.code, "prekey_not_yet_valid");
    assert.ok(Math.abs(failure.clockSkewMs - DAY) < 60_000, `skew ${failure.clockSkewMs}`);

    // A few minutes behind is within the stated tolerance; the clock put right delivers it, once.
    const slightly = await skewedCli(-5 * 60_000, ["--home", bob!.home, "--json", "receive"]);
    assert.equal(slightly.code, 0, slightly.stderr);
    assert.match(slightly.stdout, /sent while bob's clock is wrong/);
    assert.deepEqual(await bob!.receive(), []);
  }));
