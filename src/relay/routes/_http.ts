import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { NanoError } from "../../errors/index.ts";
import { MAX_ENVELOPE_BYTES } from "../../protocol/envelope.ts";
import { base64Length, describeIssue } from "../../wire/index.ts";
import { bearerToken } from "../auth.ts";
import type { RelayContext } from "../context.ts";
import { RelayBusyError } from "../limits/busy.ts";
import { RateLimitedError } from "../rate-limits.ts";
import { normalizeUsername } from "../usernames.ts";

/**
 * Strict standard base64 (no whitespace, canonical padding and trailing bits). Node's decoder is
 * lenient and skips garbage, so the decoded bytes are re-encoded and must reproduce the input exactly:
 * one native round trip, several times faster than a regular expression on megabyte envelopes.
 */
export function decodeBase64(value: string, field: string): Uint8Array {
  const bytes = Buffer.from(value, "base64");
  if (bytes.toString("base64") !== value)
    throw new NanoError("malformed_request", `${field} is not valid base64`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * A request body read with its wire schema (src/wire/requests.ts), the same one the client builds
 * its requests by; anything else is `malformed_request` naming the field, never the value.
 */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw new NanoError("malformed_request", `body ${describeIssue(result.error)}`);
}

/**
 * The largest send (HTTP body or WebSocket frame) read in full: room for an envelope one byte over
 * the larger of `max_envelope_bytes` and the protocol's maximum, plus the JSON around it. Any
 * envelope a client can legally build is therefore read and answered with the typed
 * `envelope_too_large` when the configured limit is lower, instead of a transport-level refusal
 * (HTTP 413 `body_too_large`, WebSocket close 1009 failing every pipelined send on the connection).
 */
export function maxSendBytes(maxEnvelopeBytes: number): number {
  return base64Length(Math.max(maxEnvelopeBytes, MAX_ENVELOPE_BYTES) + 1) + 4096;
}

/** Resolves the bearer token to a username, counting failures by reason for the metrics. */
export async function authenticate(context: RelayContext, request: FastifyRequest): Promise<string> {
  // Already done from the headers, before the body was read (limits/http-guard.ts).
  if (request.nanoUsername !== null && request.nanoUsername !== undefined) return request.nanoUsername;
  try {
    return await context.tokens.verify(bearerToken(request.headers.authorization));
  } catch (error) {
    if (NanoError.is(error)) context.metrics.authFailures.inc({ reason: error.code });
    throw error;
  }
}

/**
 * Records a failed claim or login: always as a metric, and as a log line that names the username only
 * when the operator enabled compliance.log_usernames (abuse handling needs it; everyday logs do not).
 */
export function recordAuthFailure(
  context: RelayContext,
  error: unknown,
  username: string | undefined,
  request?: FastifyRequest,
): void {
  if (!NanoError.is(error)) return;
  context.metrics.authFailures.inc({ reason: error.code });
  const named = context.config.compliance.log_usernames && username !== undefined ? { username } : {};
  context.log.warn({ reason: error.code, ...named }, "authentication failed");
  // Rate-limit refusals are logged once, by the error handler.
  if (error instanceof RateLimitedError) return;
  // Failures are what failed_auth_per_hour counts (a success costs nothing).
  if (request !== undefined) {
    context.limits
      .penalize("failed_auth", clientKey(request))
      .catch((failure: unknown) => context.log.error({ err: failure }, "rate limit update failed"));
  }
  auditFailure(context, "auth_failed", error.code, username, request);
}

/**
 * The name a refused claim or login may put in the audit log: only one an account holds right now. A
 * name nobody holds is nobody's account data, and an erased one must stay erased (a stranger trying
 * it during cooling-off must not write it back; docs/compliance.md). Costs a lookup on failures only.
 */
export async function accountNameOrNone(
  context: RelayContext,
  username: string | undefined,
): Promise<string | undefined> {
  if (username === undefined) return undefined;
  try {
    return (await context.store.accounts.get(normalizeUsername(username))) === null ? undefined : username;
  } catch {
    return undefined;
  }
}

/** Appends a refused request to the audit log (usernames and addresses only as salted commitments). */
function auditFailure(
  context: RelayContext,
  type: "auth_failed" | "rate_limited",
  reason: string,
  username: string | undefined,
  request: FastifyRequest | undefined,
): void {
  // A flood of refusals must not become a flood of log entries: aggregated per address and window,
  // with a global cap per window (limits/refusal-log.ts, docs/audit.md).
  context.bounds.refusals.record({
    type,
    reason,
    time: context.clock.now(),
    ...(username === undefined ? {} : { username }),
    ...(request === undefined ? {} : { correlationId: request.id, address: request.ip }),
  });
}

export function clientKey(request: FastifyRequest): string {
  return request.ip;
}

interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

function body(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** The one place where errors become HTTP answers (STYLE.md 4): a stable code, never a stack trace. */
export function installErrorHandling(app: FastifyInstance, context: RelayContext): void {
  app.setErrorHandler(
    (error: FastifyError | NanoError | Error, request: FastifyRequest, reply: FastifyReply) => {
      if (error instanceof RateLimitedError) {
        reply.header("retry-after", String(error.retryAfterSeconds));
        auditFailure(context, "rate_limited", error.limit, undefined, request);
      }
      if (error instanceof RelayBusyError) reply.header("retry-after", String(error.retryAfterSeconds));
      if (NanoError.is(error)) {
        if (error.status >= 500) request.log.error({ err: error, code: error.code }, "request failed");
        return reply.status(error.status).send(body(error.code, error.message));
      }
      const fastifyError = error as FastifyError;
      if (fastifyError.validation !== undefined) {
        const where = fastifyError.validationContext ?? "body";
        return reply.status(400).send(body("malformed_request", `${where} ${fastifyError.message}`));
      }
      switch (fastifyError.code) {
        case "FST_ERR_CTP_BODY_TOO_LARGE":
          return reply.status(413).send(body("body_too_large", "request body too large"));
        case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
          return reply.status(415).send(body("unsupported_media_type", "unsupported Content-Type"));
        case "FST_ERR_CTP_INVALID_JSON_BODY":
        case "FST_ERR_CTP_EMPTY_JSON_BODY":
        case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
          return reply.status(400).send(body("malformed_request", "the body is not valid JSON"));
      }
      if (fastifyError.statusCode !== undefined && fastifyError.statusCode < 500) {
        return reply.status(fastifyError.statusCode).send(body("malformed_request", "bad request"));
      }
      request.log.error({ err: error }, "unexpected error");
      return reply.status(500).send(body("internal_error", "internal error"));
    },
  );
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(body("route_not_found", `no endpoint ${request.method} ${request.url.split("?")[0]}`));
  });
  app.addHook("onRequest", async (request) => {
    const url = request.routeOptions.url ?? "";
    if (
      context.refusing &&
      !url.startsWith("/healthz") &&
      !url.startsWith("/readyz") &&
      !url.startsWith("/metrics")
    ) {
      throw new NanoError("relay_draining", "the relay is shutting down; retry shortly");
    }
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "(unmatched)";
    context.metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    context.metrics.latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}
