import type { ErrorEntry } from "./catalogue.ts";

/** Codes raised by the audit log and key transparency (src/audit). */
export const AUDIT_ERRORS = {} as const satisfies Record<string, ErrorEntry>;
