import type { Server } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { NanoError } from "../../errors/index.ts";
import type { RelayContext } from "../context.ts";
import { authenticate } from "../routes/_http.ts";
import type { KeyedCounter } from "./keyed-counter.ts";

/**
 * Per-route options the guard reads (Fastify's route `config`):
 * - `public`: the route serves callers without a token (claims, logins, health); its body is read
 *   without authentication, under the short body timeout and the route's own early limits;
 * - `longBody`: the body may take up to server.request_timeout_seconds (authenticated attachment
 *   uploads); every other body must arrive within server.body_timeout_seconds.
 */
export interface GuardRouteConfig {
  readonly public?: boolean;
  readonly longBody?: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the guard when it authenticated the request before reading its body. */
    nanoUsername: string | null;
  }
}

/** True when the request announces a body (a length above zero or a chunked body). */
function announcesBody(request: FastifyRequest): boolean {
  const length = request.headers["content-length"];
  if (length !== undefined) return length !== "0";
  return request.headers["transfer-encoding"] !== undefined;
}

function routeConfig(request: FastifyRequest): GuardRouteConfig {
  return (request.routeOptions.config ?? {}) as GuardRouteConfig;
}

/**
 * Closes the connection after this answer when the request's body was not read: Node would otherwise
 * read and discard the rest of it to keep the connection alive, which is exactly what a slow sender
 * wants (finding 4 of issue 12: 60 bodies trickling at 1 byte/s held every connection for an hour).
 */
function closeIfUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (announcesBody(request) && !request.raw.complete) reply.header("connection", "close");
}

/**
 * The relay's HTTP front door, in the order a hostile request meets it:
 * 1. a TCP connection beyond server.max_connections_per_address is closed unanswered;
 * 2. a request with a body to an unknown route gets 404 and its body is never read;
 * 3. a request with a body to a route that needs a token is authenticated from its headers, and
 *    refused (401) unread when the token is missing, unknown or expired;
 * 4. the body must then arrive within server.body_timeout_seconds (408 `body_timeout`, connection
 *    closed), except on `longBody` routes;
 * 5. each route's own early limits (route-level onRequest hooks) run before its body is read.
 */
export function installHttpGuard(app: FastifyInstance, context: RelayContext): void {
  const bodyTimeoutMs = context.config.server.body_timeout_seconds * 1000;
  app.decorateRequest("nanoUsername", null);
  app.addHook("onRequest", async (request, reply) => {
    if (!announcesBody(request)) return;
    if (request.is404) {
      reply.header("connection", "close");
      throw new NanoError("route_not_found", `no endpoint ${request.method} ${request.url.split("?")[0]}`);
    }
    const config = routeConfig(request);
    if (!config.longBody) armBodyTimer(request, reply, bodyTimeoutMs);
    if (config.public) return;
    try {
      request.nanoUsername = await authenticate(context, request);
    } catch (error) {
      reply.header("connection", "close");
      throw error;
    }
  });
  app.addHook("onSend", async (request, reply) => closeIfUnread(request, reply));
}

function armBodyTimer(request: FastifyRequest, reply: FastifyReply, timeoutMs: number): void {
  const timer = setTimeout(() => {
    if (request.raw.complete) return;
    if (reply.sent || reply.raw.headersSent) {
      request.raw.destroy();
      return;
    }
    reply.header("connection", "close");
    const error = new NanoError(
      "body_timeout",
      `the request body did not arrive within ${timeoutMs / 1000} s`,
    );
    reply.status(error.status).send({ error: { code: error.code, message: error.message } });
  }, timeoutMs);
  timer.unref();
  const clear = () => clearTimeout(timer);
  request.raw.once("end", clear);
  request.raw.once("close", clear);
  reply.raw.once("close", clear);
}

/**
 * Caps open TCP connections per client address on a listener (before TLS and HTTP parsing, so a
 * refused connection costs one accept). Behind a TLS proxy every peer is the proxy, so the cap is
 * not applied there; the proxy must cap per client.
 */
export function capConnectionsPerAddress(server: Server, counter: KeyedCounter): void {
  server.on("connection", (socket) => {
    const address = socket.remoteAddress ?? "unknown";
    if (!counter.acquire(address)) {
      socket.destroy();
      return;
    }
    socket.once("close", () => counter.release(address));
  });
}
