import websocket from "@fastify/websocket";
import type { FastifyInstance } from "fastify";
import type { RelayContext } from "../context.ts";
import { WsConnection } from "../ws-connection.ts";
import { maxSendBytes } from "./_http.ts";

/**
 * GET /v1/ws: push delivery. Authenticated on connect with `Authorization: Bearer <token>` on the
 * upgrade request, or (for clients that cannot set headers) an `auth` frame within 10 s.
 */
export async function websocketRoutes(app: FastifyInstance, context: RelayContext): Promise<void> {
  await app.register(websocket, {
    options: {
      // A send frame carries one base64 envelope plus a little JSON.
      maxPayload: maxSendBytes(context.config.limits.max_envelope_bytes),
    },
  });
  app.get("/v1/ws", { websocket: true }, (socket, request) => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer ([^\s]+)$/i.exec(header);
    new WsConnection(socket, context, match?.[1] ?? (header === undefined ? null : ""));
  });
}
