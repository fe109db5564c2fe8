/**
 * The relay channel's WebSocket, whatever runtime holds it (relay-channel.ts owns the protocol on top:
 * frames, deadlines, reconnects). Node uses the `ws` package (channel-socket-node.ts: the token on the
 * upgrade request, a private CA, pause/resume reading, pings); the browser its WebSocket
 * (channel-socket-browser.ts: the token as the first frame, docs/api.md "WebSocket /v1/ws"). Node-free.
 */
export interface ChannelSocketEvents {
  /** Open and, where the token travels as a frame, that frame written: the relay's `ready` follows. */
  onOpen(): void;
  onText(text: string): void;
  onBinary(): void;
  onPong(): void;
  /**
   * `refused`: the upgrade was answered with an HTTP status (not a WebSocket endpoint: use HTTP for a
   * while); `tooLarge`: a frame over `maxFrameBytes`.
   */
  onError(error: { readonly message: string; readonly refused: boolean; readonly tooLarge: boolean }): void;
  onClose(code: number): void;
}

export interface ChannelSocketOptions {
  readonly url: URL;
  readonly token: string;
  /** PEM of a private CA for this connection only (Node; null in the browser). */
  readonly ca: string | null;
  readonly connectTimeoutMs: number;
  readonly maxFrameBytes: number;
}

export interface ChannelSocket {
  /** True while frames can be written. */
  readonly open: boolean;
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Ends at once, without waiting for the relay's close frame. */
  terminate(): void;
  /** Stops handing frames over until `resume` (Node stops reading the socket; the browser holds them). */
  pause(): void;
  resume(): void;
  /** Pings; false where the runtime cannot (the browser: the relay's pings and close events tell). */
  ping(): boolean;
}

export type OpenChannelSocket = (options: ChannelSocketOptions, events: ChannelSocketEvents) => ChannelSocket;

/** Node's timers keep the process alive unless unref'd; the browser's are numbers. */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}
