import WebSocket from "ws";
import { NanoError } from "../../errors/index.ts";
import { fromB64, type RelayApi, type RelayMessage } from "./relay-api.ts";
import { websocketUrl } from "./relay-http.ts";

/**
 * `receive --watch`: one authenticated WebSocket to the relay (docs/api.md "WebSocket"), reconnected
 * with bounded, jittered exponential backoff until the caller aborts. The relay pushes every stored
 * message again on each connection, so `onMessage` must be idempotent per relay id (the local store's
 * `received` table is). Messages are handled strictly one after another, in the relay's order.
 */
export const RECONNECT = Object.freeze({ baseMs: 250, maxMs: 10_000, factor: 2, jitter: 0.2 });

export interface WatchOptions {
  readonly signal: AbortSignal;
  readonly onMessage: (message: RelayMessage) => Promise<void>;
  /** Called after each successful authentication (e.g. to flush the outbox). */
  readonly onReady?: () => Promise<void>;
  readonly onError?: (error: unknown) => void;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

interface Frame {
  readonly type?: unknown;
  readonly id?: unknown;
  readonly from?: unknown;
  readonly envelope?: unknown;
  readonly sent_at?: unknown;
}

function parseMessage(frame: Frame): RelayMessage | null {
  if (frame.type !== "message") return null;
  if (typeof frame.id !== "number" || typeof frame.from !== "string" || typeof frame.envelope !== "string")
    return null;
  return {
    id: frame.id,
    from: frame.from,
    envelope: fromB64(frame.envelope),
    sentAt: typeof frame.sent_at === "number" ? frame.sent_at : 0,
  };
}

/** One connection's life; resolves when it closes (or the signal aborts). */
async function connectOnce(api: RelayApi, options: WatchOptions): Promise<boolean> {
  const token = await api.token();
  const { ca } = api.endpoint;
  const socket = new WebSocket(websocketUrl(api.endpoint), {
    headers: { authorization: `Bearer ${token}` },
    ...(ca === null ? {} : { ca }),
    handshakeTimeout: 10_000,
  });
  let chain = Promise.resolve();
  let ready = false;
  const abort = () => socket.close(1000, "client done");
  options.signal.addEventListener("abort", abort, { once: true });
  return new Promise<boolean>((resolve) => {
    socket.on("message", (data, binary) => {
      if (binary) return;
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      if (frame.type === "ready") {
        ready = true;
        chain = chain.then(() => options.onReady?.()).catch((error) => options.onError?.(error));
        return;
      }
      const message = parseMessage(frame);
      if (message === null) return;
      chain = chain.then(() => options.onMessage(message)).catch((error) => options.onError?.(error));
    });
    socket.on("error", (error) => options.onError?.(error));
    socket.on("close", (code) => {
      options.signal.removeEventListener("abort", abort);
      if (code === 4401) {
        api.forgetToken();
        options.onError?.(new NanoError("unauthenticated", "the relay refused the token"));
      }
      void chain.finally(() => resolve(ready));
    });
  });
}

export async function watchRelay(api: RelayApi, options: WatchOptions): Promise<void> {
  let attempt = 0;
  while (!options.signal.aborted) {
    let wasReady = false;
    try {
      wasReady = await connectOnce(api, options);
    } catch (error) {
      options.onError?.(error);
    }
    if (options.signal.aborted) break;
    attempt = wasReady ? 1 : attempt + 1;
    const raw = Math.min(RECONNECT.maxMs, RECONNECT.baseMs * RECONNECT.factor ** (attempt - 1));
    await delay(raw * (1 - RECONNECT.jitter + Math.random() * 2 * RECONNECT.jitter), options.signal);
  }
}
