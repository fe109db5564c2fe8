import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { PASSPHRASE, type Run, setUpUsers, withRelay } from "./_harness.ts";

/**
 * Issue 13, loss 3: a receiver whose clock is a day behind used to refuse a first message with
 * `prekey_expired` ("not valid now"), acknowledge it and drop it: the relay had nothing left. Now a
 * time failure is `prekey_not_yet_valid`, the message stays at the relay, and the user is told that
 * this machine's clock is behind the relay's (its Date header). The real CLI runs with its clock
 * shifted (test/e2e/fixtures/skewed-cli.ts); the relay's clock is right.
 */

const SKEWED_CLI = new URL("./fixtures/skewed-cli.ts", import.meta.url).pathname;
const DAY = 24 * 3600 * 1000;

function skewedCli(skewMs: number, args: readonly string[]): Promise<Run> {
  const child = spawn(process.execPath, [SKEWED_CLI, String(skewMs), ...args], {
    env: { ...process.env, NANO_PASSPHRASE: PASSPHRASE },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
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
    assert.match(behind.stderr, /this machine's clock is 24 h behind the relay's/);
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
