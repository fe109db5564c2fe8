import { relayTime } from "../client/transport/relay-clock.ts";
import { fetchEndpoint } from "../client/transport/relay-fetch.ts";

/**
 * Which relay the app talks to. Served by a relay, the page's own origin (the CSP's connect-src 'self'
 * allows exactly that). A copy run from a local folder is built for a relay
 * (`npm run build:web -- --relay URL`, docs/web.md "Run from a local copy"): its CSP names that relay
 * and a <meta> states it as the default. A relay the user names in the settings is kept in this
 * browser's localStorage (a URL, not a secret); one the copy's CSP does not name is refused by the
 * browser (relay_unreachable), so the setting cannot widen what the page may reach.
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
  /**
   * Asks the relay for its clock over the API: reachable (and how far its clock is from this one's),
   * or the error code (relay_unreachable also when the CSP or the relay's CORS list refuses this copy).
   */
  check(): Promise<RelayCheck>;
}

export type RelayCheck =
  | { readonly reachable: true; readonly clockSkewMs: number | null }
  | { readonly reachable: false; readonly code: string; readonly message: string };

/** `builtIn`: the copy's default relay from its <meta>, null for the relay-served app. */
export function relaySetting(
  storage: Storage,
  pageOrigin: string,
  builtIn: string | null = null,
): RelaySetting {
  let fallback = pageOrigin;
  if (builtIn !== null) {
    try {
      fallback = checkRelayOrigin(builtIn);
    } catch {
      // A malformed <meta> is ignored: the page's origin, as if there were none.
    }
  }
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
    origin: () => stored() ?? fallback,
    sameOrigin: () => (stored() ?? fallback) === pageOrigin,
    set: (origin) => {
      if (origin === null) storage.removeItem(STORAGE_KEY);
      else storage.setItem(STORAGE_KEY, checkRelayOrigin(origin));
    },
    check: async () => {
      const before = Date.now();
      try {
        const relayNow = await relayTime(fetchEndpoint(stored() ?? fallback));
        return {
          reachable: true,
          clockSkewMs: relayNow === null ? null : relayNow - (before + Date.now()) / 2,
        };
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        return {
          reachable: false,
          code: typeof code === "string" ? code : "unknown",
          message: error instanceof Error ? error.message : String(error),
        };
      }
    },
  };
}
