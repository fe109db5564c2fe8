import type { ErrorEntry } from "./catalogue.ts";

/** Codes raised by the session protocol (src/protocol). */
export const PROTOCOL_ERRORS = {} as const satisfies Record<string, ErrorEntry>;
