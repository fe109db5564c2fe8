import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * The lines a crash-test child prints, with when each arrived. A crash test kills relative to this
 * progress, not to a fixed delay (issue 13, loss 6): after the child reported `count` steps, at a
 * random point inside the step that follows, timed by the child's own last step. So the kill lands in
 * the middle of the work on a fast machine and on a loaded one alike.
 */
export class ChildProgress {
  readonly lines: { readonly text: string; readonly at: number }[] = [];
  readonly exited: Promise<number | null>;
  #buffered = "";
  #waiters: (() => void)[] = [];
  #done = false;

  constructor(child: ChildProcess, onLine: (line: string) => void = () => {}) {
    child.stdout?.on("data", (chunk: Buffer) => {
      this.#buffered += chunk.toString();
      const lines = this.#buffered.split("\n");
      this.#buffered = lines.pop() ?? "";
      for (const text of lines) {
        this.lines.push({ text, at: performance.now() });
        onLine(text);
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    void this.exited.then(() => {
      this.#done = true;
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Lines other than `except` (e.g. "ready") reported so far. */
  steps(except = "ready"): { readonly text: string; readonly at: number }[] {
    return this.lines.filter((line) => line.text !== except);
  }

  /** Resolves once `count` steps were reported, or rejects when the child exited first. */
  async waitForSteps(count: number, except = "ready"): Promise<void> {
    while (this.steps(except).length < count) {
      if (this.#done)
        throw new Error(`the child exited after ${this.steps(except).length} of ${count} steps`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /**
   * Waits for `count` steps (at least 2), then kills `child` with SIGKILL at a random point within
   * the length of its last step: while the next one is (most likely) in flight.
   */
  async killWithinNextStep(child: ChildProcess, count: number, except = "ready"): Promise<void> {
    await this.waitForSteps(Math.max(2, count), except);
    const steps = this.steps(except);
    const last = steps.at(-1)!.at - steps.at(-2)!.at;
    await sleep(Math.random() * last);
    child.kill("SIGKILL");
    await this.exited;
  }
}
