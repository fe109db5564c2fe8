// What `npm run bench -- abuse` measures while an attack runs: a victim pair exchanging messages over
// WebSocket (send -> delivery latency), /healthz probed like a load balancer would (a fresh
// connection each time), and the relay process's resident memory.
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { performance } from "node:perf_hooks";
import type WebSocket from "ws";
import { envelopeMarker, testEnvelope } from "../test/relay/fixtures/identities.ts";
import { openReadySocket } from "./_ready-socket.ts";

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Resident set size of a process in bytes (Linux /proc). */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** A window of measurements: everything recorded between `open()` and `close()`. */
export interface Window {
  readonly victimLatencies: number[];
  victimSent: number;
  readonly healthLatencies: number[];
  healthFailures: number;
  rssMax: number;
}

const HEALTH_TIMEOUT_MS = 5000;

/**
 * Alice sends to Bob at a steady rate (the victims), /healthz is probed back to back with a pause,
 * and the relay's RSS sampled; every sample lands in the windows open at that moment.
 */
export class Measurements {
  readonly #windows = new Set<Window>();
  readonly #sentAt = new Map<string, { at: number; windows: Window[] }>();
  #running = true;
  #alice: WebSocket | null = null;
  #bob: WebSocket | null = null;
  readonly #loops: Promise<void>[] = [];

  async start(options: {
    wsUrl: string;
    apiUrl: string;
    pid: number;
    alice: string;
    bob: string;
    messagesPerSecond: number;
  }): Promise<void> {
    this.#alice = await openReadySocket(options.wsUrl, { authorization: `Bearer ${options.alice}` });
    this.#bob = await openReadySocket(options.wsUrl, { authorization: `Bearer ${options.bob}` });
    const bob = this.#bob;
    bob.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; id?: number; envelope?: string };
      if (frame.type !== "message" || frame.envelope === undefined) return;
      const marker = envelopeMarker(new Uint8Array(Buffer.from(frame.envelope, "base64")));
      const sent = this.#sentAt.get(marker);
      if (sent !== undefined) {
        this.#sentAt.delete(marker);
        const latency = performance.now() - sent.at;
        for (const window of sent.windows) window.victimLatencies.push(latency);
      }
      bob.send(JSON.stringify({ type: "ack", ids: [frame.id] }));
    });
    this.#loops.push(this.#victimLoop(options.messagesPerSecond));
    this.#loops.push(this.#healthLoop(options.apiUrl));
    this.#loops.push(this.#rssLoop(options.pid));
  }

  async #victimLoop(perSecond: number): Promise<void> {
    const alice = this.#alice!;
    let n = 0;
    while (this.#running) {
      const marker = `victim-${n}`;
      const envelope = Buffer.from(testEnvelope(marker)).toString("base64");
      const windows = [...this.#windows];
      for (const window of windows) window.victimSent++;
      this.#sentAt.set(marker, { at: performance.now(), windows });
      alice.send(JSON.stringify({ type: "send", id: `v${n}`, to: "bob", envelope }));
      n++;
      await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
    }
  }

  async #healthLoop(apiUrl: string): Promise<void> {
    while (this.#running) {
      const windows = [...this.#windows];
      const started = performance.now();
      const ok = await probe(apiUrl);
      const latency = ok ? performance.now() - started : HEALTH_TIMEOUT_MS;
      for (const window of windows) {
        window.healthLatencies.push(latency);
        if (!ok) window.healthFailures++;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async #rssLoop(pid: number): Promise<void> {
    while (this.#running) {
      const rss = residentBytes(pid);
      for (const window of this.#windows) window.rssMax = Math.max(window.rssMax, rss);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  open(): Window {
    const window: Window = {
      victimLatencies: [],
      victimSent: 0,
      healthLatencies: [],
      healthFailures: 0,
      rssMax: 0,
    };
    this.#windows.add(window);
    return window;
  }

  /** Stops recording into `window`; messages still in flight count when they arrive (until `graceMs`). */
  async close(window: Window, graceMs = 2000): Promise<void> {
    this.#windows.delete(window);
    const deadline = performance.now() + graceMs;
    const pending = () => [...this.#sentAt.values()].some((sent) => sent.windows.includes(window));
    while (pending() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    this.#alice?.close();
    this.#bob?.close();
  }
}

/** GET /healthz on a fresh connection; false on an error, a non-200 or no answer in 5 s. */
function probe(apiUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(
      new URL("/healthz", apiUrl),
      { agent: false, timeout: HEALTH_TIMEOUT_MS },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}
