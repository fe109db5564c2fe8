import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { NanoError } from "../../errors/index.ts";
import { NODE_BASE64 } from "../local-store/node-record-codec.ts";
import { openNodeChannelSocket } from "./channel-socket-node.ts";
import {
  checkRawStatus,
  MAX_ERROR_BODY,
  MAX_RESPONSE_BYTES,
  type RawRequest,
  REQUEST_TIMEOUT_MS,
  type RelayEndpoint,
  type RelayTransport,
  relayBase,
  relayUnreachable,
  type StreamedAnswer,
} from "./relay-request.ts";

// Taken without `import`: node:http's ESM facade reads every export, and its lazy WebSocket,
// CloseEvent and MessageEvent getters load Node's bundled undici — 70-290 ms of every CLI command on
// the development VM (a CPU profile of `nano-client send`: docs/performance.md "CLI start").
const { request: httpRequest } = process.getBuiltinModule("node:http");
const { request: httpsRequest } = process.getBuiltinModule("node:https");

/**
 * The Node transport of the relay API (relay-request.ts): node:https rather than fetch because a relay
 * with a private CA (`--ca FILE`) must be trusted for this connection only, never process-wide.
 * The runtime-independent pieces are re-exported, so Node callers keep one import.
 */
export {
  checkRawStatus,
  type JsonRequest,
  MAX_ERROR_MESSAGE,
  malformedAnswer,
  type RawRequest,
  REQUEST_TIMEOUT_MS,
  type RelayEndpoint,
  readAnswer,
  requestJson,
  requestRaw,
  requestStream,
  type StreamedAnswer,
  websocketUrl,
} from "./relay-request.ts";

/** An endpoint for a relay URL over node:http(s), with `ca` trusted for it alone. */
export function endpointFromUrl(relay: string, ca: string | null): RelayEndpoint {
  return { base: relayBase(relay), ca, transport: nodeTransport };
}

/** Upload pieces: big bodies go out in slices so progress can be shown and memory stays flat. */
const UPLOAD_SLICE = 256 * 1024;

function slices(body: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const piece of body instanceof Uint8Array ? [body] : body) {
    for (let offset = 0; offset < piece.length; offset += UPLOAD_SLICE) {
      out.push(piece.subarray(offset, Math.min(piece.length, offset + UPLOAD_SLICE)));
    }
  }
  return out;
}

function unreachable(endpoint: RelayEndpoint, cause: NodeJS.ErrnoException): NanoError {
  return relayUnreachable(endpoint, cause.code, cause);
}

/**
 * Sends one request; `onResponse` gets the response once its headers arrived, `onError` a typed
 * error for a connection that could not be made or broke before the headers.
 */
function send(
  endpoint: RelayEndpoint,
  request: RawRequest,
  onResponse: (response: IncomingMessage) => void,
  onError: (error: NanoError) => void,
): void {
  const url = new URL(request.path, endpoint.base);
  const pieces = request.body === undefined ? null : slices(request.body);
  const total = pieces === null ? 0 : pieces.reduce((sum, piece) => sum + piece.length, 0);
  const headers: Record<string, string> = {};
  if (pieces !== null) {
    headers["content-type"] = request.contentType ?? "application/octet-stream";
    headers["content-length"] = String(total);
  }
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  const options = {
    method: request.method,
    headers,
    timeout: REQUEST_TIMEOUT_MS,
    ...(endpoint.ca === null ? {} : { ca: endpoint.ca }),
  };
  // TLS 1.3 only, as the relay serves it (DESIGN.md "TLS").
  const req =
    url.protocol === "https:"
      ? httpsRequest(url, { ...options, minVersion: "TLSv1.3" }, onResponse)
      : httpRequest(url, options, onResponse);
  req.on("timeout", () => req.destroy(new Error("timed out")));
  req.on("error", (cause: NodeJS.ErrnoException) => onError(unreachable(endpoint, cause)));
  if (pieces === null) {
    req.end();
    return;
  }
  let index = 0;
  let sent = 0;
  const pump = () => {
    while (index < pieces.length) {
      const piece = pieces[index++]!;
      const more = req.write(piece);
      sent += piece.length;
      request.onUpload?.(sent, total);
      if (!more) {
        req.once("drain", pump);
        return;
      }
    }
    req.end();
  };
  pump();
}

function nodeRaw(
  endpoint: RelayEndpoint,
  request: RawRequest,
): Promise<{ status: number; body: Buffer; headers: IncomingHttpHeaders }> {
  const limit = request.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  return new Promise((resolve, reject) => {
    send(
      endpoint,
      request,
      (response) => {
        const chunks: Buffer[] = [];
        let total = 0;
        const announced = Number(response.headers["content-length"] ?? Number.NaN);
        response.on("data", (chunk: Buffer) => {
          total += chunk.length;
          if (total > limit) {
            response.destroy();
            reject(new NanoError("relay_rejected", "relay answer is too large"));
            return;
          }
          chunks.push(chunk);
          request.onDownload?.(total, Number.isFinite(announced) ? announced : null);
        });
        response.on("error", (cause) =>
          reject(new NanoError("relay_unreachable", "the relay connection broke", { cause })),
        );
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks),
            headers: response.headers,
          }),
        );
      },
      reject,
    );
  });
}

function nodeStream(endpoint: RelayEndpoint, request: RawRequest): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    send(
      endpoint,
      request,
      (response) => {
        const status = response.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          readBounded(response, MAX_ERROR_BODY).then((body) => {
            try {
              checkRawStatus({ status, body });
            } catch (error) {
              reject(error);
            }
          }, reject);
          return;
        }
        const announced = Number(response.headers["content-length"] ?? Number.NaN);
        const length = Number.isSafeInteger(announced) && announced >= 0 ? announced : null;
        resolve({ status, length, body: streamBody(response, length, request.onDownload) });
      },
      reject,
    );
  });
}

async function* streamBody(
  response: IncomingMessage,
  length: number | null,
  onDownload: RawRequest["onDownload"],
): AsyncGenerator<Buffer, void, undefined> {
  let received = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      received += chunk.length;
      onDownload?.(received, length);
      yield chunk;
    }
  } catch (cause) {
    if (NanoError.is(cause)) throw cause;
    throw new NanoError("relay_unreachable", "the relay connection broke during a download", { cause });
  } finally {
    // The consumer stopped early (a chunk failed to verify): do not read the rest.
    if (!response.complete) response.destroy();
  }
}

async function readBounded(response: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) break;
      chunks.push(chunk);
    }
  } catch (cause) {
    throw new NanoError("relay_unreachable", "the relay connection broke", { cause });
  } finally {
    if (!response.complete) response.destroy();
  }
  return Buffer.concat(chunks);
}

export const nodeTransport: RelayTransport = Object.freeze({
  raw: nodeRaw,
  stream: nodeStream,
  openSocket: openNodeChannelSocket,
  base64: NODE_BASE64,
});
