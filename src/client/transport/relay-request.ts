import type { z } from "zod";
import { ERROR_CATALOGUE, type ErrorCode, NanoError } from "../../errors/index.ts";
import type { Base64Codec } from "../../text/base64.ts";
import { describeIssue, ErrorAnswer } from "../../wire/index.ts";
import type { OpenChannelSocket } from "./channel-socket.ts";

/**
 * The relay's HTTP API as requests and answers, whatever carries them (docs/api.md). Node-free: the
 * browser app bundles it. An endpoint names its transport — node:http(s) in Node (relay-http.ts, for a
 * private CA trusted for one connection only), fetch in the page (relay-fetch.ts) — so RelayApi and the
 * operations above it are the same code in both runtimes. Relay errors arrive as
 * `{"error": {"code", "message"}}` and are rethrown as the same NanoError code; a connection that cannot
 * be made is `relay_unreachable` (the outbox keeps the message and retries). A 2xx answer is parsed
 * here, whatever the transport, with the wire contract's schema of that answer (src/wire/answers.ts):
 * one that does not match is `relay_answer_malformed`, so nothing the relay sends reaches the client
 * unchecked, in Node or in the page.
 */
export interface RelayEndpoint {
  /** http(s)://host:port of the API (a ws(s):// relay URL maps to the same host). */
  readonly base: URL;
  /** PEM of a private CA to trust for this relay only (Node; the browser's trust store decides there). */
  readonly ca: string | null;
  readonly transport: RelayTransport;
}

/** What carries requests: one implementation per runtime, both with the same failure contract. */
export interface RelayTransport {
  /** The whole answer, at most `maxResponseBytes` (else `relay_rejected`); unreachable: `relay_unreachable`. */
  raw(endpoint: RelayEndpoint, request: RawRequest): Promise<RawAnswer>;
  /** A 2xx answer read as it arrives; a non-2xx one thrown as the relay's typed error. */
  stream(endpoint: RelayEndpoint, request: RawRequest): Promise<StreamedAnswer>;
  /** The relay channel's WebSocket (relay-channel.ts). */
  readonly openSocket: OpenChannelSocket;
  /** The runtime's fastest base64 for the API's binary values (checked by base64.ts). */
  readonly base64: Base64Codec;
}

export const REQUEST_TIMEOUT_MS = 15_000;
/** A relay answer is at most a page of envelopes (~8 MiB, docs/api.md); refuse anything far larger. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Bytes of a non-2xx answer read to learn the relay's error code. */
export const MAX_ERROR_BODY = 64 * 1024;

export interface JsonRequest {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  readonly body?: unknown;
  readonly token?: string;
}

export interface RawRequest {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  readonly token?: string;
  /** The body, whole or as pieces sent in order (an attachment's chunks, never concatenated). */
  readonly body?: Uint8Array | readonly Uint8Array[];
  readonly contentType?: string;
  /** Upload progress: bytes of `body` handed to the connection so far. */
  readonly onUpload?: (sent: number, total: number) => void;
  /** Download progress: bytes received so far, and Content-Length when known. */
  readonly onDownload?: (received: number, total: number | null) => void;
  readonly maxResponseBytes?: number;
}

/** Header names in lower case, as node:http gives them. */
export type RelayHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface RawAnswer {
  readonly status: number;
  readonly body: Uint8Array;
  readonly headers: RelayHeaders;
}

/** A 2xx answer whose body is read as it arrives. */
export interface StreamedAnswer {
  readonly status: number;
  /** Content-Length as announced (unverified: the consumer checks what actually arrives). */
  readonly length: number | null;
  /**
   * The body in the pieces the connection delivered. A connection that breaks or times out before the
   * announced length arrived throws `relay_unreachable`; leaving the loop early closes the response.
   */
  readonly body: AsyncIterable<Uint8Array>;
}

export function websocketUrl(endpoint: RelayEndpoint): URL {
  const scheme = endpoint.base.protocol === "https:" ? "wss:" : "ws:";
  return new URL(`${scheme}//${endpoint.base.host}/v1/ws`);
}

/** The API's base for a relay URL: ws(s):// maps to http(s):// on the same host. */
export function relayBase(relay: string): URL {
  const url = new URL(relay);
  const protocol = url.protocol === "wss:" || url.protocol === "https:" ? "https:" : "http:";
  return new URL(`${protocol}//${url.host}`);
}

/** Bounded: a relay's error message is shown to the user, and a hostile one could be megabytes. */
export const MAX_ERROR_MESSAGE = 500;

export function relayError(status: number, body: unknown): NanoError {
  const parsed = ErrorAnswer.safeParse(body);
  const code = parsed.success ? parsed.data.error.code : "";
  const message = parsed.success
    ? parsed.data.error.message.slice(0, MAX_ERROR_MESSAGE)
    : `relay answered HTTP ${status}`;
  if (Object.hasOwn(ERROR_CATALOGUE, code)) return new NanoError(code as ErrorCode, message);
  return new NanoError(
    "relay_rejected",
    `relay answered HTTP ${status}${code ? ` (${code.slice(0, 64)})` : ""}`,
  );
}

/** A 2xx answer that is not what the wire contract says this endpoint answers. */
export function malformedAnswer(path: string, why: string): NanoError {
  return new NanoError(
    "relay_answer_malformed",
    `the relay's answer to ${path.split("?")[0]} is malformed (${why})`,
  );
}

export function relayUnreachable(
  endpoint: RelayEndpoint,
  detail: string | undefined,
  cause: unknown,
): NanoError {
  return new NanoError(
    "relay_unreachable",
    `cannot reach the relay at ${endpoint.base.origin}${detail ? ` (${detail})` : ""}`,
    { cause },
  );
}

export function requestRaw(endpoint: RelayEndpoint, request: RawRequest): Promise<RawAnswer> {
  return endpoint.transport.raw(endpoint, request);
}

/**
 * A request whose answer is consumed as a stream (attachment downloads: verified and decrypted as
 * they arrive, never held whole).
 */
export function requestStream(endpoint: RelayEndpoint, request: RawRequest): Promise<StreamedAnswer> {
  return endpoint.transport.stream(endpoint, request);
}

const encoder = new TextEncoder();
/** fatal: a relay answer that is not UTF-8 is not JSON either. */
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Sends a JSON request; a 2xx answer must match `answer` (the wire contract's schema), or it throws. */
export async function requestJson<T>(
  endpoint: RelayEndpoint,
  request: JsonRequest,
  answer: z.ZodType<T>,
): Promise<T> {
  const payload = request.body === undefined ? null : encoder.encode(JSON.stringify(request.body));
  const raw = await requestRaw(endpoint, {
    method: request.method,
    path: request.path,
    ...(request.token === undefined ? {} : { token: request.token }),
    ...(payload === null ? {} : { body: payload, contentType: "application/json" }),
  });
  return readAnswer(request.path, raw, answer);
}

/**
 * A relay's JSON answer to `path`: the relay's typed error for a non-2xx status, else the body parsed
 * with `answer`, the wire contract's schema of it (`relay_answer_malformed` when it does not match).
 */
export function readAnswer<T>(
  path: string,
  raw: { status: number; body: Uint8Array },
  answer: z.ZodType<T>,
): T {
  const { status, body } = raw;
  const ok = status >= 200 && status < 300;
  let parsed: unknown = null;
  if (body.length > 0) {
    try {
      parsed = JSON.parse(decoder.decode(body));
    } catch {
      if (ok) throw malformedAnswer(path, `HTTP ${status} with a body that is not JSON`);
      throw new NanoError("relay_rejected", `relay answered HTTP ${status} with a non-JSON body`);
    }
  }
  if (!ok) throw relayError(status, parsed);
  const result = answer.safeParse(parsed);
  if (!result.success) throw malformedAnswer(path, describeIssue(result.error));
  return result.data;
}

/** Throws the relay's typed error for a non-2xx raw answer. */
export function checkRawStatus(answer: { status: number; body: Uint8Array }): Uint8Array {
  if (answer.status >= 200 && answer.status < 300) return answer.body;
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(decoder.decode(answer.body));
  } catch {
    // A non-JSON error body: reported by status alone.
  }
  throw relayError(answer.status, parsed);
}
