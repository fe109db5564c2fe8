// The benchmark's side of the worker processes (bench/_e2e-worker.ts): fork, one command at a time
// over IPC with a bounded wait, and CPU time of the relay process read from /proc (Linux).
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import type { WorkerAnswer, WorkerCommand } from "./_e2e-worker.ts";

const ENTRY = new URL("./_e2e-worker.ts", import.meta.url).pathname;

export class Worker {
  readonly role: string;
  readonly child: ChildProcess;
  #exited: Promise<void>;

  constructor(role: string, profileDir: string | null) {
    this.role = role;
    this.child = fork(ENTRY, [role], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv:
        profileDir === null
          ? []
          : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${role}.cpuprofile`],
    });
    this.#exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
  }

  /** Sends a command and waits (at most `timeoutMs`) for its answer; a "failed" answer throws. */
  ask<T extends WorkerAnswer["type"]>(
    command: WorkerCommand,
    expect: T,
    timeoutMs: number,
  ): Promise<Extract<WorkerAnswer, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off("message", onMessage);
        reject(new Error(`${this.role}: no answer to ${command.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (answer: WorkerAnswer) => {
        clearTimeout(timer);
        this.child.off("message", onMessage);
        if (answer.type === "failed") reject(new Error(`${this.role}: ${answer.message}`));
        else if (answer.type !== expect)
          reject(new Error(`${this.role}: expected ${expect}, got ${answer.type}`));
        else resolve(answer as Extract<WorkerAnswer, { type: T }>);
      };
      this.child.on("message", onMessage);
      this.child.send(command);
    });
  }

  /** Asks the worker to close its clients and exit; kills it if it has not within 10 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ type: "stop" } satisfies WorkerCommand);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** User + system CPU seconds a process has used so far, from /proc/PID/stat; null where unavailable. */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name (which may contain spaces): utime is field 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    // USER_HZ is 100 on every Linux architecture Node supports.
    return Number.isFinite(ticks) ? ticks / 100 : null;
  } catch {
    return null;
  }
}
