// The relay API's wire contract (docs/api.md): frames, close codes, limits, request and answer
// shapes, each defined once and validated by one zod schema on both sides. No node: imports: the
// relay, the client and the browser load it alike.
export * from "./answers.ts";
export * from "./close-codes.ts";
export * from "./frames.ts";
export * from "./limits.ts";
export * from "./requests.ts";
