import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { ERROR_CATALOGUE, type ErrorCode, NanoError } from "../../errors/index.ts";

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
  readonly body?: Uint8Array;
  readonly contentType?: string;
  /** Upload progress: bytes of `body` handed to the socket so far. */
  readonly onUpload?: (sent: number, total: number) => void;
  /** Download progress: bytes received so far, and Content-Length when known. */
  readonly onDownload?: (received: number, total: number | null) => void;
  readonly maxResponseBytes?: number;
}

/** Upload pieces: big bodies go out in slices so progress can be shown and memory stays flat. */
const UPLOAD_SLICE = 256 * 1024;

export function requestRaw(
  endpoint: RelayEndpoint,
  request: RawRequest,
): Promise<{ status: number; body: Buffer }> {
  const url = new URL(request.path, endpoint.base);
  const headers: Record<string, string> = {};
  if (request.body !== undefined) {
    headers["content-type"] = request.contentType ?? "application/octet-stream";
    headers["content-length"] = String(request.body.length);
  }
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  const limit = request.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const options = {
    method: request.method,
    headers,
    timeout: REQUEST_TIMEOUT_MS,
    ...(endpoint.ca === null ? {} : { ca: endpoint.ca }),
  };
  return new Promise((resolve, reject) => {
    const onResponse = (response: IncomingMessage) => {
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
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
    };
    // TLS 1.3 only, as the relay serves it (DESIGN.md "TLS").
    const req =
      url.protocol === "https:"
        ? httpsRequest(url, { ...options, minVersion: "TLSv1.3" }, onResponse)
        : httpRequest(url, options, onResponse);
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (cause: NodeJS.ErrnoException) =>
      reject(
        new NanoError(
          "relay_unreachable",
          `cannot reach the relay at ${endpoint.base.origin}${cause.code ? ` (${cause.code})` : ""}`,
          { cause },
        ),
      ),
    );
    const body = request.body;
    if (body === undefined) {
      req.end();
      return;
    }
    let offset = 0;
    const pump = () => {
      while (offset < body.length) {
        const end = Math.min(body.length, offset + UPLOAD_SLICE);
        const more = req.write(body.subarray(offset, end));
        offset = end;
        request.onUpload?.(offset, body.length);
        if (!more) {
          req.once("drain", pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
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
