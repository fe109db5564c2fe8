// A delaying TCP proxy on loopback for `npm run bench -- e2e`: every chunk is held for half the
// round-trip time in each direction, so a connection through it sees the configured RTT added
// (HTTP and WebSocket alike) without touching the host's network settings (no tc/netem, no root).
// Order is preserved because every chunk of one direction waits the same time. It lives in the
// benchmark process and is closed, with every connection it holds, when the benchmark ends.
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface DelayProxy {
  readonly port: number;
  /**
   * HTTP requests seen from clients to the relay, by method and route ("POST /v1/auth/token"), so
   * the benchmark can report how many requests one message costs. WebSocket frames (masked) and
   * request bodies do not match the request-line pattern.
   */
  readonly requests: Map<string, number>;
  /** Added round-trip time in ms; changeable while it runs (applies to chunks read from then on). */
  rttMs: number;
  close(): Promise<void>;
}

/** The longest delay the proxy accepts: a bound, so a typo cannot stall a run for minutes. */
export const MAX_RTT_MS = 1000;

const REQUEST_LINE = /(GET|POST|PUT|DELETE|PATCH) (\/v1\/[^\s?]*)\S* HTTP\/1\.1\r\n/g;

/**
 * "/v1/accounts/hybrid-r0/identity" -> "/v1/accounts/:x/identity": routes, not users or hashes. A
 * segment of lowercase letters and "_" is a route word; anything else (the benchmark's usernames
 * have digits, hashes are hex with digits) is a parameter.
 */
export function routeOf(path: string): string {
  return path
    .split("/")
    .map((part) => (part === "" || /^(v1|[a-z_]+)$/.test(part) ? part : ":x"))
    .join("/");
}

export function countRequests(chunk: Buffer, into: Map<string, number>): void {
  const text = chunk.toString("latin1");
  for (const match of text.matchAll(REQUEST_LINE)) {
    const key = `${match[1]} ${routeOf(match[2]!)}`;
    into.set(key, (into.get(key) ?? 0) + 1);
  }
}

function pipeDelayed(from: Socket, to: Socket, delay: () => number, inspect?: (chunk: Buffer) => void): void {
  let pending = 0;
  let ended = false;
  from.on("data", (chunk: Buffer) => {
    inspect?.(chunk);
    const wait = delay();
    if (wait <= 0 && pending === 0) {
      to.write(chunk);
      return;
    }
    pending++;
    // Back-pressure: stop reading while more than a window of chunks is in the air.
    if (pending > 256) from.pause();
    setTimeout(() => {
      pending--;
      if (!to.destroyed) to.write(chunk);
      if (pending <= 64) from.resume();
      if (pending === 0 && ended) to.end();
    }, wait);
  });
  from.on("end", () => {
    ended = true;
    if (pending === 0) to.end();
  });
}

export async function startDelayProxy(targetPort: number, rttMs: number): Promise<DelayProxy> {
  if (!(rttMs >= 0 && rttMs <= MAX_RTT_MS)) throw new RangeError(`rtt must be 0-${MAX_RTT_MS} ms`);
  const sockets = new Set<Socket>();
  const state = { rttMs };
  const requests = new Map<string, number>();
  const half = () => state.rttMs / 2;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    pipeDelayed(client, upstream, half, (chunk) => countRequests(chunk, requests));
    pipeDelayed(upstream, client, half);
  });
  return await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("proxy has no port");
      resolve({
        port: address.port,
        requests,
        get rttMs() {
          return state.rttMs;
        },
        set rttMs(value: number) {
          if (!(value >= 0 && value <= MAX_RTT_MS)) throw new RangeError(`rtt must be 0-${MAX_RTT_MS} ms`);
          state.rttMs = value;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
