import type { LoggerOptions } from "pino";
import type { RelayConfig } from "./config/schema.ts";

/**
 * Log paths that must never reach a log line. Bodies are never logged at all (Fastify logs only the
 * request line), but redaction is the second fence: if a future change logs a request or a record,
 * tokens, keys, signatures and envelopes come out as "[redacted]".
 */
export const REDACTED_PATHS: readonly string[] = Object.freeze([
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["sec-websocket-protocol"]',
  "headers.authorization",
  "authorization",
  "token",
  "*.token",
  "envelope",
  "*.envelope",
  "signature",
  "*.signature",
  "identity_record",
  "*.identity_record",
  "device_certificate",
  "*.device_certificate",
  "bundle",
  "*.bundle",
  "one_time_prekeys",
  "*.one_time_prekeys",
  "challenge",
  "*.challenge",
]);

export function loggerOptions(config: RelayConfig): LoggerOptions {
  return {
    level: config.monitoring.log_level,
    base: { service: "nano-relay", environment: config.environment },
    redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" },
    serializers: {
      // Only the method and the route pattern: the URL itself can carry a username (/v1/prekeys/:username)
      // or an attachment hash, and the client address is personal data.
      req(request: { method?: string; routeOptions?: { url?: string }; url?: string }) {
        return { method: request.method, route: request.routeOptions?.url ?? "(unmatched)" };
      },
      res(reply: { statusCode?: number }) {
        return { statusCode: reply.statusCode };
      },
    },
  };
}
