// Where a home's files are, in a module of its own without the config schema, so the CLI can find the
// keystore (and start its argon2id unlock) before the client's modules are loaded (docs/performance.md
// "CLI start").
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The client's home directory (docs/client.md "Home layout"): 0700, holding
 *   keystore     the sealed identity secrets and local database key (keystore-format.ts)
 *   config.json  public settings: crypto mode, relay URL, CA file, username once claimed
 *   local.db     the sealed local state (+ -wal, -shm, and .anchor: its state counter), all 0600
 *   quarantine.db  messages that could not be opened (same format and key; survives a local.db restore)
 */
export const DEFAULT_HOME_NAME = ".nano-messenger";

export interface HomePaths {
  readonly root: string;
  readonly keystore: string;
  readonly config: string;
  readonly localStore: string;
  /** Messages that could not be opened: apart from local.db so that restoring local.db keeps them. */
  readonly quarantine: string;
}

/** --home wins, then NANO_CLIENT_HOME, then ~/.nano-messenger. */
export function resolveHome(option: string | undefined, env: NodeJS.ProcessEnv = process.env): HomePaths {
  const root = resolve(option ?? env.NANO_CLIENT_HOME ?? join(homedir(), DEFAULT_HOME_NAME));
  return {
    root,
    keystore: join(root, "keystore"),
    config: join(root, "config.json"),
    localStore: join(root, "local.db"),
    quarantine: join(root, "quarantine.db"),
  };
}
