import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalStore } from "../../src/client/local-store/local-store.ts";
import { type Argon2idParameters, randomBytes } from "../../src/crypto/index.ts";

/** The cheapest parameters the bounds allow: tests exercise the format, not the work factor. */
export const TEST_ARGON2ID: Argon2idParameters = Object.freeze({
  memoryKiB: 19456,
  passes: 2,
  parallelism: 1,
});

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "nano-client-test-"));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A fresh LocalStore in a temporary folder (path and key given to `run` for reopening), closed after. */
export async function withLocalStore<T>(
  run: (store: LocalStore, path: string, key: Uint8Array) => Promise<T>,
): Promise<T> {
  return withTempDir(async (dir) => {
    const path = join(dir, "local.db");
    const key = randomBytes(32);
    const store = await LocalStore.open(path, key);
    try {
      return await run(store, path, key);
    } finally {
      await store.close().catch(() => {});
    }
  });
}

export const REPO_ROOT = new URL("../../", import.meta.url).pathname;
