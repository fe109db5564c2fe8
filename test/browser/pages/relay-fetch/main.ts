// The browser's relay transport in the page, served by a real relay from its own origin:
// test/browser/relay-fetch.test.ts calls `nanoRelayFetch.*` and compares the outcomes with what the
// Node transport gets for the same requests. Errors come back as {code, message} (a NanoError's code).

// First: zod builds its schemas (the wire contract's among them) without generating code, as the app's CSP requires.
import "../../../../src/web/jitless-parsing.ts";
import { z } from "zod";
import type { ChannelSocket } from "../../../../src/client/transport/channel-socket.ts";
import { openBrowserChannelSocket } from "../../../../src/client/transport/channel-socket-browser.ts";
import { RelayChannel } from "../../../../src/client/transport/relay-channel.ts";
import { relayTime } from "../../../../src/client/transport/relay-clock.ts";
import { fetchEndpoint } from "../../../../src/client/transport/relay-fetch.ts";
import {
  requestJson,
  requestRaw,
  requestStream,
  websocketUrl,
} from "../../../../src/client/transport/relay-request.ts";
import { ChallengeAnswer } from "../../../../src/wire/index.ts";

/** Open channel sockets by name, with what each saw (frames as text, "binary", "error:…", "close:N"). */
const sockets = new Map<string, { socket: ChannelSocket; seen: string[] }>();

export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: string; readonly message: string };

async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      ok: false,
      code: typeof code === "string" ? code : `uncaught ${(error as Error).name}`,
      message: (error as Error).message,
    };
  }
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

/** Any JSON: these requests compare statuses and bodies with Node's, whatever the endpoint answers. */
const ANY_JSON = z.unknown();

const api = {
  json: (relay: string, method: "GET" | "POST", path: string, body?: unknown, token?: string) =>
    outcome(() =>
      requestJson(
        fetchEndpoint(relay),
        {
          method,
          path,
          ...(body === undefined ? {} : { body }),
          ...(token === undefined ? {} : { token }),
        },
        ANY_JSON,
      ),
    ),
  /** A challenge read with the wire contract's schema of the answer, as RelayApi reads it. */
  challenge: (relay: string, username: string) =>
    outcome(() =>
      requestJson(
        fetchEndpoint(relay),
        { method: "POST", path: "/v1/challenges", body: { purpose: "auth", username } },
        ChallengeAnswer,
      ),
    ),
  limited: (relay: string, path: string, maxResponseBytes: number) =>
    outcome(
      async () => (await requestRaw(fetchEndpoint(relay), { method: "GET", path, maxResponseBytes })).status,
    ),
  withCa: (relay: string) =>
    outcome(() =>
      requestRaw(
        { ...fetchEndpoint(relay), ca: "-----BEGIN CERTIFICATE-----" },
        { method: "GET", path: "/healthz" },
      ),
    ),
  relayTime: (relay: string) => outcome(() => relayTime(fetchEndpoint(relay))),
  /** Uploads `size` pattern bytes in `pieces` pieces under `hash`, with progress; returns what progress said. */
  upload: (relay: string, token: string, hash: string, recipients: string, size: number, pieces: number) =>
    outcome(async () => {
      const bytes = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
      const step = Math.ceil(size / pieces);
      const parts: Uint8Array[] = [];
      for (let offset = 0; offset < size; offset += step) parts.push(bytes.subarray(offset, offset + step));
      const progress: [number, number][] = [];
      const answer = await requestRaw(fetchEndpoint(relay), {
        method: "PUT",
        path: `/v1/attachments/${hash}?recipients=${recipients}`,
        token,
        body: parts,
        onUpload: (sent, total) => progress.push([sent, total]),
      });
      return { status: answer.status, progress };
    }),
  /** Streams a download; returns the pieces' count, the bytes' hex prefix/length, progress's last report. */
  download: (relay: string, token: string, hash: string, stopAfter?: number) =>
    outcome(async () => {
      let last: [number, number | null] = [0, null];
      const answer = await requestStream(fetchEndpoint(relay), {
        method: "GET",
        path: `/v1/attachments/${hash}`,
        token,
        onDownload: (received, total) => {
          last = [received, total];
        },
      });
      const pieces: Uint8Array[] = [];
      let length = 0;
      for await (const piece of answer.body) {
        pieces.push(piece);
        length += piece.length;
        if (stopAfter !== undefined && pieces.length >= stopAfter) break;
      }
      const all = new Uint8Array(length);
      let offset = 0;
      for (const piece of pieces) {
        all.set(piece, offset);
        offset += piece.length;
      }
      const expected = new Uint8Array(length).map((_, i) => (i * 31 + 7) & 0xff);
      return {
        length,
        announced: answer.length,
        pieces: pieces.length,
        same: all.every((byte, i) => byte === expected[i]),
        head: hex(all.subarray(0, 8)),
        last,
      };
    }),
};

const channel = {
  open: (name: string, relay: string, token: string, maxFrameBytes = 1 << 20) => {
    const seen: string[] = [];
    const socket = openBrowserChannelSocket(
      { url: websocketUrl(fetchEndpoint(relay)), token, ca: null, connectTimeoutMs: 10_000, maxFrameBytes },
      {
        onOpen: () => seen.push("open"),
        onText: (text) => seen.push(text),
        onBinary: () => seen.push("binary"),
        onPong: () => seen.push("pong"),
        onError: (error) =>
          seen.push(`error:${error.tooLarge ? "too-large" : error.refused ? "refused" : "failed"}`),
        onClose: (code) => seen.push(`close:${code}`),
      },
    );
    sockets.set(name, { socket, seen });
  },
  seen: (name: string) => sockets.get(name)?.seen ?? [],
  send: (name: string, text: string) => sockets.get(name)!.socket.send(text),
  pause: (name: string) => sockets.get(name)!.socket.pause(),
  resume: (name: string) => sockets.get(name)!.socket.resume(),
  ping: (name: string) => sockets.get(name)!.socket.ping(),
  terminate: (name: string) => sockets.get(name)!.socket.terminate(),
};

/** The SDK's relay channel itself (relay-channel.ts) over the browser's socket and base64. */
const relayChannels = new Map<string, { channel: RelayChannel; pushed: string[]; ready: number }>();
const relayChannel = {
  open: (name: string, relay: string, token: string) => {
    const channel = new RelayChannel({
      endpoint: fetchEndpoint(relay),
      token: async () => token,
      forgetToken: () => {},
    });
    const entry = { channel, pushed: [] as string[], ready: 0 };
    channel.subscribe({
      onMessage: (message) => entry.pushed.push(`${message.id}:${message.from}:${hex(message.envelope)}`),
      onReady: () => {
        entry.ready++;
      },
    });
    relayChannels.set(name, entry);
  },
  state: (name: string) => {
    const entry = relayChannels.get(name)!;
    return { pushed: entry.pushed, ready: entry.ready };
  },
  send: (name: string, to: string, id: string, envelopeHex: string) =>
    outcome(() =>
      relayChannels
        .get(name)!
        .channel.send(
          to,
          id,
          new Uint8Array(envelopeHex.match(/../g)!.map((byte) => Number.parseInt(byte, 16))),
        ),
    ),
  ack: (name: string, ids: number[]) => outcome(() => relayChannels.get(name)!.channel.ack(ids)),
  close: (name: string) => relayChannels.get(name)!.channel.close(),
};

(globalThis as unknown as { nanoRelayChannel: typeof relayChannel }).nanoRelayChannel = relayChannel;
(globalThis as unknown as { nanoRelayFetch: typeof api; nanoChannel: typeof channel }).nanoRelayFetch = api;
(globalThis as unknown as { nanoChannel: typeof channel }).nanoChannel = channel;
document.getElementById("status")!.textContent = "ready";
