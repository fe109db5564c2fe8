import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { z } from "zod";
import {
  endpointFromUrl,
  requestJson,
  requestRaw,
  requestStream,
  websocketUrl,
} from "../../src/client/transport/relay-http.ts";
import { NanoError } from "../../src/errors/index.ts";

/** Any JSON: these tests are about statuses and error bodies, not an endpoint's answer shape. */
const anyJson = z.unknown();

/** A loopback server whose answer per path is scripted: the relay's good, bad and hostile replies. */
async function withServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  run: (url: string) => Promise<void>,
): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function answer(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { "content-type": "application/json" }).end(body);
}

test("relay answers map to typed errors: known codes kept, unknown and malformed ones are relay_rejected", () =>
  withServer(
    (request, response) => {
      const routes: Record<string, () => void> = {
        "/ok": () => answer(response, 200, '{"fine": true}'),
        "/known": () =>
          answer(response, 404, '{"error": {"code": "account_not_found", "message": "No account"}}'),
        "/unknown": () => answer(response, 400, '{"error": {"code": "made_up_code", "message": "x"}}'),
        "/garbage": () => answer(response, 500, "<html>oops</html>"),
        "/empty-error": () => answer(response, 503, ""),
        "/big": () => {
          response.writeHead(200);
          response.end(Buffer.alloc(2048, 0x41));
        },
      };
      (routes[request.url ?? ""] ?? (() => answer(response, 404, "{}")))();
    },
    async (url) => {
      const endpoint = endpointFromUrl(url, null);
      assert.deepEqual(await requestJson(endpoint, { method: "GET", path: "/ok" }, anyJson), { fine: true });
      const code = (path: string) =>
        requestJson(endpoint, { method: "GET", path }, anyJson).then(
          () => "resolved",
          (e: unknown) => (NanoError.is(e) ? e.code : "not a NanoError"),
        );
      assert.equal(await code("/known"), "account_not_found");
      assert.equal(await code("/unknown"), "relay_rejected");
      assert.equal(await code("/garbage"), "relay_rejected");
      assert.equal(await code("/empty-error"), "relay_rejected");
      await assert.rejects(
        requestRaw(endpoint, { method: "GET", path: "/big", maxResponseBytes: 1024 }),
        (e: unknown) => NanoError.is(e, "relay_rejected"),
      );
    },
  ));

test("streamed answers: the body as it arrives, typed errors for non-2xx, a broken body is relay_unreachable", () =>
  withServer(
    (request, response) => {
      const routes: Record<string, () => void> = {
        "/blob": () => {
          response.writeHead(200, { "content-length": String(3 * 65536) });
          response.write(Buffer.alloc(65536, 1));
          // The rest arrives later: the consumer must see the first piece before the whole body exists.
          setTimeout(() => response.end(Buffer.alloc(2 * 65536, 2)), 20);
        },
        "/missing": () =>
          answer(
            response,
            404,
            '{"error": {"code": "attachment_not_found", "message": "no such attachment"}}',
          ),
        "/broken": () => {
          response.writeHead(200, { "content-length": String(4 * 65536) });
          response.write(Buffer.alloc(65536, 3), () => setTimeout(() => response.destroy(), 20));
        },
      };
      (routes[request.url ?? ""] ?? (() => answer(response, 404, "{}")))();
    },
    async (url) => {
      const endpoint = endpointFromUrl(url, null);
      const progress: number[] = [];
      const answerOk = await requestStream(endpoint, {
        method: "GET",
        path: "/blob",
        onDownload: (received) => progress.push(received),
      });
      assert.equal(answerOk.length, 3 * 65536);
      const pieces: Uint8Array[] = [];
      for await (const piece of answerOk.body) pieces.push(piece);
      assert.ok(pieces.length >= 2, "delivered in pieces, not buffered whole");
      const body = Buffer.concat(pieces);
      assert.equal(body.length, 3 * 65536);
      assert.equal(body[0], 1);
      assert.equal(body.at(-1), 2);
      assert.equal(progress.at(-1), 3 * 65536);

      await assert.rejects(requestStream(endpoint, { method: "GET", path: "/missing" }), (e: unknown) =>
        NanoError.is(e, "attachment_not_found"),
      );

      const broken = await requestStream(endpoint, { method: "GET", path: "/broken" });
      await assert.rejects(
        (async () => {
          for await (const _piece of broken.body) {
            // read until the connection breaks
          }
        })(),
        (e: unknown) => NanoError.is(e, "relay_unreachable"),
      );

      // A consumer that stops early (a chunk failed to verify) closes the response instead of reading on.
      const early = await requestStream(endpoint, { method: "GET", path: "/blob" });
      for await (const _piece of early.body) break;
    },
  ));

test("an unreachable relay is relay_unreachable, naming the address and never hanging", async () => {
  // Port 9 on loopback: nothing listens there, so the connection is refused at once.
  const endpoint = endpointFromUrl("http://127.0.0.1:9", null);
  await assert.rejects(requestJson(endpoint, { method: "GET", path: "/healthz" }, anyJson), (e: unknown) => {
    assert.ok(NanoError.is(e, "relay_unreachable"));
    assert.match(e.message, /127\.0\.0\.1:9/);
    return true;
  });
});

test("relay URLs: ws(s) and http(s) map to one API origin and the /v1/ws socket", () => {
  assert.equal(endpointFromUrl("wss://relay.example:8443", null).base.origin, "https://relay.example:8443");
  assert.equal(endpointFromUrl("http://127.0.0.1:8080/", null).base.origin, "http://127.0.0.1:8080");
  assert.equal(
    websocketUrl(endpointFromUrl("https://relay.example", null)).href,
    "wss://relay.example/v1/ws",
  );
  assert.equal(websocketUrl(endpointFromUrl("http://127.0.0.1:1", null)).href, "ws://127.0.0.1:1/v1/ws");
});
