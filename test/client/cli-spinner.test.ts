import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { feedback, silentFeedback } from "../../src/cli/_spinner.ts";

/**
 * Issue 14: feedback on a command that takes more than half a second, silent when stderr is not a
 * terminal or with --json (scripts read stdout and stderr; a spinner there is noise). The spinner
 * writes to a stream that says it is a terminal, as stderr does in a terminal.
 */
class Terminal extends Writable {
  readonly isTTY: boolean;
  readonly columns = 80;
  text = "";
  #waiting: { pattern: RegExp; resolve: () => void } | null = null;

  constructor(isTTY: boolean) {
    super();
    this.isTTY = isTTY;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    if (this.#waiting?.pattern.test(this.text)) this.#waiting.resolve();
    done();
  }

  /** Resolves once what was written matches `pattern` (an event, not a fixed sleep). */
  shows(pattern: RegExp): Promise<void> {
    if (pattern.test(this.text)) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiting = { pattern, resolve };
    });
  }
}

test("no terminal, or --json: no spinner at all", () => {
  assert.equal(feedback(new Terminal(false), { json: false }), silentFeedback);
  assert.equal(feedback(new Terminal(true), { json: true }), silentFeedback);
});

test("on a terminal: nothing for work that ends at once, a spinner with the message for slow work", async () => {
  const quick = new Terminal(true);
  const done = feedback(quick, { json: false });
  done.update("reading the home");
  done.stop();
  const slow = new Terminal(true);
  const working = feedback(slow, { json: false });
  try {
    working.update("unlocking the keystore");
    // Waits for the spinner (shown after half a second), however loaded the machine.
    await slow.shows(/unlocking the keystore/);
    working.update("sending to bob");
    await slow.shows(/sending to bob/);
  } finally {
    working.stop();
    working.stop(); // idempotent
  }
  assert.equal(quick.text, "", "work that ended before half a second shows nothing");
});
