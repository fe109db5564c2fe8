import WebSocket from "ws";
import type { ChannelSocket, ChannelSocketEvents, ChannelSocketOptions } from "./channel-socket.ts";

/** The channel's socket in Node (channel-socket.ts): `ws`, the token on the upgrade request. */
export function openNodeChannelSocket(
  options: ChannelSocketOptions,
  events: ChannelSocketEvents,
): ChannelSocket {
  const socket = new WebSocket(options.url, {
    headers: { authorization: `Bearer ${options.token}` },
    ...(options.ca === null ? {} : { ca: options.ca }),
    handshakeTimeout: options.connectTimeoutMs,
    maxPayload: options.maxFrameBytes,
  });
  socket.on("open", () => events.onOpen());
  socket.on("pong", () => events.onPong());
  socket.on("message", (data, binary) => {
    if (binary) events.onBinary();
    else events.onText(data.toString());
  });
  socket.on("error", (error) =>
    events.onError({
      message: error.message,
      refused: /Unexpected server response: \d+/.test(error.message),
      tooLarge: /max payload/i.test(error.message),
    }),
  );
  socket.on("close", (code) => events.onClose(code));
  return {
    get open() {
      return socket.readyState === WebSocket.OPEN;
    },
    send: (text) => socket.send(text),
    close: (code, reason) => socket.close(code, reason),
    terminate: () => socket.terminate(),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    ping: () => {
      socket.ping();
      return true;
    },
  };
}
