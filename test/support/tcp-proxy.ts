/**
 * A TCP forwarder on a free loopback port, for tests that take a server away from a relay without
 * touching the server itself (the machine's PostgreSQL serves every engineer's tests at once):
 * `refuse()` cuts every connection and refuses new ones, as a server that is down; `freeze()` keeps the
 * connections open but carries nothing either way, as a hung host or a network that drops packets;
 * `restore()` forwards again.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export type ProxyMode = "forward" | "refuse" | "freeze";

export class TcpProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  #mode: ProxyMode = "forward";

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null;
    const server = createServer((client) => proxy!.#accept(client, targetHost, targetPort));
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
    });
    proxy = new TcpProxy(server, port);
    return proxy;
  }

  #accept(client: Socket, host: string, port: number): void {
    client.on("error", () => {});
    if (this.#mode === "refuse") {
      client.destroy();
      return;
    }
    const upstream = createConnection(port, host);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const forget = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", forget);
    upstream.on("close", forget);
    // While frozen neither side is read: bytes wait in the kernel, and a thaw delivers them.
    client.on("data", (data) => upstream.write(data));
    upstream.on("data", (data) => client.write(data));
    if (this.#mode === "freeze") this.#hold(pair);
  }

  #hold([client, upstream]: [Socket, Socket]): void {
    client.pause();
    upstream.pause();
  }

  refuse(): void {
    this.#mode = "refuse";
    for (const [client, upstream] of [...this.#pairs]) {
      client.destroy();
      upstream.destroy();
    }
  }

  freeze(): void {
    this.#mode = "freeze";
    for (const pair of this.#pairs) this.#hold(pair);
  }

  restore(): void {
    this.#mode = "forward";
    for (const [client, upstream] of this.#pairs) {
      client.resume();
      upstream.resume();
    }
  }

  async close(): Promise<void> {
    this.refuse();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
