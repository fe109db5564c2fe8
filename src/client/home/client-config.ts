import { z } from "zod";
import { NanoError } from "../../errors/index.ts";

/**
 * The client's config — relay, CA, username, crypto mode, history retention — as a schema with no
 * runtime: Node keeps it in the home's config.json (home.ts), the page will keep it as a sealed row.
 */
const CRYPTO_MODE = z.enum(["classical", "hybrid", "quantum"]);

export const CONFIG = z.strictObject({
  version: z.literal(1),
  cryptoMode: CRYPTO_MODE,
  relay: z.string().nullable(),
  ca: z.string().nullable(),
  username: z.string().nullable(),
  createdAt: z.number().int().nonnegative(),
  /**
   * How long history (client.history, `nano-client history`) keeps messages, in days; null keeps them
   * forever. Absent: DEFAULT_HISTORY_RETENTION_DAYS.
   */
  historyRetentionDays: z.number().int().min(1).max(36_500).nullable().optional(),
});

/** A year: long enough to scroll back, short enough that a lost laptop does not hold everything. */
export const DEFAULT_HISTORY_RETENTION_DAYS = 365;

export type ClientConfig = z.infer<typeof CONFIG>;

const LOOPBACK: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Relay URLs are https or wss; plain http/ws only to loopback (tests, a relay behind a local proxy).
 * The transport is end-to-end encrypted either way, but tokens and metadata are not.
 */
export function checkRelayUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new NanoError("invalid_argument", `relay url "${text}" is not a url`);
  }
  const secure = url.protocol === "https:" || url.protocol === "wss:";
  const plain = url.protocol === "http:" || url.protocol === "ws:";
  if (!secure && !(plain && LOOPBACK.has(url.hostname))) {
    throw new NanoError(
      "invalid_argument",
      `relay url must use https or wss (http only to localhost), got ${url.protocol}//${url.host}`,
    );
  }
  return url.toString();
}
