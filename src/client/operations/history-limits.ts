// The bounds of `client.history`, in a module of their own so the CLI can show them in its usage text
// without loading the client (docs/performance.md "CLI start").

/** What `client.history` returns at most when no limit is given, and the most it returns at all. */
export const DEFAULT_HISTORY_LIMIT = 50;
export const MAX_HISTORY_LIMIT = 10_000;
