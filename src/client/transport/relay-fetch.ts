import { NanoError } from "../../errors/index.ts";
import { PORTABLE_BASE64 } from "../../text/base64.ts";
import { openBrowserChannelSocket } from "./channel-socket-browser.ts";
import {
  checkRawStatus,
  MAX_ERROR_BODY,
  MAX_RESPONSE_BYTES,
  type RawAnswer,
  type RawRequest,
  REQUEST_TIMEOUT_MS,
  type RelayEndpoint,
  type RelayHeaders,
  type RelayTransport,
  relayBase,
  relayUnreachable,
  type StreamedAnswer,
} from "./relay-request.ts";

/**
 * The browser's transport of the relay API (relay-request.ts), over fetch: the same requests, limits
 * and typed failures as the Node transport (relay-http.ts), so RelayApi runs unchanged in the page.
 * No cookies or credentials ever (`credentials: "omit"`: the relay authenticates by bearer token),
 * no redirects followed (a redirect would carry the token elsewhere), no caching of answers.
 *
 * Uploads with a progress callback (attachments) go through XMLHttpRequest: fetch reports no upload
 * progress, and a streamed request body needs HTTP/2 in Chromium. Downloads stream through fetch's
 * ReadableStream, so an attachment is verified and decrypted as it arrives.
 */
export function fetchEndpoint(relay: string): RelayEndpoint {
  return { base: relayBase(relay), ca: null, transport: fetchTransport };
}

function checkEndpoint(endpoint: RelayEndpoint): void {
  // A per-connection CA cannot be honoured by a browser: say so rather than silently use the store.
  if (endpoint.ca !== null)
    throw new NanoError(
      "invalid_argument",
      "a private CA cannot be set in the browser: install it in the system",
    );
}

function bodyOf(body: RawRequest["body"]): Uint8Array<ArrayBuffer> | null {
  if (body === undefined) return null;
  const pieces = body instanceof Uint8Array ? [body] : body;
  const out = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

function requestHeaders(request: RawRequest, hasBody: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  if (hasBody) headers["content-type"] = request.contentType ?? "application/octet-stream";
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  return headers;
}

function headersOf(headers: Headers): RelayHeaders {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

async function send(endpoint: RelayEndpoint, request: RawRequest, signal: AbortSignal): Promise<Response> {
  checkEndpoint(endpoint);
  const body = bodyOf(request.body);
  try {
    return await fetch(new URL(request.path, endpoint.base), {
      method: request.method,
      headers: requestHeaders(request, body !== null),
      ...(body === null ? {} : { body }),
      signal,
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer",
    });
  } catch (cause) {
    // fetch rejects with a TypeError for every network failure (and the CSP's refusal), an
    // AbortError/TimeoutError for the timeout: all of them mean the relay was not reached.
    throw relayUnreachable(endpoint, cause instanceof Error ? cause.name : undefined, cause);
  }
}

/** Reads a body up to `limit` bytes; beyond it, cancels and returns null. */
async function readBody(
  endpoint: RelayEndpoint,
  response: Response,
  limit: number,
  onDownload?: (received: number, total: number | null) => void,
): Promise<Uint8Array | null> {
  const announced = Number(response.headers.get("content-length") ?? Number.NaN);
  const length = Number.isSafeInteger(announced) && announced >= 0 ? announced : null;
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const pieces: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        await reader.cancel();
        return null;
      }
      pieces.push(value);
      onDownload?.(total, length);
    }
  } catch (cause) {
    throw relayUnreachable(endpoint, "the connection broke", cause);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

async function fetchRaw(endpoint: RelayEndpoint, request: RawRequest): Promise<RawAnswer> {
  if (request.onUpload !== undefined) return xhrRaw(endpoint, request, request.onUpload);
  const response = await send(endpoint, request, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
  const body = await readBody(
    endpoint,
    response,
    request.maxResponseBytes ?? MAX_RESPONSE_BYTES,
    request.onDownload,
  );
  if (body === null) throw new NanoError("relay_rejected", "relay answer is too large");
  return { status: response.status, body, headers: headersOf(response.headers) };
}

async function fetchStream(endpoint: RelayEndpoint, request: RawRequest): Promise<StreamedAnswer> {
  // No overall timeout on a download (it may take minutes): each read waits at most the request timeout.
  const controller = new AbortController();
  const headersTimer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let response: Response;
  try {
    response = await send(endpoint, request, controller.signal);
  } finally {
    clearTimeout(headersTimer);
  }
  if (response.status < 200 || response.status >= 300) {
    const body = (await readBody(endpoint, response, MAX_ERROR_BODY)) ?? new Uint8Array(0);
    checkRawStatus({ status: response.status, body });
  }
  const announced = Number(response.headers.get("content-length") ?? Number.NaN);
  const length = Number.isSafeInteger(announced) && announced >= 0 ? announced : null;
  return {
    status: response.status,
    length,
    body: streamBody(endpoint, response, controller, length, request.onDownload),
  };
}

async function* streamBody(
  endpoint: RelayEndpoint,
  response: Response,
  controller: AbortController,
  length: number | null,
  onDownload: RawRequest["onDownload"],
): AsyncGenerator<Uint8Array, void, undefined> {
  if (response.body === null) return;
  const reader = response.body.getReader();
  let received = 0;
  let finished = false;
  try {
    while (true) {
      const stalled = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (cause) {
        throw relayUnreachable(endpoint, "the connection broke during a download", cause);
      } finally {
        clearTimeout(stalled);
      }
      if (read.done) {
        finished = true;
        break;
      }
      received += read.value.length;
      onDownload?.(received, length);
      yield read.value;
    }
    if (length !== null && received !== length)
      throw relayUnreachable(endpoint, "the download ended early", undefined);
  } finally {
    // The consumer stopped early (a chunk failed to verify): do not read the rest.
    if (!finished) await reader.cancel().catch(() => {});
  }
}

function xhrRaw(
  endpoint: RelayEndpoint,
  request: RawRequest,
  onUpload: (sent: number, total: number) => void,
): Promise<RawAnswer> {
  checkEndpoint(endpoint);
  const body = bodyOf(request.body);
  const limit = request.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(request.method, new URL(request.path, endpoint.base));
    xhr.responseType = "arraybuffer";
    xhr.timeout = REQUEST_TIMEOUT_MS;
    xhr.withCredentials = false;
    for (const [name, value] of Object.entries(requestHeaders(request, body !== null)))
      xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) =>
      onUpload(event.loaded, event.lengthComputable ? event.total : (body?.length ?? 0));
    xhr.onprogress = (event) => {
      if (event.loaded > limit) {
        xhr.abort();
        reject(new NanoError("relay_rejected", "relay answer is too large"));
      }
    };
    const failed = (detail: string) => () => reject(relayUnreachable(endpoint, detail, undefined));
    xhr.onerror = failed("network error");
    xhr.ontimeout = failed("timed out");
    xhr.onload = () => {
      const headers: Record<string, string> = {};
      for (const line of xhr.getAllResponseHeaders().trim().split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: xhr.status, body: new Uint8Array(xhr.response as ArrayBuffer), headers });
    };
    xhr.send(body);
  });
}

export const fetchTransport: RelayTransport = Object.freeze({
  raw: fetchRaw,
  stream: fetchStream,
  openSocket: openBrowserChannelSocket,
  base64: PORTABLE_BASE64,
});
