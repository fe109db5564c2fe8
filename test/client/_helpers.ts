import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Argon2idParameters } from "../../src/crypto/index.ts";

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

export const REPO_ROOT = new URL("../../", import.meta.url).pathname;
