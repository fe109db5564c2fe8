import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { PASSPHRASE, REPO_ROOT, setUpUsers, withRelay } from "./_harness.ts";

/**
 * The client side of an operator erasure (docs/compliance.md "Erasure"): the relay closes the erased
 * account's session with 4401 `account_erased`, and a watching `nano-client receive --watch` stops with
 * `account_gone` (exit 66) instead of logging in again for ever without a word.
 */
test("receive --watch of an account the operator erased stops with account_gone (exit 66)", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    await alice!.send("bob", "before the erasure");
    const watcher = spawn(
      process.execPath,
      [join(REPO_ROOT, "bin/nano-client.js"), "--home", bob!.home, "receive", "--watch"],
      { env: { ...process.env, NANO_PASSPHRASE: PASSPHRASE }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    watcher.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    watcher.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => watcher.on("close", resolve));
    try {
      for (let i = 0; i < 600 && !stdout.includes("before the erasure"); i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.match(stdout, /before the erasure/, stderr);
      const erase = spawnSync(
        process.execPath,
        [
          join(REPO_ROOT, "bin/nano-relay.js"),
          "compliance",
          "erase",
          "--config",
          join(dir, "relay.toml"),
          "--user",
          "bob",
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
      assert.equal(erase.status, 0, erase.stderr);
      const code = await Promise.race([
        exited,
        new Promise<string>((resolve) => setTimeout(() => resolve("still watching"), 20_000)),
      ]);
      assert.equal(code, 66, `${code}: ${stderr}`);
      assert.match(stderr, /the relay's operator erased this account \(account_erased\)/);
      assert.equal(stderr.match(/account_erased/g)?.length, 1, "said once, not per reconnect");
    } finally {
      watcher.kill("SIGKILL");
    }
  }));
