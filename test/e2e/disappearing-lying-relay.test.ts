import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { SENDER_CLOCK_TOLERANCE_MS } from "../../src/client/messaging/disappearing.ts";
import { LyingRelayProxy } from "../support/lying-relay-proxy.ts";
import { cli, REPO_ROOT, type Run, setUpUsers, withRelay } from "./_harness.ts";

/**
 * A hostile relay against disappearing messages (docs/client.md "Disappearing messages"): the relay's
 * per-message `sent_at` and its `Date` header are not authenticated. A relay that backdates a message
 * must not get it deleted unseen; one that holds a message and claims a fresh acceptance must not make
 * it live longer than the sender asked; and whatever a lying Date makes expire on the way is reported,
 * never silently gone (the sender got a delivery receipt for it).
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;

type Line = {
  text?: string;
  expiresAt?: number;
  expired?: { from: string; expireAfterSeconds: number; sentAt: number; relaySentAt: number };
};

function lines(run: Run): Line[] {
  return run.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Line);
}

/** Bob's receive through the lying relay, with his clock moved by `skewMs`. */
function receiveThrough(proxy: LyingRelayProxy, home: string, skewMs = 0): Promise<Run> {
  return cli(["--home", home, "--relay", proxy.url, "--json", "receive"], {
    env: {
      NODE_OPTIONS: `--import=${join(REPO_ROOT, "test/e2e/fixtures/skewed-clock.ts")}`,
      NANO_TEST_CLOCK_SKEW_MS: String(skewMs),
    },
  });
}

test("a lying relay cannot get a disappearing message deleted unseen, nor kept longer than asked", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    const proxy = await LyingRelayProxy.start(relay.port);
    try {
      await alice!.send("bob", "first contact");
      assert.equal((await bob!.receive()).length, 1);
      await alice!.json(["receive"]);

      // 1. sent_at backdated by two days (Date honest): bounded by the sender's authenticated clock, so
      // the hour-long message is shown, deleted at most the tolerance early.
      proxy.lies.sentAtShiftMs = -2 * DAY;
      const before = Date.now();
      await alice!.send("bob", "backdated", ["--expire", "1h"]);
      const backdated = await receiveThrough(proxy, bob!.home);
      assert.equal(backdated.code, 0, backdated.stderr);
      const shown = lines(backdated).find((line) => line.text === "backdated");
      assert.ok(shown !== undefined, `the backdated message was not shown:\n${backdated.stdout}`);
      assert.ok(shown.expiresAt! >= before + HOUR - SENDER_CLOCK_TOLERANCE_MS - 5000, `${shown.expiresAt}`);

      // 2. The relay holds a message "a day" (bob's clock a day ahead) and then claims it accepted it
      // just now, its Date agreeing: the sender's clock bounds the claim, so the message arrives
      // expired — reported, never shown, never kept an hour more.
      proxy.lies.sentAtShiftMs = DAY;
      proxy.lies.dateShiftMs = DAY;
      await alice!.send("bob", "held a day", ["--expire", "1h"]);
      const held = await receiveThrough(proxy, bob!.home, DAY);
      assert.equal(held.code, 0, held.stderr);
      assert.ok(!held.stdout.includes("held a day"), held.stdout);
      const reported = lines(held).find((line) => line.expired !== undefined)?.expired;
      assert.ok(reported !== undefined, `no expired line:\n${held.stdout}`);
      assert.equal(reported.from, "alice");
      assert.equal(reported.expireAfterSeconds, 3600);

      // 3. A Date header two hours fast (sent_at honest) makes the hour-long message expire on the way:
      // it cannot be bounded (the skew is the relay's word), but it is reported, on a terminal too.
      proxy.lies.sentAtShiftMs = 0;
      proxy.lies.dateShiftMs = 2 * HOUR;
      await alice!.send("bob", "fast date", ["--expire", "1h"]);
      const fast = await cli(["--home", bob!.home, "--relay", proxy.url, "receive"]);
      assert.equal(fast.code, 0, fast.stderr);
      assert.ok(!fast.stdout.includes("fast date"), fast.stdout);
      assert.match(
        fast.stderr,
        /a disappearing message from alice \(timer 1h, sent [^)]+\) had expired before it arrived/,
      );
      const history = await cli(["--home", bob!.home, "history", "alice"]);
      assert.ok(
        !history.stdout.includes("held a day") && !history.stdout.includes("fast date"),
        history.stdout,
      );
    } finally {
      await proxy.close();
    }
  }));

test("a replayed disappearing message — live or already swept — is never shown again and never kept in the quarantine", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    const proxy = await LyingRelayProxy.start(relay.port);
    try {
      await alice!.send("bob", "first contact");
      assert.equal((await bob!.receive()).length, 1);
      await alice!.json(["receive"]);
      await alice!.send("bob", "replay me", ["--expire", "1h"]);
      // Long enough to arrive live on a loaded machine (a CLI run takes seconds), short enough to wait out.
      const goneSoonSentAt = Date.now();
      await alice!.send("bob", "gone soon", ["--expire", "10s"]);
      const first = await receiveThrough(proxy, bob!.home);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(
        lines(first).flatMap((line) => (line.text === undefined ? [] : [line.text])),
        ["replay me", "gone soon"],
      );
      const [live, swept] = proxy.listed.slice(-2);
      // Past the short timer, a command sweeps it (plaintext, row and all).
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, goneSoonSentAt + 10_500 - Date.now())));
      assert.equal((await cli(["--home", bob!.home, "history", "alice"])).code, 0);
      // The relay delivers both again under new ids: their message keys are spent.
      proxy.lies.inject = [
        { ...live!, id: 1_000_001 },
        { ...swept!, id: 1_000_002 },
      ];
      const replayed = await receiveThrough(proxy, bob!.home);
      assert.equal(replayed.code, 0, replayed.stderr);
      assert.ok(!lines(replayed).some((line) => line.text !== undefined), replayed.stdout);
      const quarantine = (await bob!.json(["quarantine", "list"])) as { quarantined?: unknown[] }[];
      assert.deepEqual(
        quarantine.flatMap((line) => line.quarantined ?? []),
        [],
        "a spent copy is dropped, not kept for a retry that can never open it",
      );
      const history = await cli(["--home", bob!.home, "history", "alice"]);
      assert.equal(history.stdout.match(/replay me/g)?.length, 1, history.stdout);
      assert.doesNotMatch(history.stdout, /gone soon/);
    } finally {
      await proxy.close();
    }
  }));
