/**
 * An HTTP forwarder in front of a real relay that lies about time, for tests of what a hostile relay can
 * do to disappearing messages (docs/client.md "Disappearing messages"): it moves the relay's `Date`
 * header (or drops it) and the `sent_at` of every message it lists, can replay a message it listed
 * before under a new id, and forwards everything else as is. WebSocket upgrades are refused, so a
 * client falls back to HTTP, where the lies are told.
 */
import { createServer, request, type Server } from "node:http";

/** A message as `GET /v1/messages` lists it (docs/api.md). */
export interface ListedMessage {
  id: number;
  from: string;
  envelope: string;
  sent_at: number;
}

export interface Lies {
  /** Added to the relay's Date header; null drops the header. */
  dateShiftMs: number | null;
  /** Added to the `sent_at` of every listed message (the relay's claimed acceptance time). */
  sentAtShiftMs: number;
  /** Listed once, after the relay's own messages, at the next listing (a replay under a new id). */
  inject: ListedMessage[];
}

export class LyingRelayProxy {
  readonly lies: Lies = { dateShiftMs: 0, sentAtShiftMs: 0, inject: [] };
  /** Every message the relay listed through this proxy, as the relay listed it. */
  readonly listed: ListedMessage[] = [];
  readonly #server: Server;
  readonly port: number;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(relayPort: number): Promise<LyingRelayProxy> {
    let proxy: LyingRelayProxy | null = null;
    const server = createServer((incoming, outgoing) => {
      outgoing.sendDate = false;
      const upstream = request(
        {
          host: "127.0.0.1",
          port: relayPort,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => chunks.push(chunk));
          answer.on("end", () => {
            const lies = proxy!.lies;
            let body = Buffer.concat(chunks);
            const headers = { ...answer.headers };
            delete headers["content-length"];
            delete headers["transfer-encoding"];
            const date = Date.parse(headers.date ?? "");
            delete headers.date;
            if (lies.dateShiftMs !== null && Number.isFinite(date))
              headers.date = new Date(date + lies.dateShiftMs).toUTCString();
            if (incoming.method === "GET" && incoming.url?.startsWith("/v1/messages?") === true) {
              const listed = JSON.parse(body.toString()) as { messages: ListedMessage[] };
              proxy!.listed.push(...listed.messages.map((message) => ({ ...message })));
              for (const message of listed.messages) message.sent_at += lies.sentAtShiftMs;
              listed.messages.push(...lies.inject.splice(0));
              body = Buffer.from(JSON.stringify(listed));
            }
            outgoing.writeHead(answer.statusCode ?? 502, { ...headers, "content-length": body.length });
            outgoing.end(body);
          });
        },
      );
      upstream.on("error", () => outgoing.destroy());
      incoming.pipe(upstream);
    });
    server.on("upgrade", (_request, socket) => socket.destroy());
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
    });
    proxy = new LyingRelayProxy(server, port);
    return proxy;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
