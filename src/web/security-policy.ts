/**
 * The web app's Content-Security-Policy, one definition for the relay's response header and the
 * build's <meta> tag (which also covers a copy served from a local folder). Scripts and styles only
 * from the app's own origin and never inline (no 'unsafe-inline', no 'unsafe-eval'); connections only
 * to that origin; no plugins, frames, forms or base changes; Trusted Types required for every DOM
 * sink that could run script. The threat: an injected string becoming code in the page that holds
 * the keys (docs/web.md "Security model").
 */
const DIRECTIVES: readonly (readonly [string, string])[] = Object.freeze([
  ["default-src", "'none'"],
  ["script-src", "'self'"],
  ["style-src", "'self'"],
  ["img-src", "'self' data: blob:"],
  ["font-src", "'self'"],
  ["connect-src", "'self'"],
  ["worker-src", "'self'"],
  ["manifest-src", "'self'"],
  ["base-uri", "'none'"],
  ["form-action", "'none'"],
  ["object-src", "'none'"],
  ["require-trusted-types-for", "'script'"],
  ["trusted-types", "'none'"],
]);

/** frame-ancestors is only honoured in a header (a <meta> CSP ignores it and warns). */
const HEADER_ONLY: readonly (readonly [string, string])[] = Object.freeze([["frame-ancestors", "'none'"]]);

const render = (directives: readonly (readonly [string, string])[]): string =>
  directives.map(([name, value]) => `${name} ${value}`).join("; ");

export const CONTENT_SECURITY_POLICY_HEADER: string = render([...DIRECTIVES, ...HEADER_ONLY]);
export const CONTENT_SECURITY_POLICY_META: string = render(DIRECTIVES);

/** The other response headers of every web app file (docs/web.md). */
export const WEB_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": CONTENT_SECURITY_POLICY_HEADER,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "x-frame-options": "DENY",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
});
