import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { NanoClient } from "../../src/client/nano-client.ts";
import { PASSPHRASE, REPO_ROOT, setUpUsers, withRelay } from "./_harness.ts";

/**
 * Issue 13, loss 1: a receiver killed right after its local commit used to show those messages zero
 * times (the redelivery found the ids already stored and skipped them). Now a message is marked shown
 * only after the application took it, and what was committed and not shown is shown by the next
 * receive. A real relay, a real `nano-client receive` process SIGKILLed as soon as it printed the
 * first message of a batch (the rest of the batch is committed by then), many rounds.
 */

const CLIENT_BIN = join(REPO_ROOT, "bin/nano-client.js");
const ROUNDS = 10;
const PER_ROUND = 8;

interface ReceiverRun {
  /** Message texts in the order printed. */
  readonly texts: string[];
  readonly killed: boolean;
}

/**
 * `receive --json` for `home`; with `killOn`, SIGKILLed as soon as a message line starting with it
 * arrives: the first message of the batch just fetched from the relay (messages a previous kill left
 * unshown come before it), when the rest of that batch is committed and not yet shown.
 */
function receiveOnce(home: string, killOn: string | null): Promise<ReceiverRun> {
  const child = spawn(process.execPath, [CLIENT_BIN, "--home", home, "--json", "receive"], {
    env: { ...process.env, NANO_PASSPHRASE: PASSPHRASE },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const texts: string[] = [];
  let killed = false;
  let buffered = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      const parsed = JSON.parse(line) as { text?: string };
      if (parsed.text === undefined) continue;
      texts.push(parsed.text);
      if (killOn !== null && parsed.text.startsWith(killOn) && !killed) {
        killed = true;
        child.kill("SIGKILL");
      }
    }
  });
  // Bounded: a receive that hangs is killed and fails the test below.
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      // Lines written before the kill are still in the pipe: read to the end, then judge.
      if (buffered.startsWith("{")) {
        const parsed = JSON.parse(buffered) as { text?: string };
        if (parsed.text !== undefined) texts.push(parsed.text);
      }
      if (!killed && code !== 0) reject(new Error(`receive exited ${code ?? signal}\n${stderr}`));
      else resolve({ texts, killed });
    });
  });
}

test("a receiver SIGKILLed right after its local commits, 10 rounds: every acknowledged message is shown exactly once", () =>
  withRelay(async (relay, dir) => {
    const [alice, bob] = await setUpUsers(relay, dir, "hybrid", "alice", "bob");
    const sender = await NanoClient.open({ home: alice!.home, passphrase: PASSPHRASE });
    const shown = new Map<string, number>();
    const sent: string[] = [];
    /** Messages a killed run had committed and not shown (read from bob's store after each kill). */
    let leftUnshown = 0;
    /**
     * Shown twice is allowed only for the last message a killed run printed: printing and marking
     * shown cannot be one atomic step, and the kill lands right after that print.
     */
    const lastOfKilled = new Set<string>();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (let n = 0; n < PER_ROUND; n++) {
          const text = `round ${round} message ${n}`;
          const result = await sender.send({ recipient: "bob", text, file: null, cryptoMode: null });
          assert.equal(result.queued, false, "the relay acknowledged the send");
          sent.push(text);
        }
        const run = await receiveOnce(bob!.home, `round ${round} `);
        for (const text of run.texts) shown.set(text, (shown.get(text) ?? 0) + 1);
        if (run.killed) {
          lastOfKilled.add(run.texts.at(-1)!);
          const client = await NanoClient.open({ home: bob!.home, passphrase: PASSPHRASE });
          try {
            leftUnshown += (await client.home.store.read((tables) => tables.listUnshown())).length;
          } finally {
            await client.close();
          }
        }
      }
      // A last receive, not killed, hands over whatever the last kill left; then nothing is left.
      for (const text of (await receiveOnce(bob!.home, null)).texts)
        shown.set(text, (shown.get(text) ?? 0) + 1);
      assert.deepEqual((await receiveOnce(bob!.home, null)).texts, [], "nothing is shown a second time");
    } finally {
      await sender.close();
    }
    for (const text of sent) {
      const times = shown.get(text) ?? 0;
      assert.ok(times >= 1, `"${text}" was never shown`);
      if (times > 1)
        assert.ok(
          times === 2 && lastOfKilled.has(text),
          `"${text}" was shown ${times} times, and was not the last line of a killed run`,
        );
    }
    assert.equal(shown.size, sent.length, "nothing was shown that was not sent");
    // The kills landed where the loss was: after the commit of messages not yet shown.
    assert.ok(leftUnshown > 0, "no kill left a committed message unshown: the test proved nothing");
  }));
