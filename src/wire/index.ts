// The relay API's wire contract (docs/api.md): frames, close codes, limits, request and answer
// shapes, each defined once and validated by one zod schema on both sides. No node: imports: the
// relay, the client and the browser load it alike. A page under the web app's strict CSP
// (src/web/security-policy.ts) sets `z.config({ jitless: true })` before its first parse: zod otherwise
// probes `new Function` once, which the CSP reports as a violation even though zod catches it.
export * from "./answers.ts";
export * from "./close-codes.ts";
export * from "./frames.ts";
export * from "./limits.ts";
export * from "./requests.ts";
