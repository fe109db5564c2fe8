import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Logger } from "pino";
import type { RelayConfig } from "../config/schema.ts";

/**
 * Everything the relay writes is private to its user: the database holds usernames, token hashes and
 * envelopes, the blob folder ciphertexts (issue 12, finding 8: they were created 0644/0755). The umask
 * makes every file the process creates 0600 and every folder 0700 — SQLite's journal files, blobs,
 * temporary uploads and anything a library creates included — instead of each call site remembering.
 */
export const RELAY_UMASK = 0o077;

/**
 * Sets the umask (process-wide: call from the relay's own process only) and warns about data paths an
 * earlier version or an operator left readable by others; they are not changed behind the operator's
 * back (a folder may be shared with a backup group on purpose).
 */
export function makeRelayFilesPrivate(config: RelayConfig, log: Logger): void {
  process.umask(RELAY_UMASK);
  const paths = [
    resolve(config.storage.blob_dir),
    ...(config.storage.backend === "sqlite"
      ? [dirname(resolve(config.storage.path)), resolve(config.storage.path)]
      : []),
  ];
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      log.warn(
        { path, mode: mode.toString(8) },
        "relay data is readable by other users; chmod it 0600 (files) / 0700 (folders)",
      );
    }
  }
}
