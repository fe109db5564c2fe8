import { type AuthFrame, CLOSE, FRAME } from "../../wire/index.ts";
import type { ChannelSocket, ChannelSocketEvents, ChannelSocketOptions } from "./channel-socket.ts";

/**
 * The channel's socket in the browser (channel-socket.ts): the page's WebSocket, which cannot set an
 * Authorization header, so the token goes as the first frame (`{"type": "auth", "token"}`, the only
 * frame before `ready`, docs/api.md). The browser answers the relay's pings itself and has no ping of
 * its own: liveness is the relay's pings and the close event. It cannot stop reading either, so
 * `pause` holds frames in order and `resume` hands them over — bounded by what the relay may push
 * (its mailbox and send window). A frame over `maxFrameBytes` closes the socket (1009), as `ws` does.
 */
/** The only codes a page may close with (RFC 6455 §7.4; WebSocket.close throws for others). */
const closeCode = (code: number) =>
  code === CLOSE.NORMAL || (code >= 3000 && code <= 4999) ? code : CLOSE.NORMAL;

export function openBrowserChannelSocket(
  options: ChannelSocketOptions,
  events: ChannelSocketEvents,
): ChannelSocket {
  const socket = new WebSocket(options.url);
  socket.binaryType = "arraybuffer";
  let paused = false;
  const held: string[] = [];
  let closed = false;
  const finish = (code: number) => {
    if (closed) return;
    closed = true;
    held.length = 0;
    events.onClose(code);
  };
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: FRAME.auth, token: options.token } satisfies AuthFrame));
    events.onOpen();
  });
  socket.addEventListener("message", (event: MessageEvent) => {
    if (typeof event.data !== "string") {
      events.onBinary();
      return;
    }
    if (event.data.length > options.maxFrameBytes) {
      events.onError({ message: "max payload size exceeded", refused: false, tooLarge: true });
      socket.close(CLOSE.NORMAL, "frame too large");
      finish(CLOSE.MESSAGE_TOO_BIG);
      return;
    }
    if (paused) held.push(event.data);
    else events.onText(event.data);
  });
  // The browser says nothing about why (an HTTP answer to the upgrade looks like a network failure).
  socket.addEventListener("error", () =>
    events.onError({ message: "the WebSocket failed", refused: false, tooLarge: false }),
  );
  socket.addEventListener("close", (event: CloseEvent) => finish(event.code));
  return {
    get open() {
      return socket.readyState === WebSocket.OPEN;
    },
    send: (text) => socket.send(text),
    close: (code, reason) => socket.close(closeCode(code), reason),
    terminate: () => {
      socket.close(CLOSE.NORMAL, "terminated");
      // No close handshake to wait for: the channel hears the close now.
      finish(CLOSE.ABNORMAL);
    },
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      while (!paused && held.length > 0) events.onText(held.shift()!);
    },
    ping: () => false,
  };
}
