// The relay's `low_prekeys` signal reaches a watching client, which refills its one-time prekeys at
// once instead of at its next upkeep timer (issue 12, finding 6: the owner is told to refill, and
// the client refills). Real relay and CLI processes; the drain comes from two other accounts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { http, signUpOver } from "../relay/fixtures/processes.ts";
import { PASSPHRASE, REPO_ROOT, User, withRelay } from "./_harness.ts";

const THRESHOLD = 22;

function relayStock(dir: string, username: string): number {
  const db = new DatabaseSync(join(dir, "relay.sqlite"), { readOnly: true });
  try {
    return Number(
      db.prepare("SELECT count(*) AS n FROM one_time_prekeys WHERE username = ?").get(username)?.n ?? 0,
    );
  } finally {
    db.close();
  }
}

async function until(probe: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not within 30 s`);
}

test("a watching client refills its one-time prekeys when the relay says they run low", () =>
  withRelay(async (relay, dir) => {
    const bob = new User(dir, "bob");
    await bob.setUp(relay, "hybrid");
    const stocked = relayStock(dir, "bob");
    assert.ok(stocked > THRESHOLD, `bob uploaded ${stocked}`);
    const watcher = spawn(
      process.execPath,
      [join(REPO_ROOT, "bin/nano-client.js"), "--home", bob.home, "--json", "receive", "--watch"],
      { env: { ...process.env, NANO_PASSPHRASE: PASSPHRASE }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const closed = new Promise((resolve) => watcher.on("close", resolve));
    try {
      await until(async () => {
        const metrics = await (await fetch(`${relay.url}/metrics`)).text();
        return /^nano_websocket_connections [1-9]/m.test(metrics);
      }, "bob's watch connecting");
      // Two other accounts take bob's keys (each gets at most two: the relay's fairness limit)
      // until the stock is at the relay's threshold.
      let taken = 0;
      for (const name of ["drain1", "drain2"]) {
        const { token } = await signUpOver(relay.url, name);
        for (let i = 0; i < 2 && stocked - taken > THRESHOLD; i++) {
          const fetched = await http(relay.url, "GET", "/v1/prekeys/bob?suite=2", undefined, token);
          assert.equal(fetched.status, 200, JSON.stringify(fetched.json));
          if (fetched.json.one_time_prekey !== null) taken++;
        }
      }
      assert.ok(stocked - taken <= THRESHOLD);
      // The watch tops the stock up again without anyone receiving or restarting anything.
      await until(() => relayStock(dir, "bob") >= stocked, "the refill");
    } finally {
      watcher.kill("SIGTERM");
      await closed;
    }
  }, `[limits]\nlow_prekeys_threshold = ${THRESHOLD}\n`));
