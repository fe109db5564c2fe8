import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import type { RelayContext } from "./context.ts";
import { installCors } from "./cors.ts";
import { capConnectionsPerAddress, installHttpGuard } from "./limits/http-guard.ts";
import { installErrorHandling } from "./routes/_http.ts";
import { accountRoutes } from "./routes/accounts.ts";
import { attachmentRoutes } from "./routes/attachments.ts";
import { authRoutes } from "./routes/auth.ts";
import { healthRoutes } from "./routes/health.ts";
import { messageRoutes } from "./routes/messages.ts";
import { prekeyRoutes } from "./routes/prekeys.ts";
import { transparencyRoutes } from "./routes/transparency.ts";
import { webRoutes } from "./routes/web.ts";
import { websocketRoutes } from "./routes/websocket.ts";
import { loadWebApp } from "./web-app.ts";

export interface AppOptions {
  /** Serve the HTTP API (/v1/... except /v1/ws). */
  readonly api: boolean;
  /** Serve the WebSocket endpoint /v1/ws. */
  readonly websocket: boolean;
  /** Extra Fastify options (https for TLS). */
  readonly fastify?: FastifyServerOptions & { https?: object | null };
}

/**
 * Builds one Fastify instance. With api_port == websocket_port the relay runs one instance serving
 * both; otherwise two, each with health endpoints. Tests call this directly and use inject().
 */
export async function buildRelayApp(context: RelayContext, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: context.log,
    // Request ids only; the request line is reduced to method + route pattern by the serializers.
    logController: new LogController({
      disableRequestLogging: !["debug", "trace"].includes(context.config.monitoring.log_level),
    }),
    bodyLimit: 65_536,
    // Attachment addresses are 128 hex characters.
    routerOptions: { maxParamLength: 160 },
    // Unknown fields are errors, not silently stripped: a client that sends them has a bug to see.
    ajv: { customOptions: { removeAdditional: false } },
    // Fastify 5 closes idle keep-alive sockets on close(); in-flight requests still finish.
    forceCloseConnections: "idle",
    return503OnClosing: true,
    // Behind a TLS proxy the peer address is the proxy's: rate limits must key on X-Forwarded-For.
    trustProxy: context.config.server.behind_tls_proxy,
    // Time to receive a whole authenticated attachment upload (Node's default 300 s would cut a
    // 100 MiB upload below ~350 KB/s). Every other body has the short body timeout of the guard
    // (limits/http-guard.ts); headers must arrive within headers_timeout_seconds.
    requestTimeout: context.config.server.request_timeout_seconds * 1000,
    ...(options.fastify ?? {}),
  } as FastifyServerOptions) as unknown as FastifyInstance;
  installErrorHandling(app, context);
  if (options.api) installCors(app, context.config.web.allowed_origins);
  installHttpGuard(app, context);
  healthRoutes(app, context);
  if (options.websocket) await websocketRoutes(app, context);
  if (options.api) {
    accountRoutes(app, context);
    authRoutes(app, context);
    prekeyRoutes(app, context);
    messageRoutes(app, context);
    attachmentRoutes(app, context);
    transparencyRoutes(app, context);
    const { web } = context.config;
    if (web.enabled) webRoutes(app, await loadWebApp(web.static_dir));
  }
  await app.ready();
  app.server.maxConnections = context.config.server.max_connections;
  app.server.headersTimeout = context.config.server.headers_timeout_seconds * 1000;
  if (!context.config.server.behind_tls_proxy)
    capConnectionsPerAddress(app.server, context.bounds.connections);
  return app;
}
