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

/**
 * connect-src sources for a relay on another origin: its API and its WebSocket (ws(s) on the same
 * host). Only a copy of the app run from a local folder needs them (docs/web.md "Run from a local
 * copy"); the relay-served app keeps 'self' alone. Throws for anything but an http(s) origin, so a
 * build cannot widen the policy with a wildcard, a path or a keyword.
 */
export function relayConnectSources(origin: string): readonly string[] {
  let url: URL | null = null;
  try {
    url = new URL(origin);
  } catch {
    // reported below
  }
  if (url === null || (url.protocol !== "https:" && url.protocol !== "http:") || url.origin !== origin)
    throw new TypeError(`a relay origin is http(s)://host[:port] with no path: ${JSON.stringify(origin)}`);
  return [url.origin, `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}`];
}

/** The <meta> policy of a build for a local copy that talks to `relays` (none: the relay-served app's). */
export function contentSecurityPolicyMeta(relays: readonly string[]): string {
  if (relays.length === 0) return CONTENT_SECURITY_POLICY_META;
  const extra = relays.flatMap(relayConnectSources).join(" ");
  return render(
    DIRECTIVES.map(([name, value]) => (name === "connect-src" ? [name, `${value} ${extra}`] : [name, value])),
  );
}

/** The <meta name> a build for a local copy states its default relay in (read by main.ts). */
export const RELAY_META_NAME = "nano-relay";

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
