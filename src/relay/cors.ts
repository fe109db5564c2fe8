import type { FastifyInstance } from "fastify";

/**
 * Cross-origin access to the API for the web app run from a local copy (docs/web.md "Run from a local
 * copy"): only the origins `[web] allowed_origins` names, never a wildcard. The API authenticates by
 * bearer token and sets no cookies, so a listed origin gains nothing a script could not already do
 * with a token it holds; the list exists so that an operator says which copies their relay serves, and
 * so that a page from anywhere else cannot even read the relay's public answers. The relay's own
 * origin needs none of this (same origin).
 *
 * A preflight (OPTIONS with Access-Control-Request-Method) from a listed origin is answered 204 here,
 * before any route or guard; from any other origin it falls through to the typed 404.
 */
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE";
const ALLOWED_HEADERS = "authorization, content-type";
/** The relay's clock is read from Date (client/transport/relay-clock.ts), which CORS hides by default. */
const EXPOSED_HEADERS = "date";
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function installCors(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  if (allowedOrigins.length === 0) return;
  const allowed = new Set(allowedOrigins);
  app.addHook("onRequest", async (request, reply) => {
    const origin = request.headers.origin;
    reply.header("vary", "origin");
    if (typeof origin !== "string" || !allowed.has(origin)) return;
    reply.header("access-control-allow-origin", origin);
    reply.header("access-control-expose-headers", EXPOSED_HEADERS);
    if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
      reply.header("access-control-allow-methods", ALLOWED_METHODS);
      reply.header("access-control-allow-headers", ALLOWED_HEADERS);
      reply.header("access-control-max-age", String(PREFLIGHT_MAX_AGE_SECONDS));
      return reply.code(204).send();
    }
  });
}

/** An origin as the browser sends it: http(s)://host[:port], nothing else (no path, no slash). */
export function isWebOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === text;
  } catch {
    return false;
  }
}
