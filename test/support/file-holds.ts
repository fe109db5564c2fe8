import { readFile } from "node:fs/promises";

/**
 * Whether the file at `path` holds `needle` anywhere in its bytes (false when the file is gone): the
 * byte search the deletion tests run over `local.db` and its WAL.
 */
export async function fileHolds(path: string, needle: Uint8Array): Promise<boolean> {
  try {
    return (await readFile(path)).includes(Buffer.from(needle));
  } catch {
    return false;
  }
}
