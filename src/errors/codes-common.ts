import type { ErrorEntry } from "./catalogue.ts";

/** Codes any layer may raise. */
export const COMMON_ERRORS = {
  internal_error: {
    kind: "internal",
    status: 500,
    meaning:
      "An unexpected condition (a bug or an environment fault). A relay request that ends this way acknowledged nothing.",
    fix: "Retry; if it persists, report it with the relay's log line for the request id, or the client's output with NANO_DEBUG=1.",
  },
} as const satisfies Record<string, ErrorEntry>;
