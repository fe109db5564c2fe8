// Helpers for the abuse tests (issue 12): a real relay process with its abuse bounds set, raw sockets
// from a chosen loopback address (an attacker at 127.0.0.2, victims at 127.0.0.1, so per-address caps
// are exercised as they would be between two hosts), and the relay's resident memory.
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { RelayConfigInput } from "../../../src/relay/config/schema.ts";
import { tempDir, testConfig } from "../fixtures/harness.ts";
import { http, RelayProcess } from "../fixtures/processes.ts";

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

/** The attacker's source address: loopback, but not the victims' 127.0.0.1. */
export const ATTACKER = "127.0.0.2";

export async function startRelay(overrides: DeepPartial<RelayConfigInput> = {}): Promise<RelayProcess> {
  const dir = tempDir("abuse");
  const relay = new RelayProcess(
    testConfig({ monitoring: { log_level: "warn" }, ...overrides } as DeepPartial<RelayConfigInput>, dir),
    dir,
  );
  await relay.start();
  return relay;
}

/** Rejects with `what` if `work` has not settled within `ms`: a liveness bound, not a speed check. */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

/** A raw HTTP/1.1 connection that records everything the relay sends until it closes. */
export class RawClient {
  readonly socket: Socket;
  received = "";
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;
  #trickle: NodeJS.Timeout | undefined;

  constructor(port: number, localAddress = "127.0.0.1") {
    this.socket = connect({ port, host: "127.0.0.1", localAddress });
    this.socket.on("data", (chunk: Buffer) => {
      this.received += chunk.toString("latin1");
    });
    this.socket.on("error", () => {});
    this.opened = new Promise((resolve) => this.socket.once("connect", () => resolve()));
    this.closed = new Promise((resolve) =>
      this.socket.once("close", () => {
        clearInterval(this.#trickle);
        resolve();
      }),
    );
  }

  /** Sends a request head announcing a body of `length` bytes and, optionally, its first bytes. */
  head(method: string, path: string, length: number, headers: Record<string, string> = {}, start = ""): void {
    const lines = [
      `${method} ${path} HTTP/1.1`,
      "host: relay",
      "content-type: application/json",
      `content-length: ${length}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    this.socket.write(`${lines.join("\r\n")}\r\n\r\n${start}`);
  }

  /** Sends one byte every `everyMs` until the connection closes (a slowloris body). */
  trickle(everyMs: number): void {
    this.#trickle = setInterval(() => {
      if (!this.socket.destroyed) this.socket.write(" ");
    }, everyMs);
  }

  /** The status code of the first response, if one arrived. */
  get status(): number | null {
    const match = /^HTTP\/1\.1 (\d{3})/.exec(this.received);
    return match === null ? null : Number(match[1]);
  }

  /** The JSON error code of the first response, if it carried one. */
  get errorCode(): string | null {
    const body = this.received.slice(this.received.indexOf("\r\n\r\n") + 4);
    return /"code":"([a-z_]+)"/.exec(body)?.[1] ?? null;
  }

  destroy(): void {
    clearInterval(this.#trickle);
    this.socket.destroy();
  }
}

/** Resident set size of a process in bytes (Linux /proc). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Milliseconds one GET /healthz takes (from 127.0.0.1), or throws if it fails. */
export async function healthLatency(base: string): Promise<number> {
  const started = performance.now();
  const answer = await http(base, "GET", "/healthz");
  if (answer.status !== 200) throw new Error(`/healthz answered ${answer.status}`);
  return performance.now() - started;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
