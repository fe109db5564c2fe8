import type { ErrorEntry } from "./catalogue.ts";

/** Codes raised by the relay server, its store and configuration (src/relay, src/store). */
export const RELAY_ERRORS = {} as const satisfies Record<string, ErrorEntry>;
