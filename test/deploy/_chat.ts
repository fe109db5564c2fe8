import { type ChildProcess, fork } from "node:child_process";
import type { ChatAnswer, ChatCommand, Delivery } from "./_chat-client.ts";

const ENTRY = new URL("./_chat-client.ts", import.meta.url).pathname;

export type ChatReport = Extract<ChatAnswer, { type: "report" }>;

/** One SDK client in its own process (./_chat-client.ts). */
export class Chat {
  readonly #child: ChildProcess;
  output = "";

  constructor() {
    this.#child = fork(ENTRY, [], { stdio: ["ignore", "pipe", "pipe", "ipc"] });
    this.#child.stdout?.on("data", (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    this.#child.stderr?.on("data", (chunk: Buffer) => {
      this.output += chunk.toString();
    });
  }

  #ask<T extends ChatAnswer["type"]>(
    command: ChatCommand,
    expect: T,
  ): Promise<Extract<ChatAnswer, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (answer: ChatAnswer) => {
        if (answer.type === "failed") {
          this.#child.off("message", onMessage);
          reject(new Error(`${command.type} failed: ${answer.message}`));
        } else if (answer.type === expect) {
          this.#child.off("message", onMessage);
          resolve(answer as Extract<ChatAnswer, { type: T }>);
        }
      };
      this.#child.on("message", onMessage);
      this.#child.send(command);
    });
  }

  setup(home: string, name: string, relay: string) {
    return this.#ask({ type: "setup", home, name, relay }, "ready");
  }

  listen() {
    return this.#ask({ type: "listen" }, "listening");
  }

  startSending(peer: string, intervalMs: number) {
    return this.#ask({ type: "send", peer, intervalMs }, "sending");
  }

  stopSending() {
    return this.#ask({ type: "stop-sending" }, "stopped");
  }

  report(): Promise<ChatReport> {
    return this.#ask({ type: "report" }, "report");
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || !this.#child.connected) return;
    await this.#ask({ type: "close" }, "closed").catch(() => {});
    this.#child.kill();
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Latencies (ms) of the deliveries whose send started in [from, to). */
export function latencies(received: readonly Delivery[], from: number, to: number): number[] {
  return received.filter((d) => d.sentAt >= from && d.sentAt < to).map((d) => d.at - d.sentAt);
}
