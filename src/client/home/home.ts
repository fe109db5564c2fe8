import { readFile, stat } from "node:fs/promises";
import { utf8 } from "../../crypto/index.ts";
import { NanoError } from "../../errors/index.ts";
import { assertPrivate, writeFileAtomic } from "./atomic-file.ts";
import { type ClientConfig, CONFIG } from "./client-config.ts";
import type { HomePaths } from "./home-paths.ts";

export {
  type ClientConfig,
  checkRelayUrl,
  DEFAULT_HISTORY_RETENTION_DAYS,
} from "./client-config.ts";
export { DEFAULT_HOME_NAME, type HomePaths, resolveHome } from "./home-paths.ts";

const MAX_CONFIG_BYTES = 64 * 1024;

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
