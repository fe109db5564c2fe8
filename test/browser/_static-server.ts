/**
 * A loopback HTTP server for browser tests: a built page's folder at `/`, and the official vectors
 * folder at `/vectors/` (read from ../shared/vectors where they are, never copied into the project).
 * Paths are resolved and must stay inside their folder; anything else is 404.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, resolve, sep } from "node:path";
import { vectorsDir } from "../support/vectors.ts";

const TYPES: Readonly<Record<string, string>> = Object.freeze({
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
});

function inside(root: string, requested: string): string | null {
  const path = resolve(root, `.${requested}`);
  return path === root || path.startsWith(root + sep) ? path : null;
}

export interface StaticServer {
  readonly origin: string;
  close(): Promise<void>;
}

/** `headers`: sent with every page file (e.g. the app's CSP, so a test page runs under it). */
export async function serveStatic(
  pageRoot: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<StaticServer> {
  const roots = { page: resolve(pageRoot), vectors: resolve(vectorsDir()) };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    let path: string | null;
    const pathname = decodeURIComponent(url.pathname);
    if (pathname.startsWith("/vectors/")) path = inside(roots.vectors, pathname.slice("/vectors".length));
    else path = inside(roots.page, pathname === "/" ? "/index.html" : pathname);
    if (path === null || !existsSync(path) || !statSync(path).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {
      ...headers,
      "content-type": TYPES[extname(path)] ?? "application/octet-stream",
    });
    createReadStream(path).pipe(response);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
