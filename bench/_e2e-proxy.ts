// A delaying TCP proxy on loopback for `npm run bench -- e2e`: every chunk is held for half the
// round-trip time in each direction, so a connection through it sees the configured RTT added
// (HTTP and WebSocket alike) without touching the host's network settings (no tc/netem, no root).
// Order is preserved because every chunk of one direction waits the same time. It lives in the
// benchmark process and is closed, with every connection it holds, when the benchmark ends.
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface DelayProxy {
  readonly port: number;
  /** Added round-trip time in ms; changeable while it runs (applies to chunks read from then on). */
  rttMs: number;
  close(): Promise<void>;
}

/** The longest delay the proxy accepts: a bound, so a typo cannot stall a run for minutes. */
export const MAX_RTT_MS = 1000;

function pipeDelayed(from: Socket, to: Socket, delay: () => number): void {
  let pending = 0;
  let ended = false;
  from.on("data", (chunk: Buffer) => {
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
    pipeDelayed(client, upstream, half);
    pipeDelayed(upstream, client, half);
  });
  return await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("proxy has no port");
      resolve({
        port: address.port,
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
