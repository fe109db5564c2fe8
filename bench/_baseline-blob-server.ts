// Baseline for the attachment scenario of `npm run bench -- relay`: the same bytes PUT and GET over
// plain node:http, streamed to a file and fsynced before the answer (the relay's durability promise),
// served back from the file and deleted once fetched (as the relay does after the last recipient).
// No auth, no hashing, no recipient list, no quota, no metadata commit, no Fastify: the relay's
// transfer rate divided by this one's is the price of everything the relay adds to an attachment.
// Usage: node bench/_baseline-blob-server.ts BLOB_DIR PORT_FILE
import { createReadStream, createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";

const [dir, portFile] = process.argv.slice(2);
mkdirSync(dir!, { recursive: true });
const ADDRESS = /^\/blobs\/([0-9a-f]{128})$/;
let sequence = 0;

function answer(response: ServerResponse, status: number): void {
  response.writeHead(status, { "content-length": "0" }).end();
}

const server = createServer(async (request, response) => {
  const hash = ADDRESS.exec(request.url ?? "")?.[1];
  if (hash === undefined) return answer(response, 404);
  const path = join(dir!, hash);
  try {
    if (request.method === "PUT") {
      // A temporary name and a rename, like the relay, so a reader never sees a half-written blob.
      const tmp = join(dir!, `tmp-${sequence++}`);
      await pipeline(request, createWriteStream(tmp, { mode: 0o600 }));
      const file = await open(tmp, "r");
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, path);
      return answer(response, 201);
    }
    if (request.method === "GET") {
      const size = (await stat(path).catch(() => null))?.size;
      if (size === undefined) return answer(response, 404);
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) });
      await pipeline(createReadStream(path), response);
      await rm(path, { force: true });
      return;
    }
    answer(response, 405);
  } catch {
    if (!response.headersSent) answer(response, 500);
    else response.destroy();
  }
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  writeFileSync(portFile!, JSON.stringify({ port }));
});
process.on("SIGTERM", () => {
  server.close();
  process.exit(0);
});
