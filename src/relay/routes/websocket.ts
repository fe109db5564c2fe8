import websocket from "@fastify/websocket";
import type { FastifyInstance } from "fastify";
import type { RelayContext } from "../context.ts";
import { WsConnection } from "../ws-connection.ts";
import { maxSendBytes } from "./_http.ts";

/**
 * GET /v1/ws: push delivery. Authenticated on connect with `Authorization: Bearer <token>` on the
 * upgrade request, or (for clients that cannot set headers) an `auth` frame within
 * limits.websocket.auth_timeout_seconds.
 */
export async function websocketRoutes(app: FastifyInstance, context: RelayContext): Promise<void> {
  await app.register(websocket, {
    options: {
      // A send frame carries one base64 envelope plus a little JSON.
      maxPayload: maxSendBytes(context.config.limits.max_envelope_bytes),
      // Every frame of a read handed over at once, so a client's pipelined sends share one group
      // commit (one frame per turn of the event loop cost the relay 0.75-0.88 ms of CPU per message
      // against 0.49: docs/performance.md). A burst of frames (thousands of tiny ones in one read)
      // still cannot hold the loop: limits/socket-flow.ts handles at most FRAMES_PER_TURN of one
      // socket per turn, and its queue pauses reading.
      allowSynchronousEvents: true,
    },
    // Protocol errors (bad framing, oversized frames, invalid UTF-8) are the peer's fault, and ws has
    // already closed the connection with the right code: one short warn line, no stack (a hostile
    // client must not be able to write a kilobyte of stack trace into the log per connection).
    errorHandler: (error, socket, request) => {
      const code = (error as NodeJS.ErrnoException).code;
      request.log.warn({ code, reason: error.message.slice(0, 120) }, "websocket protocol error");
      // ws closed a protocol error's connection itself (1002/1007/1009); anything else is cut here.
      if (socket.readyState === socket.OPEN) socket.terminate();
    },
  });
  app.get("/v1/ws", { websocket: true }, (socket, request) => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer ([^\s]+)$/i.exec(header);
    new WsConnection(
      socket,
      context,
      match?.[1] ?? (header === undefined ? null : ""),
      request.ip,
      // The upgraded request's socket is the one ws writes to: corked per burst of frames (socket-flow.ts).
      request.raw.socket,
    );
  });
}
