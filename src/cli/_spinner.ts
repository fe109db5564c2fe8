import type { Writable } from "node:stream";
import { spinner } from "@clack/prompts";

/**
 * Feedback while a command works (a @clack/prompts spinner on stderr): shown only when the work has
 * lasted SHOW_AFTER_MS, only on a terminal and never with --json, so scripts, pipes and quick commands
 * see nothing. stdout stays the command's result alone.
 */
export interface Feedback {
  /** What is happening now; starts the clock on the first call. */
  update(message: string): void;
  /** Clears the spinner line (the result follows on stdout). Idempotent. */
  stop(): void;
}

export const silentFeedback: Feedback = Object.freeze({ update() {}, stop() {} });

const SHOW_AFTER_MS = 500;
/** sysexits has no code for "interrupted"; 128 + SIGINT is what shells report. */
const EXIT_INTERRUPTED = 130;

export function feedback(stream: Writable & { isTTY?: boolean }, options: { json: boolean }): Feedback {
  if (options.json || stream.isTTY !== true) return silentFeedback;
  let message = "";
  let timer: NodeJS.Timeout | null = null;
  let shown: ReturnType<typeof spinner> | null = null;
  let stopped = false;
  // The spinner takes the terminal's keys while it runs and answers Ctrl-C with process.exit(0): a
  // cancelled backup must not look like a finished one to the shell.
  const onExit = () => {
    if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = EXIT_INTERRUPTED;
  };
  return {
    update(next) {
      message = next;
      if (stopped) return;
      if (shown !== null) {
        shown.message(next);
        return;
      }
      timer ??= setTimeout(() => {
        if (stopped) return;
        shown = spinner({ output: stream, withGuide: false });
        process.on("exit", onExit);
        shown.start(message);
      }, SHOW_AFTER_MS).unref();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      if (shown !== null) {
        shown.clear();
        process.off("exit", onExit);
      }
    },
  };
}
