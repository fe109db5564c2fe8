import type { FastifyInstance } from "fastify";
import { WEB_SECURITY_HEADERS } from "../../web/security-policy.ts";
import type { WebApp } from "../web-app.ts";

/**
 * The web app's files at the relay's own origin (docs/web.md): one GET/HEAD route per built file, no
 * wildcard, so every other path stays the API's typed 404. Every response carries the strict CSP and
 * the other security headers; hashed assets are immutable, index.html revalidates (a new build is
 * picked up at once), ETags are the files' SHA-256.
 */
export function webRoutes(app: FastifyInstance, web: WebApp): void {
  for (const file of web.files) {
    app.route({
      method: ["GET", "HEAD"],
      url: file.path,
      handler: async (request, reply) => {
        reply.headers(WEB_SECURITY_HEADERS);
        reply.header("content-type", file.contentType);
        reply.header("etag", file.etag);
        reply.header("cache-control", file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
        if (request.headers["if-none-match"] === file.etag) return reply.code(304).send();
        return reply.send(file.body);
      },
    });
  }
}
