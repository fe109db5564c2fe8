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

export function requestJson<T>(endpoint: RelayEndpoint, request: JsonRequest): Promise<T> {
  const url = new URL(request.path, endpoint.base);
  const payload = request.body === undefined ? null : Buffer.from(JSON.stringify(request.body));
  const headers: Record<string, string> = { accept: "application/json" };
  if (payload !== null) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(payload.length);
  }
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const req = send(
      url,
      {
        method: request.method,
        headers,
        timeout: REQUEST_TIMEOUT_MS,
        ...(endpoint.ca === null ? {} : { ca: endpoint.ca }),
        // TLS 1.3 only, as the relay serves it (DESIGN.md "TLS").
        minVersion: "TLSv1.3",
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let total = 0;
        response.on("data", (chunk: Buffer) => {
          total += chunk.length;
          if (total > MAX_RESPONSE_BYTES) {
            response.destroy();
            reject(new NanoError("relay_rejected", "relay answer is too large"));
            return;
          }
          chunks.push(chunk);
        });
        response.on("error", (cause) =>
          reject(new NanoError("relay_unreachable", "the relay connection broke", { cause })),
        );
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = null;
          if (text.length > 0) {
            try {
              parsed = JSON.parse(text);
            } catch {
              reject(new NanoError("relay_rejected", `relay answered HTTP ${status} with a non-JSON body`));
              return;
            }
          }
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(relayError(status, parsed));
        });
      },
    );
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
    if (payload !== null) req.write(payload);
    req.end();
  });
}
