import { readFile, stat } from "node:fs/promises";
import { z } from "zod";
import { utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { assertPrivate, writeFileAtomic } from "./atomic-file.ts";
import type { HomePaths } from "./home-paths.ts";

export { DEFAULT_HOME_NAME, type HomePaths, resolveHome } from "./home-paths.ts";

const MAX_CONFIG_BYTES = 64 * 1024;

const CRYPTO_MODE = z.enum(["classical", "hybrid", "quantum"]);

const CONFIG = z.strictObject({
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

export async function writeConfig(paths: HomePaths, config: ClientConfig): Promise<void> {
  await writeFileAtomic(paths.config, utf8(`${JSON.stringify(CONFIG.parse(config), null, 2)}\n`));
}

export async function readConfig(paths: HomePaths): Promise<ClientConfig> {
  let text: string;
  try {
    await assertPrivate(paths.config, "client config");
    if ((await stat(paths.config)).size > MAX_CONFIG_BYTES) {
      throw new NanoError(
        "client_config_invalid",
        `${paths.config} is larger than ${MAX_CONFIG_BYTES} bytes`,
      );
    }
    text = await readFile(paths.config, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new NanoError("keystore_missing", `no client home at ${paths.root} (config.json is missing)`);
    }
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new NanoError("client_config_invalid", `${paths.config} is not valid JSON`);
  }
  const result = CONFIG.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new NanoError(
      "client_config_invalid",
      `${paths.config}: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return result.data;
}
