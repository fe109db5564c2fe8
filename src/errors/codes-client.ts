import type { ErrorEntry } from "./catalogue.ts";

/** Codes raised by the client SDK, keystore and CLI (src/client, src/cli). */
export const CLIENT_ERRORS = {} as const satisfies Record<string, ErrorEntry>;
