/**
 * Which relay the app talks to. Served by a relay, the page's own origin (the CSP's connect-src 'self'
 * allows exactly that). Run from a local copy, the user names the relay once; it is kept in this
 * browser's localStorage (a URL, not a secret) and the copy must have been built with that relay's
 * origin in its CSP (`npm run build:web -- --relay URL`, docs/web.md "Run from a local copy"),
 * otherwise the browser refuses the connection.
 */
const STORAGE_KEY = "nano.relay";

/** http(s) origins only: the relay's API and its WebSocket (ws(s) on the same host) derive from it. */
export function checkRelayOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new TypeError(`"${text}" is not a URL (like https://relay.example.org)`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new TypeError("the relay URL must start with https:// (or http:// on this computer)");
  if (url.username !== "" || url.password !== "")
    throw new TypeError("the relay URL must not hold a password");
  return url.origin;
}

export interface RelaySetting {
  /** The relay's origin: the stored setting, else this page's origin. */
  origin(): string;
  /** True when the relay is the one that served this page. */
  sameOrigin(): boolean;
  /** Stores another relay (checked), or forgets it with null. */
  set(origin: string | null): void;
}

export function relaySetting(storage: Storage, pageOrigin: string): RelaySetting {
  const stored = (): string | null => {
    const value = storage.getItem(STORAGE_KEY);
    if (value === null) return null;
    try {
      return checkRelayOrigin(value);
    } catch {
      return null;
    }
  };
  return {
    origin: () => stored() ?? pageOrigin,
    sameOrigin: () => (stored() ?? pageOrigin) === pageOrigin,
    set: (origin) => {
      if (origin === null) storage.removeItem(STORAGE_KEY);
      else storage.setItem(STORAGE_KEY, checkRelayOrigin(origin));
    },
  };
}
