import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket as WsSocket } from "ws";
import type { RelayMessage } from "../../src/client/transport/relay-api.ts";
import {
  type ChannelAuth,
  type ChannelOptions,
  RelayChannel,
} from "../../src/client/transport/relay-channel.ts";
import { endpointFromUrl } from "../../src/client/transport/relay-http.ts";
import type { NanoError } from "../../src/errors/index.ts";

/**
 * A relay that misbehaves on demand: a real WebSocket server on 127.0.0.1 port 0 that answers with
 * whatever the test scripts, and a real RelayChannel pointed at it.
 */
export type Script = (socket: WsSocket, frame: Record<string, unknown>) => void;

export interface FakeRelayOptions {
  /** What happens on each connection; by default the relay says `ready`. */
  readonly onConnect?: (socket: WsSocket) => void;
  readonly channel?: ChannelOptions;
  /** false: the relay never answers a ping (a silent peer). */
  readonly autoPong?: boolean;
}

export const sendReady = (socket: WsSocket): void =>
  socket.send(JSON.stringify({ type: "ready", username: "alice" }));

export async function withFakeRelay(
  script: Script,
  run: (channel: RelayChannel, auth: { forgotten: number; tokens: number }, url: string) => Promise<void>,
  options: FakeRelayOptions = {},
): Promise<void> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1", autoPong: options.autoPong ?? true });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const onConnect = options.onConnect ?? sendReady;
  server.on("connection", (socket, request) => {
    assert.match(request.headers.authorization ?? "", /^Bearer token-\d+$/);
    socket.on("message", (data) => script(socket, JSON.parse(data.toString()) as Record<string, unknown>));
    onConnect(socket);
  });
  const { port } = server.address() as AddressInfo;
  const counts = { forgotten: 0, tokens: 0 };
  const url = `http://127.0.0.1:${port}`;
  const auth: ChannelAuth = {
    endpoint: endpointFromUrl(url, null),
    token: async () => `token-${++counts.tokens}`,
    forgetToken: () => {
      counts.forgotten++;
    },
  };
  const channel = new RelayChannel(auth, options.channel);
  try {
    await run(channel, counts, url);
  } finally {
    channel.close();
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function collect(channel: RelayChannel): {
  errors: NanoError[];
  messages: RelayMessage[];
  readies: number;
  stop: () => void;
} {
  const seen = {
    errors: [] as NanoError[],
    messages: [] as RelayMessage[],
    readies: 0,
    stop: () => {},
  };
  seen.stop = channel.subscribe({
    onError: (error) => seen.errors.push(error),
    onMessage: (message) => seen.messages.push(message),
    onReady: () => {
      seen.readies++;
    },
  });
  return seen;
}

/** Waits (a bounded number of event-loop turns, a few ms each) until `done` holds. */
export async function until(done: () => boolean, what: string, turns = 2000): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`gave up waiting: ${what}`);
}
