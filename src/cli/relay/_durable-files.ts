import { open } from "node:fs/promises";

/**
 * fsync for the operator commands that write database files (backup, restore): a rename is durable
 * only once its directory is synced, and a copy only once its own bytes are.
 */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
