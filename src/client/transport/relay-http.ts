import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { ERROR_CATALOGUE, type ErrorCode, NanoError } from "../../errors/index.ts";

// Taken without `import`: node:http's ESM facade reads every export, and its lazy WebSocket,
// CloseEvent and MessageEvent getters load Node's bundled undici — 70-290 ms of every CLI command on
// the development VM (a CPU profile of `nano-client send`: docs/performance.md "CLI start").
const { request: httpRequest } = process.getBuiltinModule("node:http");
const { request: httpsRequest } = process.getBuiltinModule("node:https");

/**
 * JSON over HTTP(S) to the relay (docs/api.md). node:https rather than fetch because a relay with a
 * private CA (`--ca FILE`) must be trusted for this connection only, never process-wide. Relay
 * errors arrive as `{"error": {"code", "message"}}` and are rethrown as the same NanoError code, so
 * callers branch on the relay's stable codes; a connection that cannot be made is
 * `relay_unreachable` (the outbox keeps the message and retries).
 */
export interface RelayEndpoint {
  /** http(s)://host:port of the API (a ws(s):// relay URL maps to the same host). */
  readonly base: URL;
  /** PEM of a private CA to trust for this relay only. */
  readonly ca: string | null;
}

export const REQUEST_TIMEOUT_MS = 15_000;
/** A relay answer is at most a page of envelopes (~8 MiB, docs/api.md); refuse anything far larger. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export function endpointFromUrl(relay: string, ca: string | null): RelayEndpoint {
  const url = new URL(relay);
  const protocol = url.protocol === "wss:" || url.protocol === "https:" ? "https:" : "http:";
  return { base: new URL(`${protocol}//${url.host}`), ca };
}

export function websocketUrl(endpoint: RelayEndpoint): URL {
  const scheme = endpoint.base.protocol === "https:" ? "wss:" : "ws:";
  return new URL(`${scheme}//${endpoint.base.host}/v1/ws`);
}

function relayError(status: number, body: unknown): NanoError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === "string" ? error.code : "";
  const message = typeof error?.message === "string" ? error.message : `relay answered HTTP ${status}`;
  if (Object.hasOwn(ERROR_CATALOGUE, code)) return new NanoError(code as ErrorCode, message);
  return new NanoError("relay_rejected", `relay answered HTTP ${status}${code ? ` (${code})` : ""}`);
}

export interface JsonRequest {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  readonly body?: unknown;
  readonly token?: string;
}

export async function requestJson<T>(endpoint: RelayEndpoint, request: JsonRequest): Promise<T> {
  const payload = request.body === undefined ? null : Buffer.from(JSON.stringify(request.body));
  const { status, body } = await requestRaw(endpoint, {
    method: request.method,
    path: request.path,
    ...(request.token === undefined ? {} : { token: request.token }),
    ...(payload === null ? {} : { body: payload, contentType: "application/json" }),
  });
  const text = body.toString("utf8");
  let parsed: unknown = null;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new NanoError("relay_rejected", `relay answered HTTP ${status} with a non-JSON body`);
    }
  }
  if (status >= 200 && status < 300) return parsed as T;
  throw relayError(status, parsed);
}

export interface RawRequest {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  readonly token?: string;
  /** The body, whole or as pieces sent in order (an attachment's chunks, never concatenated). */
  readonly body?: Uint8Array | readonly Uint8Array[];
  readonly contentType?: string;
  /** Upload progress: bytes of `body` handed to the socket so far. */
  readonly onUpload?: (sent: number, total: number) => void;
  /** Download progress: bytes received so far, and Content-Length when known. */
  readonly onDownload?: (received: number, total: number | null) => void;
  readonly maxResponseBytes?: number;
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
  return new NanoError(
    "relay_unreachable",
    `cannot reach the relay at ${endpoint.base.origin}${cause.code ? ` (${cause.code})` : ""}`,
    { cause },
  );
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

export function requestRaw(
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

/** A 2xx answer whose body is read as it arrives. */
export interface StreamedAnswer {
  readonly status: number;
  /** Content-Length as announced (unverified: the consumer checks what actually arrives). */
  readonly length: number | null;
  /**
   * The body in the pieces the socket delivered. A connection that breaks or times out before the
   * announced length arrived throws `relay_unreachable`; leaving the loop early closes the response.
   */
  readonly body: AsyncIterable<Buffer>;
}

/** Bytes of a non-2xx answer read to learn the relay's error code. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * A request whose answer is consumed as a stream (attachment downloads: verified and decrypted as
 * they arrive, never held whole). A non-2xx answer is read (bounded) and thrown as the relay's typed
 * error, as `checkRawStatus` does.
 */
export function requestStream(endpoint: RelayEndpoint, request: RawRequest): Promise<StreamedAnswer> {
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

/** Throws the relay's typed error for a non-2xx raw answer. */
export function checkRawStatus(answer: { status: number; body: Buffer }): Buffer {
  if (answer.status >= 200 && answer.status < 300) return answer.body;
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(answer.body.toString("utf8"));
  } catch {
    // A non-JSON error body: reported by status alone.
  }
  throw relayError(answer.status, parsed);
}
